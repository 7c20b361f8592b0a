"""Load the catalogue and stock from 1C UT11 into a hub database.

    python -m trytond.modules.ut11_bridge.load -c trytond.conf -d hub
    python -m trytond.modules.ut11_bridge.load -c trytond.conf -d hub --stock

Reads the connection «1C UT11» (Обмен → Подключения); prints progress.
"""
import argparse
import sys
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--stock', action='store_true',
        help="only the free stock per warehouse")
    args = parser.parse_args(argv)
    from trytond.config import update_etc
    update_etc(args.config)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool(args.database).init()
    start = time.monotonic()

    def progress(stage, count, total=None):
        of = f' / {total}' if total else ''
        print(f'\r{stage}: {count}{of} ({time.monotonic() - start:.0f} s)',
            end='', file=sys.stderr, flush=True)

    with Transaction().start(args.database, 0) as transaction:
        Loader = Pool().get('ut11_bridge.loader')
        counts = Loader.load(stock_only=args.stock, progress=progress)
        transaction.commit()
    print(file=sys.stderr)
    print(', '.join(f'{k}: {v}' for k, v in counts.items()))


if __name__ == '__main__':
    main()
