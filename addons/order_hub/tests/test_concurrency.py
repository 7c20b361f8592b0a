"""Two managers cannot reserve the same last units (PostgreSQL only).

Several processes reserve orders for the same scarce goods at the same
moment, round after round, each retrying as Tryton's RPC layer does when a
transaction loses a lock race.  The reserved total must never exceed stock.
"""
import unittest
from decimal import Decimal

from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .concurrency import run_in_processes
from .tools import (
    HubTestCase, create_city, create_order, create_product, create_warehouse,
    set_company, set_stock, setup_company)

PROCESSES = 4
ROUNDS = 15
STOCK = 3          # units of each round's product, over two warehouses
WANTED = 2         # units each process's order wants


def reserve(order_id):
    "One manager reserves an order"
    Order = Pool().get('order_hub.order')
    Order.reserve([Order(order_id)])


@unittest.skipUnless(backend.name == 'postgresql', "needs row locks")
class ConcurrencyTestCase(HubTestCase):
    "Never oversell"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company, cls.rounds = cls.prepare()

    @classmethod
    @with_transaction()
    def prepare(cls):
        "Committed data: per round a product and one order per process"
        Order = Pool().get('order_hub.order')
        company = setup_company()
        with set_company(company):
            moscow = create_city("Москва", 55.755826, 37.6173)
            kazan = create_city("Казань", 55.796127, 49.106414)
            near = create_warehouse("Магазин на Тверской", moscow)
            far = create_warehouse("Магазин на Баумана", kazan)
            rounds = []
            for r in range(ROUNDS):
                product, = create_product(f"Последний товар {r}", '990')
                set_stock(product, near, 2)
                set_stock(product, far, STOCK - 2)
                orders = [create_order([(product, WANTED)],
                        delivery_city=moscow.id) for _ in range(PROCESSES)]
                Order.pay(orders)
                rounds.append((product.id, [o.id for o in orders]))
            Transaction().commit()
        return company.id, rounds

    @with_transaction()
    def test_concurrent_reservations_never_oversell(self):
        pool = Pool()
        Reservation = pool.get('order_hub.reservation')
        StockLevel = pool.get('order_hub.stock')
        outcomes = run_in_processes(self.company, reserve, None,
            per_process=[[orders[p] for _, orders in self.rounds]
                for p in range(PROCESSES)])
        self.assertNotIn(None, [o for _, o, _ in outcomes],
            "a reservation gave up after 50 lock retries")
        self.assertEqual({o for _, o, _ in outcomes}, {'done'})
        Transaction().rollback()  # see what the processes committed
        for product, orders in self.rounds:
            reserved = sum(r.quantity for r in Reservation.search([
                        ('product', '=', product), ('active', '=', True)]))
            self.assertEqual(reserved, STOCK, f"product {product}")
            levels = StockLevel.search([('product', '=', product)])
            self.assertEqual(
                [l.free_quantity for l in levels], [Decimal(0)] * 2)
            self.assertEqual(
                sum(l.reserved_quantity for l in levels), STOCK)


del HubTestCase
