"Failures also go by e-mail when hub_notify is activated"
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


class Backup(metaclass=PoolMeta):
    __name__ = 'hub_backup.backup'

    @classmethod
    def alert(cls, records, text):
        super().alert(records, text)
        pool = Pool()
        Configuration = pool.get('hub_backup.configuration')
        Message = pool.get('hub_notify.message')
        recipient = Configuration(1).alert_email
        if recipient:
            with without_check_access():   # the job runs as whoever asked
                Message.send([{'channel': 'email', 'recipient': recipient,
                            'subject': r.alert_label(), 'text': text,
                            'origin': str(r)} for r in records])
