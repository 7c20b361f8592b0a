"""Stock per warehouse and nearest-warehouse reservation, as a manager and
shop staff meet them."""
import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import (
    HubTestCase, create_city, create_order, create_product, create_user,
    create_warehouse, set_company, set_stock, setup_company)

D = Decimal


class ReservationTestCase(HubTestCase):
    "Reservation behaviour"

    def geography(self):
        "Warehouses in Moscow, St Petersburg and Kazan; customers in Tver"
        self.moscow = create_city("Москва", 55.755826, 37.6173)
        self.spb = create_city("Санкт-Петербург", 59.939095, 30.315868)
        self.kazan = create_city("Казань", 55.796127, 49.106414)
        self.tver = create_city("Тверь", 56.859611, 35.911896)
        self.wh_moscow = create_warehouse("Магазин на Тверской", self.moscow,
            code='М01')
        self.wh_spb = create_warehouse("Магазин на Невском", self.spb,
            code='М03')
        self.wh_kazan = create_warehouse("Магазин на Баумана", self.kazan,
            code='М04')
        self.boots = create_product("Ботинки «Север»", '8990',
            sizes=('41', '42'))
        self.scarf, = create_product("Шарф шерстяной", '1990')

    def paid_order(self, lines, city=None, **values):
        Order = Pool().get('order_hub.order')
        order = create_order(lines, delivery_city=(city or self.tver).id,
            **values)
        Order.pay([order])
        return order

    def movements(self, order):
        Movement = Pool().get('order_hub.item.movement')
        return Movement.search([('order', '=', order.id)],
            order=[('id', 'ASC')])

    def free(self, product, warehouse):
        StockLevel = Pool().get('order_hub.stock')
        level, = StockLevel.search([
                ('product', '=', product.id),
                ('warehouse', '=', warehouse.id)])
        return level.free_quantity

    @with_transaction()
    def test_nearest_first_with_split(self):
        Order = Pool().get('order_hub.order')
        with set_company(setup_company()):
            self.geography()
            boots = self.boots[1]
            set_stock(boots, self.wh_moscow, 2)
            set_stock(boots, self.wh_spb, 10)
            set_stock(boots, self.wh_kazan, 10)
            order = self.paid_order([(boots, 5)])

            Order.reserve([order])

            self.assertEqual(order.state, 'assembling')
            # the transition is in the order's log («Журнал»), as Tryton
            # writes it
            Log = Pool().get('ir.model.log')
            log, = Log.search([('resource', '=', str(order)),
                    ('event', '=', 'transition'),
                    ('target', '=', 'state:assembling')])
            self.assertEqual(log.resource, order)
            self.assertEqual(log.user.id, Transaction().user)
            line, = order.lines
            held = [(r.warehouse, r.quantity) for r in line.reservations]
            self.assertEqual(held, [(self.wh_moscow, 2), (self.wh_spb, 3)])
            self.assertEqual(line.reserved_where, "М01: 2, М03: 3")
            self.assertEqual(line.missing_quantity, 0)
            first, second = line.reservations
            self.assertIn("ближайший", first.reason)
            self.assertIn(str(first.distance), first.reason)
            self.assertLess(first.distance, second.distance)
            self.assertEqual(first.status_string, "Собирается")
            self.assertEqual(self.free(boots, self.wh_moscow), 0)
            self.assertEqual(self.free(boots, self.wh_spb), 7)
            self.assertIsNone(order.reservation_shortage)

    @with_transaction()
    def test_names_in_logs_are_the_rec_names(self):
        "Reservations write the names the ORM gives, translations included"
        pool = Pool()
        Reservation = pool.get('order_hub.reservation')
        Product = pool.get('product.product')
        Location = pool.get('stock.location')
        Template = pool.get('product.template')
        with set_company(setup_company()):
            self.geography()
            plain = create_warehouse("Склад без кода", self.moscow)
            odd, = create_product("Куртка", '5990', sizes=('XL',))
            odd.suffix_code = '-7'    # a code not ending in the size
            odd.save()
            nameless, = create_product("Носки", '290')
            nameless.template.code = None
            nameless.template.save()
            translated = self.scarf.template
            # the database's language first: writing it marks the other
            # languages' translations fuzzy
            for language in ('ru', 'en'):
                with Transaction().set_context(language=language):
                    Template.write([Template(translated.id)],
                        {'name': f"Шарф ({language})"})
                    Location.write([Location(plain.id)],
                        {'name': f"Склад ({language})"})
            products = [*self.boots, self.scarf, odd, nameless]
            warehouses = [self.wh_moscow, self.wh_spb, plain]
            for language in ('ru', 'en'):
                with Transaction().set_context(language=language):
                    names = Reservation.rec_names(
                        [self.scarf.id], [plain.id])
                    self.assertEqual(names, (
                            {self.scarf.id: f"[{self.scarf.code}] "
                                f"Шарф ({language})"},
                            {plain.id: f"Склад ({language})"}))
                    self.assertEqual(Reservation.rec_names(
                            [p.id for p in products],
                            [w.id for w in warehouses]), (
                            {p.id: p.rec_name
                                for p in Product.browse(products)},
                            {w.id: w.rec_name
                                for w in Location.browse(warehouses)}))

    @with_transaction()
    def test_stock_update_from_1c_keeps_reservations(self):
        "New figures from 1C replace the quantity, not the hub's reserve"
        pool = Pool()
        Order = pool.get('order_hub.order')
        StockLevel = pool.get('order_hub.stock')
        with set_company(setup_company()):
            self.geography()
            set_stock(self.scarf, self.wh_moscow, 5)
            order = self.paid_order([(self.scarf, 2)])
            Order.reserve([order])
            when = dt.datetime(2026, 11, 28, 10, 0)
            rows = ((p.id, w.id, 7) for p in [self.scarf, self.boots[0]]
                for w in (self.wh_moscow, self.wh_kazan))
            self.assertEqual(
                StockLevel.set_levels(rows, source='ut11', when=when), 4)
            level, = StockLevel.search([('product', '=', self.scarf.id),
                    ('warehouse', '=', self.wh_moscow.id)])
            self.assertEqual((level.quantity, level.reserved_quantity,
                    level.free_quantity), (7, 2, 5))
            self.assertEqual((level.source, level.updated_at),
                ('ut11', when))
            self.assertEqual(StockLevel.search_count(
                    [('product', '=', self.boots[0].id)]), 2)

    @with_transaction()
    def test_figures_read_before_a_push_do_not_undo_it(self):
        """1C's figures read before 1C took an order's reserve would count
        that reserve as free again: the hub keeps its adjusted figure"""
        StockLevel = Pool().get('order_hub.stock')
        with set_company(setup_company()):
            self.geography()
            set_stock(self.scarf, self.wh_moscow, 5)
            read_before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            # the push: 1C now reserves 2 of them
            StockLevel.shift_quantities(
                [(self.scarf.id, self.wh_moscow.id, -2)])
            stale = [(self.scarf.id, self.wh_moscow.id, 5)]
            self.assertEqual(StockLevel.set_levels(stale, read_at=read_before),
                0)
            self.assertEqual(self.free(self.scarf, self.wh_moscow), 3)
            # figures read after the push are taken
            read_after = read_before + dt.timedelta(seconds=5)
            fresh = [(self.scarf.id, self.wh_moscow.id, 4)]
            self.assertEqual(StockLevel.set_levels(fresh, read_at=read_after),
                1)
            self.assertEqual(self.free(self.scarf, self.wh_moscow), 4)

    @with_transaction()
    def test_full_load_zeroes_what_the_source_no_longer_lists(self):
        """A source that lists only what it holds says "none" by leaving a
        row out: after a full load, what it did not report is zero — unless
        somebody wrote a newer figure since the load read its own"""
        StockLevel = Pool().get('order_hub.stock')
        with set_company(setup_company()):
            self.geography()
            first = dt.datetime(2026, 11, 28, 10, 0)
            keys = [(p.id, w.id) for p in [self.scarf, self.boots[0]]
                for w in (self.wh_moscow, self.wh_kazan)]
            mark = StockLevel.next_load_mark()
            StockLevel.set_levels(((p, w, 7) for p, w in keys),
                source='ut11', when=first, mark=mark)
            # the next full load reads at 12:00 and lists the scarf only;
            # a refresh of changed stock wrote boots in Kazan at 12:00:30
            read_at = dt.datetime(2026, 11, 28, 12, 0, 0, 400000)
            StockLevel.set_levels([(self.boots[0].id, self.wh_kazan.id, 3)],
                source='ut11', when=read_at + dt.timedelta(seconds=30))
            second = StockLevel.next_load_mark()
            self.assertGreater(second, mark)
            StockLevel.set_levels(((p, w, 6) for p, w in keys
                    if p == self.scarf.id),
                source='ut11', when=read_at + dt.timedelta(seconds=60),
                read_at=read_at, mark=second)
            self.assertEqual(StockLevel.zero_unreported('ut11',
                    [self.wh_moscow.id, self.wh_kazan.id], second,
                    read_at=read_at), 1)
            quantities = {(l.product.id, l.warehouse.id): l.quantity
                for l in StockLevel.search([])}
            self.assertEqual(quantities, {
                    (self.scarf.id, self.wh_moscow.id): 6,
                    (self.scarf.id, self.wh_kazan.id): 6,
                    (self.boots[0].id, self.wh_moscow.id): 0,
                    (self.boots[0].id, self.wh_kazan.id): 3,
                    })
            # another source's levels are not the load's business
            StockLevel.set_levels([(self.boots[1].id, self.wh_moscow.id, 2)],
                source='manual', when=first)
            self.assertEqual(StockLevel.zero_unreported('ut11',
                    [self.wh_moscow.id], StockLevel.next_load_mark(),
                    read_at=read_at), 0)

    @with_transaction()
    def test_delivery_city_decides(self):
        Order = Pool().get('order_hub.order')
        with set_company(setup_company()):
            self.geography()
            boots = self.boots[0]
            for warehouse in (self.wh_moscow, self.wh_spb, self.wh_kazan):
                set_stock(boots, warehouse, 5)
            to_kazan = self.paid_order([(boots, 1)], city=self.kazan)
            pickup_spb = self.paid_order([(boots, 1)],
                delivery_service='pickup', pickup_shop=self.wh_spb.id)
            Order.reserve([to_kazan, pickup_spb])
            self.assertEqual(to_kazan.reservations[0].warehouse, self.wh_kazan)
            self.assertEqual(to_kazan.reservations[0].distance, 0)
            self.assertEqual(
                pickup_spb.reservations[0].warehouse, self.wh_spb)

    @with_transaction()
    def test_no_stock_reports_all_short_lines(self):
        Order = Pool().get('order_hub.order')
        ActionLog = Pool().get('order_hub.action_log')
        with set_company(setup_company()):
            self.geography()
            set_stock(self.boots[0], self.wh_kazan, 1)
            order = self.paid_order([(self.boots[0], 3), (self.scarf, 2)])
            Order.reserve([order])
            shortage = order.reservation_shortage
            self.assertIn("Ботинки «Север»", shortage)
            self.assertIn("-41]", shortage)
            self.assertIn("2\u00a0шт", shortage.replace(' шт', '\u00a0шт'))
            self.assertIn("Шарф шерстяной", shortage)
            by_line = {l.product: l.missing_quantity for l in order.lines}
            self.assertEqual(by_line, {self.boots[0]: 2, self.scarf: 2})
            entries = ActionLog.search([('order', '=', order.id),
                    ('kind', '=', 'reservation')])
            self.assertTrue(any("Шарф" in e.description
                    and "Ботинки" in e.description for e in entries))

    @with_transaction()
    def test_nothing_reserved_keeps_paid(self):
        Order = Pool().get('order_hub.order')
        with set_company(setup_company()):
            self.geography()
            order = self.paid_order([(self.scarf, 1)])
            Order.reserve([order])
            self.assertEqual(order.state, 'paid')
            self.assertEqual(order.lines[0].missing_quantity, 1)

    @with_transaction()
    def test_reserve_without_city_refused(self):
        Order = Pool().get('order_hub.order')
        with set_company(setup_company()):
            self.geography()
            order = create_order([(self.scarf, 1)])
            Order.pay([order])
            with self.assertRaises(UserError) as cm:
                Order.reserve([order])
            self.assertIn(order.number, cm.exception.message)
            self.assertIn("город", cm.exception.message)

    @with_transaction()
    def test_second_order_gets_what_is_left(self):
        Order = Pool().get('order_hub.order')
        with set_company(setup_company()):
            self.geography()
            set_stock(self.scarf, self.wh_moscow, 3)
            first = self.paid_order([(self.scarf, 2)])
            second = self.paid_order([(self.scarf, 2)])
            Order.reserve([first])
            Order.reserve([second])
            self.assertEqual(second.lines[0].reserved_quantity, 1)
            self.assertEqual(second.lines[0].missing_quantity, 1)
            self.assertEqual(self.free(self.scarf, self.wh_moscow), 0)

    @with_transaction()
    def test_move_within_free_stock(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        with set_company(setup_company()):
            self.geography()
            boots = self.boots[1]
            set_stock(boots, self.wh_moscow, 3)
            set_stock(boots, self.wh_kazan, 1)
            order = self.paid_order([(boots, 3)])
            Order.reserve([order])
            reservation, = order.reservations

            with self.assertRaises(UserError) as cm:
                reservation.move(self.wh_kazan, D(2))
            self.assertIn("Магазин на Баумана", cm.exception.message)
            self.assertIn("1", cm.exception.message)

            target = reservation.move(self.wh_kazan, D(1))
            self.assertEqual(reservation.quantity, 2)
            self.assertEqual((target.warehouse, target.quantity),
                (self.wh_kazan, 1))
            self.assertIn("Магазин на Тверской", target.reason)
            self.assertEqual(self.free(boots, self.wh_moscow), 1)
            self.assertEqual(self.free(boots, self.wh_kazan), 0)
            moved = [m for m in self.movements(order)
                if "Магазин на Баумана" in m.description]
            self.assertEqual({m.location for m in moved},
                {self.wh_moscow, self.wh_kazan})

            for bad in (D(0), D(5), D('1.5')):
                with self.assertRaises(UserError):
                    reservation.move(self.wh_spb, bad)
            with self.assertRaises(UserError):
                reservation.move(self.wh_moscow, D(1))

    @with_transaction()
    def test_release(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Reservation = pool.get('order_hub.reservation')
        with set_company(setup_company()):
            self.geography()
            set_stock(self.scarf, self.wh_spb, 4)
            order = self.paid_order([(self.scarf, 3)])
            Order.reserve([order])
            Reservation.release(list(order.reservations))
            self.assertEqual(self.free(self.scarf, self.wh_spb), 4)
            self.assertEqual(order.lines[0].reserved_quantity, 0)
            released = Reservation.search([('order', '=', order.id),
                    ('active', '=', False)])
            self.assertEqual(len(released), 1)
            self.assertIn("снят", self.movements(order)[-1].description)

    @with_transaction()
    def test_cancel_releases(self):
        Order = Pool().get('order_hub.order')
        with set_company(setup_company()):
            self.geography()
            set_stock(self.scarf, self.wh_spb, 4)
            order = self.paid_order([(self.scarf, 3)])
            Order.reserve([order])
            Order.cancel([order])
            self.assertEqual(self.free(self.scarf, self.wh_spb), 4)

    @with_transaction()
    def test_line_edits_adjust_reservations(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Line = pool.get('order_hub.order.line')
        with set_company(setup_company()):
            self.geography()
            size41, size42 = self.boots
            set_stock(size41, self.wh_moscow, 2)
            set_stock(size41, self.wh_kazan, 5)
            set_stock(size42, self.wh_spb, 5)
            set_stock(self.scarf, self.wh_moscow, 5)
            order = self.paid_order([(size41, 4), (self.scarf, 1)])
            Order.reserve([order])
            boots, scarf = order.lines
            self.assertEqual(boots.reserved_where, "М01: 2, М04: 2")

            # quantity down releases the farthest first
            Line.write([boots], {'quantity': D(3)})
            self.assertEqual(boots.reserved_where, "М01: 2, М04: 1")
            self.assertEqual(self.free(size41, self.wh_kazan), 4)

            # quantity up reserves more in an order being assembled
            Line.write([boots], {'quantity': D(5)})
            self.assertEqual(boots.reserved_where, "М01: 2, М04: 3")

            # another size releases the old and reserves the new one
            Line.write([boots], {'product': size42.id})
            self.assertEqual(boots.reserved_where, "М03: 5")
            self.assertEqual(self.free(size41, self.wh_moscow), 2)
            self.assertEqual(self.free(size41, self.wh_kazan), 5)

            # removing the line releases its items, with a trace
            Line.delete([scarf])
            self.assertEqual(self.free(self.scarf, self.wh_moscow), 5)
            self.assertIn("удал", self.movements(order)[-1].description)

    @with_transaction()
    def test_movement_log_filters(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Movement = pool.get('order_hub.item.movement')
        with set_company(setup_company()):
            self.geography()
            set_stock(self.scarf, self.wh_moscow, 1)
            set_stock(self.scarf, self.wh_spb, 5)
            order = self.paid_order([(self.scarf, 3)])
            Order.reserve([order])
            entries = self.movements(order)
            self.assertEqual(len(entries), 2)
            entry = entries[0]
            self.assertEqual(entry.user.login, 'admin')
            self.assertEqual(entry.status, 'assembling')
            self.assertIn("3", entries[1].description + entries[0].description)
            self.assertEqual(Movement.search_count([
                        ('location', '=', self.wh_spb.id),
                        ('status', '=', 'assembling')]), 1)
            now = dt.datetime.now()
            self.assertEqual(Movement.search_count([
                        ('date', '>=', now - dt.timedelta(hours=1)),
                        ('date', '<=', now + dt.timedelta(hours=1))]), 2)
            self.assertEqual(Movement.search_count([
                        ('date', '<', now - dt.timedelta(days=1))]), 0)
            with self.assertRaises(UserError):
                Movement.write([entry], {'description': "подделка"})

    @with_transaction()
    def test_reservations_change_only_through_actions(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Reservation = pool.get('order_hub.reservation')
        with set_company(setup_company()):
            self.geography()
            set_stock(self.scarf, self.wh_moscow, 5)
            order = self.paid_order([(self.scarf, 1)])
            Order.reserve([order])
            reservation, = order.reservations
            with Transaction().set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Reservation.write([reservation], {'quantity': D(5)})

    @with_transaction()
    def test_shop_staff_see_only_their_shop(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Reservation = pool.get('order_hub.reservation')
        Movement = pool.get('order_hub.item.movement')
        with set_company(setup_company()):
            self.geography()
            set_stock(self.scarf, self.wh_moscow, 1)
            set_stock(self.scarf, self.wh_spb, 5)
            moscow_only = self.paid_order([(self.boots[0], 1)],
                delivery_service='pickup', pickup_shop=self.wh_moscow.id)
            order = self.paid_order([(self.scarf, 3)])
            Order.reserve([order])
            spb_reservation, = [r for r in order.reservations
                if r.warehouse == self.wh_spb]
            clerk = create_user('shop.tverskaya', ['group_shop'],
                [self.wh_moscow])

            with Transaction().set_user(clerk.id), \
                    Transaction().set_context(_check_access=True):
                visible = Reservation.search([])
                self.assertEqual({r.warehouse for r in visible},
                    {self.wh_moscow})
                self.assertEqual(
                    {m.location for m in Movement.search([])},
                    {self.wh_moscow})
                self.assertEqual({o.id for o in Order.search([])},
                    {order.id, moscow_only.id})
                with self.assertRaises(AccessError):
                    Reservation.read([spb_reservation.id], ['quantity'])
                with self.assertRaises(AccessError):
                    Reservation.release([Reservation(spb_reservation.id)])


del HubTestCase
