import time, unittest
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.modules.order_hub.tests.test_reservation import ReservationTestCase
from trytond.modules.order_hub.tests.tools import set_company, setup_company

class P(ReservationTestCase):
    @with_transaction()
    def test_fixture(self):
        for i in range(3):
            t = time.perf_counter()
            company = setup_company()
            t1 = time.perf_counter()
            with set_company(company):
                self.geography()
            t2 = time.perf_counter()
            print(f'\ncompany {t1-t:.2f} geography {t2-t1:.2f}')
del ReservationTestCase
