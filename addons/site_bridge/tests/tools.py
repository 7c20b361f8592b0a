"""The site and the hub in tests: both simulators (UT11 for the catalogue,
the 1C-Bitrix site) over real HTTP, the site connection with its exchange
user and REST webhook, pricing by the site, and the committed steps the
scenarios are made of."""
from decimal import Decimal

from trytond.modules.order_hub.tests.tools import (
    CommittedSteps, HubTestCase, setup_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from sandbox.bitrix_site import BitrixSiteSimulator  # noqa: E402
from sandbox.ut11 import UT11Simulator, stable_ref  # noqa: E402
from trytond.modules.ut11_bridge.tests.tools import (  # noqa: E402
    create_cities, ut11_system_values)

BASE_PRICE_TYPE = 'bd72d90c-55bc-11d9-848a-00112f43529a'
SITE_SECTION = 'f0e1d2c3-0001-11ee-8c90-0242ac120002'
SNEAKERS = ('КР-1001', '42')
SNEAKERS_43 = ('КР-1001', '43')
HAT = ('АК-9001', None)


class SiteScenario(CommittedSteps, HubTestCase):
    "A hub with the site bridge, the UT11 catalogue and the site simulator"
    # the catalogue comes from 1C, as in production; site_bridge itself
    # works without ut11_bridge (test_module activates it alone)
    modules = ['site_bridge', 'ut11_bridge']

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
                        'password': cls.site.password, 'timeout': 3,
                        'token': f'{cls.site.webhook_user}/'
                        f'{cls.site.webhook_code}'}])
            # the simulator's delivery services and payment systems
            Pool().get('site_bridge.mapping').create_sandbox_mappings()
            transaction.commit()
        cls.step(lambda: Pool().get('ut11_bridge.loader').load())
        cls.xml_ids = cls.step(lambda: {key: cls._xml_id(*key)
                for key in (SNEAKERS, SNEAKERS_43, HAT)})
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
        ref = product.template.external_ref
        assert ref == stable_ref('item', article)
        if product.external_variant_ref:
            return f'{ref}#{product.external_variant_ref}'
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
            for (article, size), price in ((SNEAKERS, 6990),
                    (SNEAKERS_43, 6990), (HAT, 890)):
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
        # the earlier tests' orders, changed on the site by the hub, are not
        # this test's business: as if the cron had already fetched them
        with self.site.lock:
            for order in self.site.orders.values():
                order['updated1c'] = 'Y'

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
