"""The 1C-Bitrix site and the hub over real HTTP (the sandbox simulators):
site orders come in once, with the site's customer, delivery and prices,
and with pricing method «site» every edit is priced by the site — or
refused, keeping the order's prices, when the site cannot answer.

Each step is committed, as the cron, the queue and the web client would."""
import sys
from decimal import Decimal
from pathlib import Path

from trytond.exceptions import UserError
from trytond.modules.order_hub.exceptions import (
    PricingUnavailable, PromoCodeError)
from trytond.modules.order_hub.tests.tools import (
    HubTestCase, setup_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from sandbox.bitrix_site import BitrixSiteSimulator  # noqa: E402
from sandbox.ut11 import UT11Simulator, stable_ref  # noqa: E402
from trytond.modules.ut11_bridge.tests.tools import (  # noqa: E402
    committed_step, create_cities, ut11_system_values)

BASE_PRICE_TYPE = 'bd72d90c-55bc-11d9-848a-00112f43529a'
SITE_SECTION = 'f0e1d2c3-0001-11ee-8c90-0242ac120002'
SNEAKERS = ('КР-1001', '42')
HAT = ('АК-9001', None)


class SiteBridgeTestCase(HubTestCase):
    "The 1C-Bitrix site bridge"
    modules = ['site_bridge']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ut11 = UT11Simulator()
        ut11_url = cls.ut11.start() + '/ut/odata/standard.odata'
        cls.addClassCleanup(cls.ut11.stop)
        cls.site = BitrixSiteSimulator()
        site_url = cls.site.start()
        cls.addClassCleanup(cls.site.stop)
        with Transaction().start(DB_NAME, 0) as transaction:
            System = Pool().get('hub_sync.system')
            cls.company = setup_company().id
            create_cities(["Москва", "Санкт-Петербург"])
            System.create([ut11_system_values(cls.ut11, ut11_url), {
                        'code': 'site', 'name': "Сайт",
                        'base_url': site_url, 'login': cls.site.login,
                        'password': cls.site.password, 'timeout': 3}])
            transaction.commit()
        cls.step(lambda: Pool().get('ut11_bridge.loader').load())
        cls.xml_ids = cls.step(lambda: {key: cls._xml_id(*key)
                for key in (SNEAKERS, HAT)})
        cls._seed_site_catalogue()

        # the singleton's first write creates it: the table must be locked
        # when the transaction starts (Tryton's RPC layer retries for that)
        with Transaction().start(DB_NAME, 0, _lock_tables=[
                    'order_hub_configuration']) as transaction:
            Configuration = Pool().get('order_hub.configuration')
            Configuration.write([Configuration(1)],
                {'pricing_method': 'site'})
            transaction.commit()

    @classmethod
    def _xml_id(cls, article, size):
        "The site offer of a hub variant: 1C GUID[#characteristic GUID]"
        Product = Pool().get('product.product')
        product, = Product.search([('template.code', '=', article),
                ('hub_size', '=', size)])
        ref = product.template.ut11_ref
        assert ref == stable_ref('item', article)
        if product.ut11_characteristic:
            return f'{ref}#{product.ut11_characteristic}'
        return ref

    @classmethod
    def _seed_site_catalogue(cls):
        """Put the UT11 products on the site as 1C's CommerceML upload would
        (same XML_IDs, the same retail prices); the simulator has no control
        action for it, so its state is seeded in-process"""
        catalog = cls.site.catalog
        with cls.site.lock:
            catalog['sections'][SITE_SECTION] = {
                'name': 'Одежда и обувь', 'parent': None}
            for (article, size), price in ((SNEAKERS, 6990), (HAT, 890)):
                xml_id = cls.xml_ids[(article, size)]
                ref = xml_id.split('#')[0]
                catalog['products'][ref] = {'xml_id': ref,
                    'article': article, 'name': article, 'barcode': None,
                    'sections': [SITE_SECTION], 'description': '',
                    'unit': '796', 'vat_rate': 20, 'properties': {},
                    'requisites': {'ВидНоменклатуры': 'Товар'},
                    'active': True, 'touched': 0}
                catalog['offers'][xml_id] = {'xml_id': xml_id,
                    'name': f'{article} {size or ""}'.strip(),
                    'prices': {BASE_PRICE_TYPE: {
                            'price': price, 'currency': 'RUB'}},
                    'quantity': 10, 'stores': {}}

    def setUp(self):
        self.site.faults.clear()

    @classmethod
    def step(cls, func):
        return committed_step(cls.company, func)

    def fetch(self):
        "The cron's fetch; returns [(event id, state, result)]"
        def fetch():
            # the cron runs with nothing uncommitted in its transaction
            events = Pool().get('site_bridge.importer').fetch()
            return [e.id for e in events]
        ids = self.step(fetch)
        return self.step(lambda: [(e.id, e.state, e.result)
                for e in Pool().get('hub_sync.inbox').browse(ids)])

    def place(self, quantities=(1, 2), promo_code='ВЕСНА10', **kwargs):
        lines = [{'product_xml_id': self.xml_ids[key], 'quantity': q}
            for key, q in zip((SNEAKERS, HAT), quantities)]
        return self.site.place_order(lines, promo_code=promo_code, **kwargs)

    def site_prices(self, quantities, coupon='ВЕСНА10'):
        "[(base price, line discount)] as the site computes them"
        priced = self.site.price_basket([
                {'product_xml_id': self.xml_ids[key], 'quantity': q}
                for key, q in zip((SNEAKERS, HAT), quantities)], coupon,
            self.site.users.get('ivanova.m'))
        return [(Decimal(str(l['base_price'])).quantize(Decimal('0.01')),
                (Decimal(str(l['discount'])) * Decimal(str(l['quantity'])))
                .quantize(Decimal('0.01'))) for l in priced['lines']]

    def hub_order(self, site_number):
        def read():
            Order = Pool().get('order_hub.order')
            orders = Order.search([('site_number', '=', site_number)])
            return [o.id for o in orders]
        return self.step(read)

    def snapshot(self, order_id):
        def read():
            order = Pool().get('order_hub.order')(order_id)
            return {'promo_code': order.promo_code, 'total': order.total,
                'lines': [(l.product.template.code, l.quantity, l.unit_price,
                        l.discount) for l in order.lines]}
        return self.step(read)

    def new_order(self, **kwargs):
        placed = self.place(**kwargs)
        events = self.fetch()
        self.assertEqual([s for _, s, _ in events], ['done'])
        order_id, = self.hub_order(placed['account_number'])
        return placed, order_id

    # -- orders from the site -----------------------------------------------
    def test_site_order_becomes_one_hub_order(self):
        placed, order_id = self.new_order()
        expected = self.site_prices((1, 2))

        def check():
            order = Pool().get('order_hub.order')(order_id)
            self.assertEqual(order.state, 'awaiting_payment')
            self.assertEqual(order.state_string,
                "Подтвержден, ожидает оплаты")
            self.assertEqual(order.site_number, placed['account_number'])
            self.assertEqual(order.customer_name, "Иванова Мария Сергеевна")
            self.assertEqual(order.phone, '+79161234567')
            self.assertEqual(order.email, 'ivanova.m@example.ru')
            self.assertEqual(order.site_login, 'ivanova.m')
            self.assertEqual(order.loyalty_level, 'Серебряный')
            party = order.customer
            self.assertEqual(party.hub_site_login, 'ivanova.m')
            self.assertEqual(party.email, 'ivanova.m@example.ru')
            self.assertEqual(order.delivery_service, 'cdek_pickup')
            self.assertEqual(order.delivery_terms, '2–4 рабочих дня')
            self.assertEqual(order.delivery_cost, Decimal('350'))
            self.assertEqual(order.delivery_city.name, "Москва")
            self.assertIn('ул. Льва Толстого', order.delivery_address)
            self.assertEqual(order.payment_method, 'online')
            self.assertEqual(order.promo_code, 'ВЕСНА10')
            lines = [(l.quantity, l.unit_price, l.discount)
                for l in order.lines]
            self.assertEqual(lines, [(Decimal(q), p, d) for q, (p, d)
                    in zip((1, 2), expected)])
            self.assertEqual(lines[0][1:], (Decimal('6990'), Decimal('699')))
            self.assertEqual(order.total, Decimal(str(placed['price'])))
            self.assertTrue(any(e.source == 'site'
                    for e in order.action_logs))
        self.step(check)

    def test_site_order_sent_again_is_not_duplicated(self):
        placed, order_id = self.new_order()
        self.assertEqual(self.fetch(), [])     # confirmed: not sent again
        # a change on the site re-exports the order: same event, no new order
        self.site.edit_order(placed['id'], allow_delivery=True)
        events = self.fetch()
        self.assertEqual(len(events), 1)
        self.assertEqual(self.hub_order(placed['account_number']),
            [order_id])

        def replay():   # an administrator's «Повторить» re-applies it
            Inbox = Pool().get('hub_sync.inbox')
            event = Inbox(events[0][0])
            Inbox.replay([event])
        self.step(replay)
        self.step(lambda: Pool().get('hub_sync.inbox').process(
                [events[0][0]]))
        self.assertEqual(self.hub_order(placed['account_number']),
            [order_id])
        self.assertEqual(self.step(lambda: Pool().get(
                    'party.party').search_count(
                    [('hub_site_login', '=', 'ivanova.m')])), 1)

    def test_unknown_product_refuses_the_site_order(self):
        placed = self.site.place_order([{'product_xml_id':
                    '5f1b2c3d-2002-11ee-be56-0242ac120002', 'quantity': 1}])
        (event_id, state, _), = self.fetch()
        self.assertEqual(state, 'failed')
        self.assertEqual(self.hub_order(placed['account_number']), [])

        def journal():
            Journal = Pool().get('hub_sync.journal')
            entry, = Journal.search([('inbox', '=', event_id)])
            return entry.outcome, entry.summary
        outcome, summary = self.step(journal)
        self.assertEqual(outcome, 'refused')
        self.assertIn(f"Заказ сайта {placed['account_number']}", summary)
        self.assertIn('не найден в хабе', summary)

    # -- pricing through the site --------------------------------------------
    def change_quantity(self, order_id, index, quantity):
        def change():
            Order = Pool().get('order_hub.order')
            Line = Pool().get('order_hub.order.line')
            line = Order(order_id).lines[index]
            Line.write([line], {'quantity': Decimal(quantity)})
        self.step(change)

    def test_quantity_change_is_priced_by_the_site(self):
        _, order_id = self.new_order()
        self.change_quantity(order_id, 1, 3)
        expected = self.site_prices((1, 3))
        after = self.snapshot(order_id)
        self.assertEqual([l[2:] for l in after['lines']], expected)
        self.assertEqual(after['lines'][1][1], Decimal(3))
        # ВЕСНА10: 10 % of 890 per hat
        self.assertEqual(expected[1], (Decimal('890'), Decimal('267')))

    def test_expired_coupon_gives_the_site_message(self):
        _, order_id = self.new_order()
        before = self.snapshot(order_id)

        def apply_code():
            Order = Pool().get('order_hub.order')
            Order.write([Order(order_id)], {'promo_code': 'ЛЕТО2023'})
        with self.assertRaises(PromoCodeError) as cm:
            self.step(apply_code)
        self.assertIn('Срок действия промокода ЛЕТО2023 истёк',
            cm.exception.message)
        self.assertEqual(self.snapshot(order_id), before)

    def test_site_down_keeps_the_order_prices(self):
        _, order_id = self.new_order()
        before = self.snapshot(order_id)
        self.site.faults.add(kind='down', endpoint='*', count=5)
        with self.assertRaises(PricingUnavailable) as cm:
            self.change_quantity(order_id, 0, 2)
        self.assertIsInstance(cm.exception, UserError)
        self.assertIn('Сайт не ответил на запрос цен', cm.exception.message)
        self.assertIn('заказ сохраняет прежние цены', cm.exception.message)
        self.site.faults.clear()
        self.assertEqual(self.snapshot(order_id), before)
