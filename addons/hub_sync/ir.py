from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('hub_sync.outbox|process_due', "Send Due Outbound Messages"),
                ('hub_sync.inbox|process_due', "Process Due Inbound Events"),
                ('hub_sync.journal|purge', "Purge Old Sync Journal Entries and Finished Messages"),
                ])
