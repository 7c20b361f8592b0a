"""Steps on the hub_sync queue shared by the scenario tests of the bridges
(next to ``endpoint.py``).  A mixin for a test case whose ``step(func)``
runs ``func`` in a committed transaction."""
from trytond.pool import Pool

QUEUES = ('hub_sync.outbox', 'hub_sync.inbox')


class QueueSteps:
    "pending() and make_all_due() on the outbox and the inbox"

    def pending(self):
        "How many outbox messages and inbox events are due now"
        def count():
            from trytond.modules.hub_common import utcnow
            pool = Pool()
            return sum(pool.get(name).search_count([
                        ('state', '=', 'pending'),
                        ['OR', ('next_try', '=', None),
                            ('next_try', '<=', utcnow())]])
                for name in QUEUES)
        return self.step(count)

    def make_all_due(self):
        "Time passes: the back-off of every pending retry is over"
        def due():
            pool = Pool()
            for name in QUEUES:
                Model = pool.get(name)
                Model.write(Model.search([('state', '=', 'pending')]),
                    {'next_try': None})
        self.step(due)
