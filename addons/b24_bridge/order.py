"""The hub order as a Bitrix24 deal, and a manager's edits of the deal back.

Outbound: every action-log entry of an order (the hub logs every change,
whoever makes it) enqueues one coalesced message; the outbox sends the
pending messages of many orders together, in ``batch`` calls of up to 50
commands.  Each order sends only what differs from what it last sent
(``b24_sent``): deal fields, product rows, contact.

Inbound: an outgoing event (ONCRMDEALUPDATE) only names the deal; the deal
and its rows are read again and compared with what the hub sent and what it
holds now.  A value that differs from both is a manager's edit: applied
through the order's own methods (re-pricing, reservations, log), or refused
— the deal is set back and a timeline comment says why.  The hub's own
writes coming back as events differ from neither, so they never loop.
"""
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import fields
from trytond.modules.order_hub.action_log import format_number
from trytond.modules.order_hub.pricing import format_money
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from .client import BATCH_LIMIT
from .exceptions import EditRefused
from .system import SYSTEM

logger = logging.getLogger(__name__)

OPERATION = 'b24_push_order'
ORIGINATOR = 'order_hub'
LINE_KEY = 'hub_line_'
DELIVERY_KEY = 'hub_delivery'
B24_FIELDS = {'b24_deal', 'b24_contact', 'b24_sent'}
STORY_ENTRIES = 30          # action-log entries in the deal's story
# timeline comments posted with one push at most (an order's commands go in
# one batch of 50); the others go with the order's next push
TIMELINE_PER_PUSH = 40


class _Round(threading.local):
    """What b24_prefetch read for the round of orders being pushed in this
    thread (Tryton's records take no attributes of their own)"""
    log = None
    texts = None        # what is the same for every order of the round


_round = _Round()


def per_round(key, compute):
    """compute() once per push round: translated names, currency codes,
    actors are the same for every order of the round (computed per order
    they cost more than the rest of the deal)"""
    if _round.texts is None:
        return compute()
    if key not in _round.texts:
        _round.texts[key] = compute()
    return _round.texts[key]


def in_background():
    """Whether Bitrix24's slow work (HTTP at 2 requests/s) should run in a
    thread after the request: no queue worker, ``[b24_bridge]
    background_push`` set, and a user's request (the server lives on after
    it; a script or the cron would end before the thread — the dispatcher
    sets _request)"""
    from trytond.config import config
    transaction = Transaction()
    return (not config.getboolean('queue', 'worker', default=False)
        and config.getboolean('b24_bridge', 'background_push',
            default=False)
        and transaction.context.get('_request') is not None
        and transaction.database.name != ':memory:')


def after_transaction(method, ids):
    """method(ids) in a thread of its own, in a transaction of its own (as
    user 0, with this one's context), once this transaction has ended;
    what fails is logged (a queue's cron catches up)"""
    transaction = Transaction()
    database = transaction.database.name
    context = {k: v for k, v in transaction.context.items()
        if not k.startswith('_')}

    def run():
        try:
            with Transaction().start(database, 0, context=context) as tx:
                method(ids)
                tx.commit()
        except Exception:
            logger.exception("Bitrix24 work in the background failed")

    transaction.atexit(lambda: threading.Thread(target=run,
            name='b24-background', daemon=True).start())


def money(value):
    return str(Decimal(value or 0).quantize(Decimal('0.01')))


def same_number(a, b):
    try:
        return abs(Decimal(str(a)) - Decimal(str(b))) < Decimal('0.005')
    except Exception:
        return a == b


class BatchSender:
    """Sends groups of commands in batches of ≤ 50 from a thread of its own
    (HTTP only: no database there), a group never split; a batch that fails
    as a whole (rate limit, network) fails each of its commands."""

    def __init__(self, client):
        self.client = client
        self.current = {}
        self.futures = []
        self.executor = ThreadPoolExecutor(max_workers=1,
            thread_name_prefix='b24-sender')

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.executor.shutdown(wait=True)

    def add(self, commands):
        if not commands:
            return
        if self.current and len(self.current) + len(commands) > BATCH_LIMIT:
            self.flush()
        self.current.update(commands)

    def flush(self):
        if self.current:
            batch, self.current = self.current, {}
            self.futures.append((batch,
                    self.executor.submit(self.client.batch, batch)))

    def results(self):
        "(results, errors) by key of every batch sent"
        self.flush()
        results, errors = {}, {}
        for batch, future in self.futures:
            try:
                done, failed = future.result()
            except Exception as error:
                done, failed = {}, dict.fromkeys(batch, error)
            results.update(done)
            errors.update(failed)
        self.futures = []
        return results, errors


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    b24_deal = fields.Char("Bitrix24 Deal", readonly=True)
    b24_contact = fields.Char("Bitrix24 Contact", readonly=True)
    b24_sent = fields.Text("Sent to Bitrix24", readonly=True,
        help="What the hub last wrote to the deal (JSON): an event showing "
        "other values is a manager's edit.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._system_fields |= B24_FIELDS

    @classmethod
    def copy(cls, orders, default=None):
        default = dict(default or {}, **dict.fromkeys(B24_FIELDS))
        return super().copy(orders, default=default)

    @classmethod
    def b24_enqueue(cls, orders):
        "Mirror the orders' current state after the commit (coalesced)"
        System = Pool().get('hub_sync.system')
        if not orders:
            return
        with without_check_access():
            if not System.search([('code', '=', SYSTEM)], limit=1):
                return
        Pool().get('hub_sync.outbox').enqueue(SYSTEM, OPERATION, orders)

    # -- the mapper: hub order → deal, one part per method ----------------
    def get_b24_deal_fields(self, system, stages):
        "crm.deal fields as the hub holds them now (strings, like Bitrix)"
        return {
            **self._b24_deal_header(system),
            **self._b24_deal_stage(system, stages),
            **self._b24_deal_amount(system),
            **self._b24_deal_story(system),
            }

    def _b24_deal_header(self, system):
        return {
            'TITLE': gettext('b24_bridge.msg_deal_title',
                number=self.number or self.id),
            'ORIGINATOR_ID': ORIGINATOR,
            'ORIGIN_ID': str(self.id),
            'TYPE_ID': 'GOODS',
            'SOURCE_DESCRIPTION': self.site_number_text(),
            }

    def site_number_text(self):
        number = getattr(self, 'site_number', None)
        return gettext('b24_bridge.msg_site_number', number=number) \
            if number else ''

    def _b24_deal_stage(self, system, stages):
        return {'STAGE_ID': stages[self.state]}

    def _b24_deal_amount(self, system):
        currency = per_round(('currency', self.company.id),
            lambda: self.currency.code if self.currency else 'RUB')
        return {'CURRENCY_ID': currency, 'OPPORTUNITY': money(self.total),
            'IS_MANUAL_OPPORTUNITY': 'Y'}

    def _b24_deal_story(self, system):
        "The order's whole story as the deal's comment (BB-code)"
        parts = [p for p in self.b24_story_sections(system) if p]
        return {'COMMENTS': '\n\n'.join(parts)}

    def b24_story_sections(self, system):
        """The story's sections in order; a module adds its own (shipments,
        returns…) with ``super().b24_story_sections(system) + [...]``"""
        return [
            self.b24_story_link(system),
            self.b24_story_customer(system),
            self.b24_story_reservations(system),
            self.b24_story_log(system),
            ]

    def b24_order_url(self, system):
        if not system.b24_hub_url:
            return None
        database = Transaction().database.name
        return (f'{system.b24_hub_url.rstrip("/")}/#{database}'
            f'/model/order_hub.order/{self.id}')

    def b24_story_link(self, system):
        url = self.b24_order_url(system)
        title = gettext('b24_bridge.msg_story_order', number=self.number,
            state=per_round(('state', self.state),
                lambda: self.state_string))
        return f'[URL={url}]{title}[/URL]' if url else title

    def b24_story_customer(self, system):
        lines = [gettext('b24_bridge.msg_story_customer',
                name=self.customer_name or '—', phone=self.phone or '—',
                email=self.email or '—')]
        if self.delivery_service:
            lines.append(gettext('b24_bridge.msg_story_delivery',
                    service=self.b24_delivery_service_name(),
                    city=self.delivery_city.name if self.delivery_city
                    else '—',
                    address=(self.pickup_shop.rec_name if self.pickup_shop
                        else self.delivery_address) or '—',
                    cost=format_money(self.delivery_cost or 0)))
        return '\n'.join(lines)

    def b24_story_reservations(self, system):
        held = [r for r in self.reservations if r.active]
        if not held:
            return None
        return '\n'.join([gettext('b24_bridge.msg_story_reserved')] + [
                gettext('b24_bridge.msg_story_reservation',
                    product=r.product.rec_name,
                    warehouse=r.warehouse.rec_name,
                    quantity=format_number(r.quantity)) for r in held])

    def b24_story_log(self, system):
        "The latest entries of the action log: status, payments, exchange…"
        entries = (_round.log or {}).get(self.id)
        if entries is None:
            # action_logs come newest first (the model's order)
            entries = self.action_logs[:STORY_ENTRIES]
        if not entries:
            return None
        return '\n'.join([gettext('b24_bridge.msg_story_log')] + [
                f'{e.date.strftime("%d.%m.%Y %H:%M")} — '
                f'{self.b24_actor(e)}: {e.description}' for e in entries])

    @staticmethod
    def b24_actor(entry):
        "Who made an action-log entry (a user's name, «Система», «1С»…)"
        user = entry.user.id if entry.user else None
        return per_round(('actor', entry.source, user),
            lambda: entry.get_actor('actor'))

    def b24_delivery_service_name(self):
        return per_round(('service', self.delivery_service),
            lambda: self.delivery_service_string)

    def get_b24_rows(self, system):
        "crm.deal.productrows: the lines, then the delivery"
        rows = [self._b24_row(line, system) for line in self.lines]
        if self.delivery_cost:
            rows.append(self._b24_delivery_row(system))
        return rows

    def _b24_row(self, line, system):
        """A line: PRICE is the final unit price, the line's discount shared
        per unit (an absolute DISCOUNT_SUM per unit)"""
        quantity = line.quantity or Decimal(1)
        discount = ((line.discount or 0) / quantity).quantize(
            Decimal('0.01'))
        return {
            'PRODUCT_ID': 0,
            'PRODUCT_NAME': line.product.rec_name,
            'PRICE': money((line.unit_price or 0) - discount),
            'QUANTITY': str(int(quantity)),
            'DISCOUNT_TYPE_ID': 1,
            'DISCOUNT_SUM': money(discount),
            'TAX_INCLUDED': 'Y',
            'MEASURE_CODE': 796,
            'MEASURE_NAME': 'шт',
            'XML_ID': f'{LINE_KEY}{line.id}',
            }

    def _b24_delivery_row(self, system):
        return {
            'PRODUCT_ID': 0,
            'PRODUCT_NAME': gettext('b24_bridge.msg_delivery_row',
                service=self.b24_delivery_service_name() or '—'),
            'PRICE': money(self.delivery_cost), 'QUANTITY': '1',
            'DISCOUNT_TYPE_ID': 1, 'DISCOUNT_SUM': '0.00',
            'TAX_INCLUDED': 'Y', 'MEASURE_CODE': 796, 'MEASURE_NAME': 'шт',
            'XML_ID': DELIVERY_KEY, 'TYPE': 7,
            }

    def get_b24_contact_fields(self, system):
        "crm.contact fields of the customer (ФИО, phone, e-mail)"
        parts = (self.customer_name or '').split()
        values = {}
        if len(parts) >= 3:
            values = {'LAST_NAME': parts[0], 'NAME': parts[1],
                'SECOND_NAME': ' '.join(parts[2:])}
        elif len(parts) == 2:
            values = {'LAST_NAME': parts[0], 'NAME': parts[1]}
        elif parts:
            values = {'NAME': parts[0]}
        # the order keeps its phone normalised (+7…): the contact's
        # duplicate search compares like with like
        phone = self.phone_key
        if phone:
            values['PHONE'] = [{'VALUE': phone, 'VALUE_TYPE': 'MOBILE'}]
        if self.email:
            values['EMAIL'] = [{'VALUE': self.email.strip().lower(),
                    'VALUE_TYPE': 'HOME'}]
        return values

    def get_b24_timeline(self, system):
        """{key: text} of the timeline comments the deal should have: each
        key is posted once (its key kept in b24_sent), in this order.  A
        module adds its own (shipments, returns…) with
        ``{**super().get_b24_timeline(system), **mine}``; a key names an
        event that happened (``shipment:12:sent``), never a changing
        value."""
        return {}

    def b24_wanted(self, system, stages):
        return {'fields': self.get_b24_deal_fields(system, stages),
            'rows': self.get_b24_rows(system),
            'contact': self.get_b24_contact_fields(system),
            'timeline': self.get_b24_timeline(system)}

    def b24_timeline_commands(self, wanted, posted):
        "{command key: timeline key} of the comments not posted yet"
        new = [k for k in wanted.get('timeline') or {} if k not in posted]
        return {f't{self.id}_{n}': k
            for n, k in enumerate(new[:TIMELINE_PER_PUSH])}

    @property
    def b24_sent_data(self):
        return json.loads(self.b24_sent or '{}')

    # -- outbound: many orders, few requests ------------------------------
    @classmethod
    def b24_push_messages(cls, messages):
        """Send the orders of the messages; {message id: (result, error)}.

        A lookup round first (contacts by phone and e-mail; a deal a lost
        answer may have created), then the orders' commands packed into
        batches of at most 50, an order's commands never split.  Batches go
        out from a sender thread (HTTP only) as soon as they are full, so
        that the rate limit's waits overlap the reading of the next orders
        instead of adding to it."""
        System = Pool().get('hub_sync.system')
        system = System.get(SYSTEM)
        client = system.b24_client()
        try:
            stages = system.b24_ensure_pipeline(client)
            outcomes = {}
            # one browse list: their fields are read together
            browsed = cls.browse([m.record.id for m in messages])
            cls.b24_prefetch(browsed, system)
            orders = {m.id: o for m, o in zip(messages, browsed)}
            lookups = {m.id: orders[m.id].b24_lookups(system,
                    retry=m.attempts > 0) for m in messages}
            wanted = {}
            with BatchSender(client) as sender:
                for commands in lookups.values():
                    sender.add(commands)
                sender.flush()
                # meanwhile: the new orders (the others' go with the sending)
                for message in messages:
                    if lookups[message.id]:
                        wanted[message.id] = orders[message.id].b24_wanted(
                            system, stages)
                found, failed = sender.results()
            plans = []
            with BatchSender(client) as sender:
                for message in messages:
                    order = orders[message.id]
                    error = next((failed[k] for k in lookups[message.id]
                            if k in failed), None)
                    if error:
                        outcomes[message.id] = (None, error)
                        continue
                    if message.id not in wanted:
                        wanted[message.id] = order.b24_wanted(system, stages)
                    commands = order.b24_commands(system, wanted[message.id],
                        found)
                    sender.add(commands)
                    plans.append((message, order, commands))
                results, errors = sender.results()
            for message, order, commands in plans:
                outcomes[message.id] = order.b24_record(wanted[message.id],
                    commands, found, results, errors)
            return outcomes
        finally:
            _round.log = _round.texts = None
            system.b24_keep_tokens(client)

    @classmethod
    def b24_prefetch(cls, orders, system):
        """Read at once what the deals of a round of orders need and the
        ORM would read order by order: the latest STORY_ENTRIES entries of
        each order's action log (one query instead of a One2Many and its
        entries per order).  Kept for the round only (b24_push_messages)."""
        from sql import Window
        from sql.functions import RowNumber

        from trytond.tools import reduce_ids
        ActionLog = Pool().get('order_hub.action_log')
        if not orders:
            return
        log = ActionLog.__table__()
        rank = RowNumber(window=Window([log.order],
                order_by=[log.date.desc, log.id.desc]))
        ranked = log.select(log.id, log.order, log.date, log.user,
            log.source, log.description, rank.as_('rank'),
            where=reduce_ids(log.order, [o.id for o in orders]))
        cursor = Transaction().connection.cursor()
        cursor.execute(*ranked.select(ranked.id, ranked.order, ranked.date,
                ranked.user, ranked.source, ranked.description,
                where=ranked.rank <= STORY_ENTRIES,
                order_by=[ranked.order, ranked.rank]))
        entries = {}
        for id_, order, date, user, source, description in cursor:
            entries.setdefault(order, []).append(ActionLog(id_,
                    date=Outbox.b24_datetime(date), user=user,
                    source=source, description=description))
        _round.log = {o.id: entries.get(o.id, []) for o in orders}
        _round.texts = {}

    def b24_lookups(self, system, retry=False):
        "Batch commands to run before this order's own (by key)"
        commands = {}
        if self.b24_deal:
            return commands
        if retry:
            # a lost answer may have created the deal: find it, not twice
            commands[f'f{self.id}'] = ('crm.deal.list', {
                    'filter': {'ORIGINATOR_ID': ORIGINATOR,
                        'ORIGIN_ID': str(self.id)}, 'select': ['ID']})
        if not self.b24_contact:
            contact = self.get_b24_contact_fields(system)
            for kind in ('PHONE', 'EMAIL'):
                if contact.get(kind):
                    commands[f'{kind[0].lower()}{self.id}'] = (
                        'crm.duplicate.findbycomm', {'entity_type': 'CONTACT',
                            'type': kind,
                            'values': [contact[kind][0]['VALUE']]})
        return commands

    def b24_found_contact(self, found):
        "The contact Bitrix24's duplicate search found (phone, then e-mail)"
        for kind in ('p', 'e'):
            answer = found.get(f'{kind}{self.id}')
            ids = answer.get('CONTACT') if isinstance(answer, dict) else None
            if ids:
                return str(min(int(i) for i in ids))
        return None

    def b24_found_deal(self, found):
        rows = found.get(f'f{self.id}') or []
        return str(rows[0]['ID']) if rows else None

    def b24_commands(self, system, wanted, found):
        "{key: (method, params)} that bring the deal to wanted"
        sent = self.b24_sent_data
        key = self.id
        commands = {}
        deal = self.b24_deal or self.b24_found_deal(found)
        contact = self.b24_contact or self.b24_found_contact(found)
        if not contact and wanted['contact']:
            commands[f'c{key}'] = ('crm.contact.add',
                {'fields': {**wanted['contact'], 'TYPE_ID': 'CLIENT',
                        'SOURCE_ID': 'STORE'}})
            contact = f'$result[c{key}]'
        elif contact and sent.get('contact') and (
                wanted['contact'] != sent['contact']):
            # items without ID are appended: old phones stay on the contact
            commands[f'k{key}'] = ('crm.contact.update',
                {'id': contact, 'fields': wanted['contact']})
        if not deal:
            commands[f'd{key}'] = ('crm.deal.add', {'fields': {
                        **wanted['fields'], 'CATEGORY_ID': system.b24_category,
                        'CONTACT_IDS': [contact] if contact else []},
                    'params': {'REGISTER_SONET_EVENT': 'N'}})
            deal = f'$result[d{key}]'
            sent = {}
        else:
            changed = {k: v for k, v in wanted['fields'].items()
                if (sent.get('fields') or {}).get(k) != v}
            if changed:
                commands[f'u{key}'] = ('crm.deal.update',
                    {'id': deal, 'fields': changed})
        if wanted['rows'] != sent.get('rows'):
            commands[f'r{key}'] = ('crm.deal.productrows.set',
                {'id': deal, 'rows': wanted['rows']})
        for command, name in self.b24_timeline_commands(wanted,
                set(sent.get('timeline') or ())).items():
            commands[command] = ('crm.timeline.comment.add', {'fields': {
                        'ENTITY_ID': deal, 'ENTITY_TYPE': 'deal',
                        'COMMENT': wanted['timeline'][name]}})
        return commands

    def b24_record(self, wanted, commands, found, results, errors):
        """Note what reached the deal; (result, error) of the message —
        the commands that failed are sent again next time"""
        key = self.id
        sent = self.b24_sent_data
        values = {}
        deal = self.b24_deal or self.b24_found_deal(found)
        if f'd{key}' in results:
            deal = str(results[f'd{key}'])
            sent['fields'] = wanted['fields']
        elif f'u{key}' in results:
            sent['fields'] = wanted['fields']
        if deal != self.b24_deal:
            values['b24_deal'] = deal
        contact = self.b24_contact or self.b24_found_contact(found)
        if f'c{key}' in results:
            contact = str(results[f'c{key}'])
        if contact != self.b24_contact and contact:
            values['b24_contact'] = contact
        if contact and f'k{key}' not in errors and f'c{key}' not in errors:
            sent['contact'] = wanted['contact']
        if f'r{key}' in results or f'r{key}' not in commands:
            sent['rows'] = wanted['rows']
        posted = list(sent.get('timeline') or ())
        posted += [name for command, name in self.b24_timeline_commands(
                wanted, set(posted)).items() if command in results]
        if posted:
            sent['timeline'] = posted
        if not commands:
            sent = {**sent, 'fields': wanted['fields']}
        if not deal:
            sent.pop('fields', None)
        values['b24_sent'] = json.dumps(sent, ensure_ascii=False,
            sort_keys=True)
        if values['b24_sent'] == self.b24_sent:
            del values['b24_sent']
        if values:
            self.b24_store([(self, values)])
        error = next((errors[k] for k in commands if k in errors), None)
        if error:
            return None, error
        return (gettext('b24_bridge.msg_pushed', commands=len(commands))
            if commands else gettext('b24_bridge.msg_nothing_to_push')), None

    @classmethod
    def b24_store(cls, pairs):
        """Write the exchange's bookkeeping (b24_* fields) of orders: plain
        SQL, as ut11_bridge's in_mirror — no business hook, no log, no
        re-pricing has to see it, and the ORM's write costs 25 ms per order
        (a mirror round writes 50)"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for order, values in pairs:
            columns = [getattr(table, k) for k in values]
            cursor.execute(*table.update(columns, list(values.values()),
                    where=table.id == order.id))
            for key, value in values.items():
                setattr(order, key, value)

    # -- inbound: a manager's edit of the deal ----------------------------
    @classmethod
    def b24_apply_deal(cls, deal_id):
        "Read the deal again; apply or refuse what a manager changed"
        System = Pool().get('hub_sync.system')
        with without_check_access():
            orders = cls.search([('b24_deal', '=', str(deal_id))], limit=1)
        if not orders:
            return gettext('b24_bridge.msg_not_our_deal', deal=deal_id)
        order, = orders
        system = System.get(SYSTEM)
        client = system.b24_client()
        try:
            return cls._b24_apply_deal(order, deal_id, system, client)
        finally:
            system.b24_keep_tokens(client)

    @classmethod
    def _b24_apply_deal(cls, order, deal_id, system, client):
        stages = system.b24_ensure_pipeline(client)
        deal, rows = client.deal_with_rows(deal_id)
        wanted = order.b24_wanted(system, stages)
        try:
            # the order's company prices the edited lines
            with Transaction().set_context(hub_source=SYSTEM,
                    company=order.company.id):
                order = cls(order.id)
                done = order.b24_apply_rows(system, rows, wanted)
                done += order.b24_apply_stage(system, deal, wanted, stages)
        except UserError as error:
            order.b24_set_back(client, deal_id, wanted, error.message)
            raise EditRefused(gettext('b24_bridge.msg_edit_refused',
                    order=order.rec_name, reason=error.message)) from error
        if not done and order.b24_differs(deal, rows, wanted):
            # what the hub owns (prices, delivery) changed there: send back
            sent = order.b24_sent_data
            sent.pop('rows', None)
            sent.setdefault('fields', {}).pop('STAGE_ID', None)
            cls.write([order], {'b24_sent': json.dumps(sent,
                        ensure_ascii=False, sort_keys=True)})
            cls.b24_enqueue([order])
        return '; '.join(done) or gettext('b24_bridge.msg_no_edit')

    def b24_edited(self, remote, sent, wanted, same=None):
        "Whether remote differs from what the hub sent and from what it holds"
        same = same or (lambda a, b: a == b)
        return not (same(remote, sent) or same(remote, wanted))

    def b24_differs(self, deal, rows, wanted):
        if deal.get('STAGE_ID') != wanted['fields']['STAGE_ID']:
            return True
        return [self.b24_row_key(r) for r in rows] != [
            self.b24_row_key(r) for r in wanted['rows']]

    @staticmethod
    def b24_row_key(row):
        return (row.get('XML_ID') or '', row.get('PRODUCT_NAME') or '',
            str(Decimal(str(row.get('QUANTITY') or 0)).normalize()),
            money(row.get('PRICE') or 0))

    def b24_apply_stage(self, system, deal, wanted, stages):
        "A stage a manager chose: the order's transition, if it is allowed"
        sent = (self.b24_sent_data.get('fields') or {}).get('STAGE_ID')
        remote = deal.get('STAGE_ID')
        if not self.b24_edited(remote, sent, wanted['fields']['STAGE_ID']):
            return []
        states = {v: k for k, v in stages.items()}
        names = system.b24_stage_names()
        target = states.get(remote)
        if target is None:
            raise EditRefused(gettext('b24_bridge.msg_stage_unknown',
                    stage=remote))
        if target == self.state:
            return []
        if (self.state, target) not in self._transitions:
            allowed = [names[t] for s, t in sorted(self._transitions)
                if s == self.state]
            raise EditRefused(gettext('b24_bridge.msg_stage_skip',
                    old=names[self.state], new=names[target],
                    allowed=', '.join(allowed) or '—'))
        self.b24_transition(target)
        order = self.__class__(self.id)
        if order.state != target:
            raise EditRefused(gettext('b24_bridge.msg_stage_not_reached',
                    new=names[target], state=names[order.state],
                    reason=order.reservation_shortage or '—'))
        return [gettext('b24_bridge.msg_applied_stage', new=names[target])]

    def b24_transition(self, state):
        "Move the order to state by the method a manager's button would call"
        method = self.b24_transition_methods()[state]
        getattr(self.__class__, method)([self])

    @classmethod
    def b24_transition_methods(cls):
        return {'paid': 'pay', 'assembling': 'reserve',
            'delivering': 'deliver', 'issued': 'issue', 'cancelled': 'cancel'}

    def b24_apply_rows(self, system, rows, wanted):
        """Quantity and product of each line a manager changed, lines a
        manager removed; prices and delivery stay the hub's"""
        Line = Pool().get('order_hub.order.line')
        sent = {r['XML_ID']: r for r in self.b24_sent_data.get('rows') or []}
        held = {r['XML_ID']: r for r in wanted['rows']}
        remote = {r.get('XML_ID'): r for r in rows if r.get('XML_ID')}
        done = []
        for line in list(self.lines):
            xml_id = f'{LINE_KEY}{line.id}'
            theirs = remote.get(xml_id)
            if theirs is None:
                if xml_id in sent:      # the manager deleted the row
                    self.check_lines_editable()
                    Line.delete([line])
                    done.append(gettext('b24_bridge.msg_applied_removed',
                            line=line.rec_name))
                continue
            ours, hub = sent.get(xml_id) or {}, held[xml_id]
            if self.b24_edited(theirs.get('QUANTITY'), ours.get('QUANTITY'),
                    hub['QUANTITY'], same_number):
                done.append(self.b24_set_quantity(line, theirs['QUANTITY']))
            if self.b24_edited(theirs.get('PRODUCT_NAME'),
                    ours.get('PRODUCT_NAME'), hub['PRODUCT_NAME']):
                done.append(self.b24_set_product(line,
                        theirs['PRODUCT_NAME']))
        return done

    def b24_set_quantity(self, line, quantity):
        Line = Pool().get('order_hub.order.line')
        quantity = Decimal(str(quantity))
        if quantity != quantity.to_integral_value() or quantity <= 0:
            raise EditRefused(gettext('b24_bridge.msg_quantity_invalid',
                    line=line.rec_name, quantity=format_number(quantity)))
        quantity = quantity.to_integral_value()
        old = line.quantity
        self.check_lines_editable()
        Line.write([line], {'quantity': quantity})
        if quantity > old:
            self.b24_check_stock(Line(line.id))
        return gettext('b24_bridge.msg_applied_quantity', line=line.rec_name,
            old=format_number(old), new=format_number(quantity))

    def b24_set_product(self, line, name):
        Line = Pool().get('order_hub.order.line')
        Product = Pool().get('product.product')
        products = Product.search(['OR', ('rec_name', '=', name),
                ('code', '=', name)], limit=2)
        if len(products) != 1:
            raise EditRefused(gettext('b24_bridge.msg_product_unknown',
                    name=name))
        self.check_lines_editable()
        old = line.product.rec_name
        Line.write([line], {'product': products[0].id})
        self.b24_check_stock(Line(line.id))
        return gettext('b24_bridge.msg_applied_product', old=old, new=name)

    def b24_check_stock(self, line):
        """A manager may not ask for goods the hub does not have: in an
        order being assembled the line must be reserved in full, otherwise
        the free stock must cover it"""
        StockLevel = Pool().get('order_hub.stock')
        if line.order.state == 'assembling':
            missing = line.missing_quantity
        else:
            levels = StockLevel.search([('product', '=', line.product.id)])
            free = sum((l.quantity or 0) - (l.reserved_quantity or 0)
                for l in levels)
            missing = max(line.quantity - free, 0)
        if missing > 0:
            raise EditRefused(gettext('b24_bridge.msg_no_stock',
                    line=line.rec_name, missing=format_number(missing)))

    def b24_set_back(self, client, deal_id, wanted, reason):
        "Put the deal back as the hub holds the order, and say why"
        results, errors = client.batch({
                'stage': ('crm.deal.update', {'id': deal_id, 'fields': {
                            'STAGE_ID': wanted['fields']['STAGE_ID']}}),
                'rows': ('crm.deal.productrows.set', {'id': deal_id,
                        'rows': wanted['rows']}),
                'comment': ('crm.timeline.comment.add', {'fields': {
                            'ENTITY_ID': int(deal_id), 'ENTITY_TYPE': 'deal',
                            'COMMENT': gettext('b24_bridge.msg_comment_refused',
                                reason=reason)}}),
                })
        if errors:
            raise next(iter(errors.values()))


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.source.selection.append((SYSTEM, "Bitrix24"))

    @classmethod
    def add(cls, entries):
        "Every logged change of an order is mirrored to its deal"
        entries = list(entries)
        super().add(entries)
        source = cls.current_source()
        orders = {int(order) for order, kind, _ in entries
            if not (source == SYSTEM and kind == 'exchange')}
        if orders:
            Order = Pool().get('order_hub.order')
            Order.b24_enqueue(Order.browse(sorted(orders)))


class Outbox(metaclass=PoolMeta):
    __name__ = 'hub_sync.outbox'

    @classmethod
    def operation_labels(cls):
        return {**super().operation_labels(),
            OPERATION: 'b24_bridge.msg_operation_order'}

    @classmethod
    def push(cls, records):
        """Without a queue worker (the demo on SQLite) Tryton runs queued
        tasks in the request, before its answer: a Bitrix24 round (HTTP at
        the portal's rate) would hold the user's click.  With
        ``[b24_bridge] background_push = True`` and no worker, the round
        runs in a thread of its own once the request's transaction is over
        (in a user's request only); the cron catches up with what it could
        not send, as always."""
        if not cls.b24_in_background():
            return super().push(records)
        ours = [r for r in records
            if r.system == SYSTEM and r.operation == OPERATION]
        super().push([r for r in records if r not in ours])
        if ours:
            cls.b24_push_after(list({r.id for r in ours}))

    @classmethod
    def b24_in_background(cls):
        return in_background()

    @classmethod
    def b24_push_after(cls, ids):
        "b24_process(ids) in a thread, after this transaction has ended"
        after_transaction(cls.b24_process, ids)

    def send_b24_push_order(self):
        "One message alone (a replay, or a busy batch): its own batch"
        Order = Pool().get('order_hub.order')
        result, error = Order.b24_push_messages([self])[self.id]
        if error:
            raise error
        return result

    @classmethod
    def process(cls, records):
        """Messages to Bitrix24 go out together: up to 50 orders per
        round, their commands in as few batch calls as fit"""
        records = cls.browse(list(map(int, records)))
        with without_check_access():
            ours = [r.id for r in records
                if r.system == SYSTEM and r.operation == OPERATION]
        super().process([r for r in records if r.id not in ours])
        if ours:
            cls.b24_process(ours)

    @classmethod
    def b24_due(cls, limit):
        from trytond.modules.hub_common import utcnow
        with without_check_access():
            return [m.id for m in cls.search([
                        ('system', '=', SYSTEM),
                        ('operation', '=', OPERATION),
                        ('state', '=', 'pending'),
                        ['OR', ('next_try', '=', None),
                            ('next_try', '<=', utcnow())],
                        ], order=[('id', 'ASC')], limit=limit)]

    @classmethod
    def b24_process(cls, ids, chunk=4 * BATCH_LIMIT):
        """Rounds of up to 200 orders (their commands fill whole batches
        better than 50 orders' would), each in one transaction.  A queue
        task names one message: it takes up to 49 others due along (one
        batch's worth: the request that committed waits for it); the cron
        passes every due one."""
        from trytond import backend
        ids = list(ids)
        if len(ids) == 1:
            ids = list(dict.fromkeys(ids + cls.b24_due(BATCH_LIMIT - 1)))
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            try:
                cls._b24_attempt(part)
            except backend.DatabaseOperationalError:
                # locked: another worker is sending them, or will
                logger.info("Bitrix24 messages busy, skipped")

    @classmethod
    def b24_due_messages(cls, messages):
        """is_due() of many messages in two queries: pending, due, and no
        older pending message of the same record (one order's go in order).

        Plain SQL: reading the messages through the ORM checks that every
        order their ``record`` names still exists (a search per read), which
        cost more than the rest of the round.  The messages returned carry
        what the round reads of them (state, attempts, record, system,
        operation); anything else is read on access, as usual."""
        from sql.operators import In

        from trytond.modules.hub_common import utcnow
        from trytond.tools import reduce_ids
        now = utcnow()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        ids = [int(m) for m in messages]
        cursor.execute(*table.select(table.id, table.state, table.next_try,
                table.attempts, table.record, table.system, table.operation,
                where=reduce_ids(table.id, ids)))
        rows = {r[0]: r for r in cursor}
        due = [rows[i] for i in ids if i in rows and rows[i][1] == 'pending'
            and (not rows[i][2] or cls.b24_datetime(rows[i][2]) <= now)]
        if not due:
            return []
        first = {}
        cursor.execute(*table.select(table.id, table.record,
                where=(table.system == SYSTEM)
                & In(table.record, list({r[4] for r in due}))
                & (table.state == 'pending')
                & (table.id < max(r[0] for r in due)),
                order_by=[table.id.asc]))
        for id_, record in list(cursor) + sorted(
                (r[0], r[4]) for r in due):
            if record not in first or id_ < first[record]:
                first[record] = id_
        return [cls(r[0], state=r[1], attempts=r[3], record=r[4],
                system=r[5], operation=r[6])
            for r in due if first[r[4]] == r[0]]

    @staticmethod
    def b24_datetime(value):
        "A DateTime column as SQLite returns it (text) or PostgreSQL"
        if isinstance(value, str):
            import datetime
            return datetime.datetime.fromisoformat(value)
        return value

    @classmethod
    def b24_succeeded(cls, done):
        """succeeded() for many messages at once: one write call and one
        journal insert instead of a save and an insert each"""
        from trytond.modules.hub_common import utcnow
        from trytond.modules.hub_sync.http import excerpt
        if not done:
            return
        now = utcnow()
        groups = {}
        for message, result in done:
            result = None if result is None else excerpt(str(result), 250)
            groups.setdefault((message.attempts + 1, result), []).append(
                message)
        args = []
        for (attempts, result), messages in groups.items():
            args += [messages, {'state': 'done', 'attempts': attempts,
                    'result': result, 'done_date': now, 'next_try': None,
                    'attention': False}]
        with without_check_access():
            cls.write(*args)
        cls.b24_journal([{**m.journal_values(), 'system': m.system,
                    'outcome': 'ok', 'summary': gettext(
                        'hub_sync.msg_journal_done', result=r or '—')}
                for m, r in done])

    @classmethod
    def b24_journal(cls, vlist):
        """Journal.add in one INSERT: the journal is append-only and these
        rows are the system's own (no hook of the ORM's create has anything
        to check), and a create per row cost a tenth of the round"""
        from trytond.modules.hub_common import utcnow
        Journal = Pool().get('hub_sync.journal')
        if not vlist:
            return
        table = Journal.__table__()
        transaction = Transaction()
        names = sorted({k for v in vlist for k in v})
        now = utcnow()
        columns = [table.create_uid, table.create_date, table.date] + [
            getattr(table, n) for n in names]
        values = [[transaction.user, now, now] + [
                str(v[n]) if n == 'record' and v.get(n) is not None
                else v.get(n) for n in names] for v in vlist]
        transaction.connection.cursor().execute(
            *table.insert(columns, values))

    @classmethod
    def _b24_attempt(cls, ids):
        Order = Pool().get('order_hub.order')
        with Transaction().new_transaction(
                _lock_records={cls._table: ids}) as transaction:
            messages = cls.b24_due_messages(ids)
            if not messages:
                return
            attempts = {m.id: m.attempts for m in messages}
            try:
                outcomes = Order.b24_push_messages(messages)
            except Exception as error:
                transaction.rollback()
                failure = error
            else:
                cls.b24_succeeded([(m, outcomes[m.id][0]) for m in messages
                        if outcomes[m.id][1] is None])
                for message in messages:
                    result, error = outcomes[message.id]
                    if error is not None:
                        message.failed(error)
                return
        for id_, count in attempts.items():
            cls._record_failure(id_, count, failure)
