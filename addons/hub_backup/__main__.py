"""Backups from the command line, also while the hub is down:

    python -m trytond.modules.hub_backup -c trytond.conf backup -d hub
    python -m trytond.modules.hub_backup -c trytond.conf list [--cloud]
    python -m trytond.modules.hub_backup -c trytond.conf restore SET --to hub_copy [--cloud]
    python -m trytond.modules.hub_backup -c trytond.conf verify SET -d hub_copy
    python -m trytond.modules.hub_backup -c trytond.conf drill -d hub [--cloud]
    python -m trytond.modules.hub_backup new-key

Storage and key come from the [hub_backup] section of the configuration
(see README.md).  Exit status: 0 done, 1 failed, 2 verification failed.
"""
import argparse
import os
import re
import sys

from . import crypto, engine
from .errors import BackupError
from .messages import Catalog, error_text, verification_text


def parser():
    main = argparse.ArgumentParser(prog='hub-backup',
        description="Backups of the order hub: database and file store")
    main.add_argument('-c', '--config',
        default=os.environ.get('TRYTOND_CONFIG'))
    commands = main.add_subparsers(dest='command', required=True)
    backup = commands.add_parser('backup', help="make a backup set")
    backup.add_argument('-d', '--database', required=True)
    backup.add_argument('--local-only', action='store_true',
        help="do not copy to the cloud storage")
    backup.add_argument('--keep', type=int, default=7,
        help="sets to keep per storage (0: no limit)")
    backup.add_argument('--keep-days', type=int, default=30,
        help="remove sets older than this (0: no limit)")
    listing = commands.add_parser('list', help="list the stored sets: "
        "the local folder's and the cloud's, with where each one is")
    listing.add_argument('--cloud', action='store_true',
        help="the cloud's sets only")
    restore = commands.add_parser('restore',
        help="restore a set into a new database and verify it")
    restore.add_argument('set')
    restore.add_argument('--to', required=True, dest='target')
    restore.add_argument('--cloud', action='store_true')
    verify = commands.add_parser('verify',
        help="compare a database with a set's manifest")
    verify.add_argument('set')
    verify.add_argument('-d', '--database', required=True)
    verify.add_argument('--cloud', action='store_true')
    drill = commands.add_parser('drill',
        help="backup, restore into a scratch database, verify, drop it")
    drill.add_argument('-d', '--database', required=True)
    drill.add_argument('--cloud', action='store_true',
        help="restore from the cloud copy")
    drill.add_argument('--keep-database', action='store_true')
    commands.add_parser('new-key', help="print a new encryption key")
    return main


class Command:
    def __init__(self, options, say=print):
        import trytond.config as config
        if options.config:
            config.update_etc(options.config)
        self.options = options
        self.settings = engine.Settings.from_config()
        self.say = say
        self.tr = Catalog()

    def storage(self, cloud=False):
        storage = self.settings.cloud() if cloud else self.settings.local()
        if storage is None:
            raise SystemExit(self.tr('msg_no_cloud'))
        return storage

    def backup(self):
        options = self.options
        source = engine.Source.from_config(options.database)
        storages = ([self.settings.local()]
            if getattr(options, 'local_only', False)
            else self.settings.storages())
        outcome = engine.backup(source, storages, self.settings.key(),
            min_free_mb=self.settings.min_free_mb)
        manifest = outcome.manifest
        size = sum(p['size'] for p in manifest['parts'])
        self.say(f"{manifest['id']}: {size / 2 ** 20:.2f} MB, "
            f"{manifest['duration']:.1f} s, "
            f"{len(manifest['tables'])} tables, "
            f"{sum(manifest['tables'].values())} rows, "
            f"{manifest['filestore']['files']} files")
        for storage in outcome.stored:
            self.say(f"  -> {storage}")
            for old in engine.apply_retention(storage, options.database,
                    getattr(options, 'keep', 7),
                    getattr(options, 'keep_days', 30)):
                self.say(f"  removed {old} from {storage}")
        for error in outcome.failed.values():
            self.say(self.tr('msg_cloud_failed',
                    reason=error_text(error, self.tr)))
            return 1, manifest['id']
        return 0, manifest['id']

    def list(self):
        """Every set with where it is: local, cloud or both (a set only in
        the cloud is read from the bucket's manifest)"""
        if self.options.cloud:
            storages = [('cloud', self.storage(True))]
        else:
            storages = [(w, s) for w, s in (('local', self.settings.local()),
                    ('cloud', self.settings.cloud())) if s]
        where = {}
        for name, storage in storages:
            for set_id in storage.list_sets():
                where.setdefault(set_id, []).append((name, storage))
        for set_id, places in sorted(where.items()):
            manifest = places[0][1].read_manifest(set_id)
            size = sum(p['size'] for p in manifest['parts'])
            self.say(f"{set_id}  {manifest['created']}  "
                f"{size / 2 ** 20:.2f} MB  {manifest['backend']}  "
                f"{'+'.join(name for name, _ in places)}")
        return 0

    def restore(self, set_id=None, target=None, cloud=None):
        options = self.options
        set_id = set_id or options.set
        cloud = options.cloud if cloud is None else cloud
        storage = self.storage(cloud)
        manifest = storage.read_manifest(set_id)
        source = engine.Source.from_config(manifest['database'])
        target = source.named(target or options.target)
        manifest, result = engine.restore(storage, set_id, target,
            self.settings.key(), forbidden={manifest['database']},
            jobs=self.settings.jobs)
        self.say(verification_text(result, set_id, self.tr))
        return (0 if result.ok else 2), target

    def verify(self):
        storage = self.storage(self.options.cloud)
        manifest = engine.check_manifest(
            storage.read_manifest(self.options.set), self.settings.key(),
            self.options.set)
        target = engine.Source.from_config(self.options.database)
        result = engine.verify(target, manifest)
        self.say(verification_text(result, self.options.set, self.tr))
        return 0 if result.ok else 2

    def drill(self):
        status, set_id = self.backup()
        if status and not self.options.cloud:
            status = 0     # the local copy is there to drill
        elif status:
            return status
        stamp = re.sub('[^0-9]', '', set_id.rsplit('-', 2)[-2])[:14]
        status, target = self.restore(set_id,
            f'{self.options.database}_drill_{stamp}', self.options.cloud)
        if not self.options.keep_database:
            engine.drop(target)
        return status

    def new_key(self):
        self.say(crypto.new_key())
        return 0


def main(argv=None):
    options = parser().parse_args(argv)
    if options.command == 'new-key':
        print(crypto.new_key())
        return 0
    command = Command(options)
    try:
        result = getattr(command, options.command.replace('-', '_'))()
    except BackupError as error:
        print(error_text(error, command.tr), file=sys.stderr)
        return 1
    return result[0] if isinstance(result, tuple) else result


if __name__ == '__main__':
    sys.exit(main())
