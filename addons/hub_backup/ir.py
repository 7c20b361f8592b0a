from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('hub_backup.backup|cron_scheduled',
                    "Make Scheduled Backups"),
                ('hub_backup.backup|cron_queued',
                    "Run Queued Backups and Restores"),
                ])
