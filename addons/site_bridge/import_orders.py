"""Import CommerceML order files captured from the 1C-Bitrix site.

    python -m trytond.modules.site_bridge.import_orders -c trytond.conf -d hub FILE...

Each file goes through exactly what the exchange does (inbox, duplicates,
newer wins, quarantine, journal); prints per order what was created,
updated, skipped or quarantined and why.  Exits 1 when an order was not
imported (quarantined, refused, waiting for a retry), 2 when a file could
not be read at all.
"""
import argparse
import sys
from pathlib import Path

NOT_IMPORTED = {'quarantined', 'refused', 'pending'}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--language', default='ru',
        help="of the messages printed (default: ru)")
    parser.add_argument('files', nargs='+', metavar='FILE')
    args = parser.parse_args(argv)
    setup(args.config, args.database)
    sys.exit(run(args.database, args.files, args.language))


def setup(config, database):
    "trytond's configuration and the database's pool"
    from trytond.config import update_etc
    update_etc(config)
    from trytond.pool import Pool
    Pool(database).init()


def run(database, paths, language='ru', out=None):
    "Import the files; print the report to out; the exit status"
    from trytond.exceptions import UserError
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    out = out or sys.stdout
    status = 0
    for path in map(Path, paths):
        with Transaction().start(database, 0, context={
                    'language': language, 'hub_importer': 'командная строка'}):
            Importer = Pool().get('site_bridge.importer')
            try:
                rows = Importer.import_file(path.read_bytes(), path.name)
            except UserError as error:
                print(f'{path}: {error.message}', file=out)
                status = 2
                continue
        print(f'{path}:', file=out)
        for row in rows:
            print(f"  {row['number']}: {row['outcome_string']} — "
                f"{row['text'] or ''}", file=out)
            if row['outcome'] in NOT_IMPORTED:
                status = max(status, 1)
    return status


if __name__ == '__main__':
    main()
