"Set-up shared by the tests and benchmarks that talk to the UT11 simulator"
from decimal import Decimal

from trytond.modules.order_hub.tests.tools import CommittedSteps, HubTestCase
from trytond.pool import Pool

CITIES = [
    ("Москва", '55.755826', '37.617300'),
    ("Санкт-Петербург", '59.939095', '30.315868'),
    ("Казань", '55.796127', '49.106414'),
    ("Екатеринбург", '56.838011', '60.597474'),
    ("Новосибирск", '55.008353', '82.935733'),
    ("Тверь", '56.859611', '35.911896'),
    ]


def create_cities(names=None):
    City = Pool().get('order_hub.city')
    return City.create([{'name': n, 'latitude': Decimal(lat),
                'longitude': Decimal(lon)} for n, lat, lon in CITIES
            if names is None or n in names])


def ut11_system_values(sim, url, timeout=3):
    "A hub_sync.system for the simulator, with the references orders need"
    from sandbox.ut11 import stable_ref
    refs = sim.refs
    return {'code': 'ut11', 'name': "1С УТ11", 'base_url': url,
        'login': 'odata', 'password': 'odata', 'timeout': timeout,
        'ut11_organization': refs['org'],
        'ut11_partner': stable_ref('partner', 'retail'),
        'ut11_counterparty': stable_ref('cp', 'retail'),
        'ut11_agreement': refs['agreement'], 'ut11_currency': refs['rub'],
        'ut11_price_type': refs['retail'], 'ut11_vat_rate': refs['vat20'],
        'ut11_cancel_reason': stable_ref('cancel', 'Отказ клиента'),
        # the tests reserve by hand, as the manager's button does;
        # test_ut11 covers reserving on payment
        'ut11_reserve_on_payment': False}



class UT11SimulatorTestCase(CommittedSteps, HubTestCase):
    """The hub with the UT11 bridge, connected to a UT11 simulator of its
    own over real HTTP; each step is committed, as the queue and the web
    client would.  Subclasses load what they need in setUpClass."""
    modules = ['ut11_bridge']
    timeout = 3                 # seconds: the connection's timeout

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from sandbox.ut11 import UT11Simulator
        from trytond.modules.order_hub.tests.tools import setup_company
        from trytond.tests.test_tryton import DB_NAME
        from trytond.transaction import Transaction
        cls.sim = UT11Simulator()
        cls.url = cls.sim.start() + '/ut/odata/standard.odata'
        cls.addClassCleanup(cls.sim.stop)
        with Transaction().start(DB_NAME, 0) as transaction:
            cls.company = setup_company().id
            create_cities()
            Pool().get('hub_sync.system').create(
                [ut11_system_values(cls.sim, cls.url, timeout=cls.timeout)])
            transaction.commit()

    def setUp(self):
        super().setUp()
        self.sim.faults.clear()
