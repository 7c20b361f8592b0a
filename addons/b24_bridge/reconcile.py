"""Reconciliation: deals that differ from their orders (stage, amount,
product rows), listed with «Синхронизировать» (send the whole order again).

Reading every deal takes requests/2 seconds (the portal's rate limit), so a
run is read by the queue, not in the user's request: the wizard starts a
run and opens it («Сверка выполняется…»), the queue fills it in."""
import datetime
import json
import logging

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.hub_sync.errors import SyncError
from trytond.modules.order_hub.pricing import format_money
from trytond.pool import Pool
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import StateAction, StateTransition, Wizard

from .client import BATCH_LIMIT
from .order import ORIGINATOR, after_transaction, in_background, money
from .system import SYSTEM

logger = logging.getLogger(__name__)
# a run still «running» after this long was lost (no worker, a restart)
RUN_TIMEOUT = datetime.timedelta(minutes=15)


class Reconciliation(ModelSQL, ModelView):
    "Bitrix24 Reconciliation"
    __name__ = 'b24_bridge.reconciliation'

    state = fields.Selection([
            ('running', "Running"),
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", readonly=True, required=True)
    status = fields.Function(fields.Char("Status"), 'get_status')
    started = fields.DateTime("Started", readonly=True, required=True)
    finished = fields.DateTime("Finished", readonly=True)
    orders = fields.Integer("Orders Checked", readonly=True)
    found = fields.Integer("Differences Found", readonly=True)
    error = fields.Text("Error", readonly=True)
    differences = fields.One2Many('b24_bridge.difference', 'reconciliation',
        "Differences", readonly=True,
        help="The differences of the latest run; an earlier run's are "
        "replaced by it.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('started', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'running'

    def get_rec_name(self, name):
        return self.started.strftime('%d.%m.%Y %H:%M:%S')

    def get_status(self, name):
        if self.state == 'running':
            return gettext('b24_bridge.msg_reconcile_running')
        if self.state == 'failed':
            return gettext('b24_bridge.msg_reconcile_failed',
                error=self.error or '—')
        return gettext('b24_bridge.msg_reconcile_done',
            orders=self.orders or 0, found=self.found or 0)

    @classmethod
    def b24_start(cls):
        """The run the user sees: one already running (a double click), or
        a new one queued"""
        from trytond.modules.hub_common import utcnow
        with without_check_access():
            running = cls.search([('state', '=', 'running')])
            lost = [r for r in running if r.started < utcnow() - RUN_TIMEOUT]
            if lost:
                cls.write(lost, {'state': 'failed', 'finished': utcnow(),
                        'error': gettext('b24_bridge.msg_reconcile_lost')})
            current = [r for r in running if r not in lost]
            if current:
                return current[0]
            run, = cls.create([{'started': utcnow()}])
        cls.b24_enqueue([run])
        return run

    @classmethod
    def b24_enqueue(cls, runs):
        "Read by the queue; without a worker, in a thread after the request"
        if in_background():
            after_transaction(cls.b24_run, [r.id for r in runs])
        else:
            with Transaction().set_context(queue_name='hub_sync'):
                cls.__queue__.b24_run(runs)

    @classmethod
    def b24_run(cls, runs):
        "Compare every order with its deal (the queue's task)"
        from trytond.modules.hub_common import utcnow
        Difference = Pool().get('b24_bridge.difference')
        with without_check_access():
            runs = [r for r in cls.browse(list(map(int, runs)))
                if r.state == 'running']
            for run in runs:
                try:
                    orders, found = Difference.reconcile(run)
                except (SyncError, UserError) as error:
                    # shown on the run; the user starts another (a
                    # database error propagates: the queue logs it)
                    logger.warning("Bitrix24 reconciliation failed",
                        exc_info=True)
                    values = {'state': 'failed',
                        'error': getattr(error, 'message', None)
                        or str(error)}
                else:
                    values = {'state': 'done', 'orders': orders,
                        'found': found}
                cls.write([run], {**values, 'finished': utcnow()})


class Difference(ModelSQL, ModelView):
    "Bitrix24 Deal Difference"
    __name__ = 'b24_bridge.difference'

    reconciliation = fields.Many2One('b24_bridge.reconciliation',
        "Reconciliation", readonly=True, ondelete='CASCADE')
    order = fields.Many2One('order_hub.order', "Order", required=True,
        readonly=True, ondelete='CASCADE')
    deal = fields.Char("Deal", readonly=True)
    kind = fields.Selection([
            ('missing', "No Deal"),
            ('stage', "Stage"),
            ('amount', "Amount"),
            ('rows', "Product Rows"),
            ], "Difference", readonly=True)
    hub_value = fields.Char("In the Hub", readonly=True)
    b24_value = fields.Char("In Bitrix24", readonly=True)
    checked = fields.DateTime("Checked", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('order', 'DESC'), ('id', 'ASC')]
        cls._buttons.update({'synchronise': {}})

    @classmethod
    @ModelView.button
    def synchronise(cls, differences):
        "Send the whole order to its deal again"
        Order = Pool().get('order_hub.order')
        orders = Order.browse(list({d.order.id for d in differences}))
        # everything again but the timeline's comments (posted once each)
        Order.b24_store([(o, {'b24_sent': json.dumps(
                            {'timeline': o.b24_sent_data['timeline']},
                            ensure_ascii=False)
                        if o.b24_sent_data.get('timeline') else None})
                for o in orders])
        Order.b24_enqueue(orders)
        with without_check_access():
            cls.delete(differences)
        # the list is searched again (the rows are gone, not in error)
        return 'reload'

    @classmethod
    def reconcile(cls, run=None):
        """Compare every mirrored order with its deal; list what differs
        (the list replaced).  Returns (orders checked, differences)."""
        System = Pool().get('hub_sync.system')
        system = System.get(SYSTEM)
        client = system.b24_client()
        try:
            return cls._reconcile(system, client, run)
        finally:
            system.b24_keep_tokens(client)

    @classmethod
    def _reconcile(cls, system, client, run=None):
        pool = Pool()
        Order = pool.get('order_hub.order')
        from trytond.modules.hub_common import utcnow
        stages = system.b24_ensure_pipeline(client)
        names = system.b24_stage_names()
        by_stage = {v: names[k] for k, v in stages.items()}
        deals = {d['ID']: d for d in client.deals({
                    'CATEGORY_ID': system.b24_category,
                    'ORIGINATOR_ID': ORIGINATOR})}
        orders = Order.search([])
        rows = {}
        ids = [o.b24_deal for o in orders if o.b24_deal in deals]
        for start in range(0, len(ids), BATCH_LIMIT):
            results, errors = client.batch({i: ('crm.deal.productrows.get',
                        {'id': i}) for i in ids[start:start + BATCH_LIMIT]})
            rows.update(results)
        now = utcnow()
        vlist = []
        for order in orders:
            deal = deals.get(order.b24_deal) if order.b24_deal else None
            base = {'order': order.id, 'deal': order.b24_deal,
                'checked': now, 'reconciliation': run.id if run else None}
            if deal is None:
                vlist.append({**base, 'kind': 'missing',
                        'hub_value': order.number, 'b24_value': '—'})
                continue
            stage = stages[order.state]
            if deal.get('STAGE_ID') != stage:
                vlist.append({**base, 'kind': 'stage',
                        'hub_value': names[order.state],
                        'b24_value': by_stage.get(deal.get('STAGE_ID'),
                            deal.get('STAGE_ID'))})
            if money(deal.get('OPPORTUNITY')) != money(order.total):
                vlist.append({**base, 'kind': 'amount',
                        'hub_value': format_money(order.total or 0),
                        'b24_value': deal.get('OPPORTUNITY')})
            theirs = [Order.b24_row_key(r) for r in rows.get(deal['ID'], [])]
            ours = [Order.b24_row_key(r) for r in order.get_b24_rows(system)]
            if theirs != ours:
                vlist.append({**base, 'kind': 'rows',
                        'hub_value': cls.describe_rows(ours),
                        'b24_value': cls.describe_rows(theirs)})
        cls.b24_replace(vlist)
        return len(orders), len(vlist)

    @classmethod
    def b24_replace(cls, vlist):
        """The list is the wizard's output (managers read it, nobody edits
        it): replaced as a whole, once the comparison is done.  Two runs at
        once (a double click on the menu) must not add up: the table is
        emptied by one statement at write time (SQLite: writers one at a
        time; PostgreSQL: the later one conflicts and the request is
        retried), not by the ids a search saw before the other committed."""
        with without_check_access():
            table = cls.__table__()
            Transaction().connection.cursor().execute(*table.delete())
            cls.create(vlist)

    @staticmethod
    def describe_rows(keys):
        text = '; '.join(f'{name} × {quantity} по {price}'
            for _, name, quantity, price in keys) or '—'
        return text if len(text) < 250 else text[:249] + '…'


class Reconcile(Wizard):
    """Reconcile with Bitrix24: a run started (or the one running) and
    opened; the queue reads the deals"""
    __name__ = 'b24_bridge.reconcile'
    start = StateTransition()
    open_ = StateAction('b24_bridge.act_reconciliation')

    def transition_start(self):
        return 'open_'

    def do_open_(self, action):
        run = Pool().get('b24_bridge.reconciliation').b24_start()
        action['res_id'] = [run.id]
        return action, {}
