"""The order as a manager meets it: creation, line edits, promo codes,
totals, the action log and bad input."""
import datetime as dt
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from ..exceptions import LineValidationError
from .tools import (
    HubTestCase, create_category, create_order, create_product, create_promotion,
    set_company, setup_company)

D = Decimal


def log_of(order, kind=None):
    ActionLog = Pool().get('order_hub.action_log')
    domain = [('order', '=', order.id)]
    if kind:
        domain.append(('kind', '=', kind))
    return [e.description for e in ActionLog.search(domain, order=[('id', 'ASC')])]


class OrderTestCase(HubTestCase):
    "Order behaviour"

    def catalogue(self):
        shoes = create_category("Обувь")
        self.sneakers = create_product(
            "Кроссовки беговые", '5990', sizes=('41', '42', '43'),
            category=shoes, prices={'43': '6490'})
        self.tshirt, = create_product("Футболка хлопковая", '1490')
        self.jacket, = create_product("Куртка демисезонная", '12990')

    # -- creation and totals ------------------------------------------------
    @with_transaction()
    def test_create_order_prices_and_logs(self):
        "A new order gets a number, the status, current prices and totals"
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.sneakers[1], 1), (self.tshirt, 2)],
                delivery_cost=D('350'))

            self.assertTrue(order.number.startswith('ЗК-'))
            self.assertEqual(order.state, 'awaiting_payment')
            self.assertEqual(order.state_string, "Подтвержден, ожидает оплаты")
            self.assertEqual([l.unit_price for l in order.lines],
                [D('5990'), D('1490')])
            self.assertEqual(order.total_without_discount, D('8970'))
            self.assertEqual(order.discount_total, D('0'))
            self.assertEqual(order.total, D('9320'))
            log = log_of(order)
            self.assertEqual(len(log), 1)
            self.assertIn("2", log[0])
            self.assertIn("9\u00a0320,00\u00a0₽", log[0])

    @with_transaction()
    def test_delivery_cost_changes_total(self):
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 1)])
            order.delivery_cost = D('490')
            order.save()
            self.assertEqual(order.total, D('1980'))
            self.assertTrue(any("490" in e for e in log_of(order, 'field')))
            self.assertIn("1\u00a0490,00\u00a0₽ → 1\u00a0980,00\u00a0₽",
                log_of(order, 'pricing')[-1])

    @with_transaction()
    def test_search_box_finds_number_name_and_phone_in_any_form(self):
        """The order list's search: the number, the site's number, part of
        the name, the phone however it is typed; a phone edit follows"""
        Order = Pool().get('order_hub.order')
        with set_company(setup_company()):
            self.catalogue()
            mine = create_order([(self.tshirt, 1)],
                customer_name="Смирнова Ольга", phone='+7 (916) 123-45-67',
                site_number='10234')
            other = create_order([(self.tshirt, 1)],
                customer_name="Кузнецов Иван", phone='8 903 000 11 22')

            def found(text):
                return Order.search([('rec_name', 'ilike', f'%{text}%')])
            for text in ['8 916 123-45-67', '+79161234567', '9161234567',
                    'Смирнова', '10234', mine.number]:
                self.assertEqual(found(text), [mine], text)
            self.assertEqual(found('+7 903 000-11-22'), [other])
            self.assertEqual(mine.phone_key, '+79161234567')
            self.assertEqual(
                Order.search([('rec_name', 'not ilike', f'%{mine.number}%'),
                        ('id', 'in', [mine.id, other.id])]), [other])

            Order.write([mine], {'phone': '8-999-765-43-21'})
            self.assertEqual(found('+7 999 765 43 21'), [mine])
            self.assertEqual(found('8 916 123-45-67'), [])

    # -- line edits ------------------------------------------------------------
    @with_transaction()
    def test_change_quantity_reprices(self):
        Line = Pool().get('order_hub.order.line')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 1)])
            line, = order.lines
            Line.write([line], {'quantity': D(3)})
            self.assertEqual(order.total, D('4470'))
            entry, = log_of(order, 'line_changed')
            self.assertIn("1 → 3", entry)

    @with_transaction()
    def test_change_size_uses_variant_price(self):
        Line = Pool().get('order_hub.order.line')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.sneakers[1], 1)])
            line, = order.lines
            Line.write([line], {'product': self.sneakers[2].id})
            self.assertEqual(line.unit_price, D('6490'))
            self.assertEqual(order.total, D('6490'))
            entry, = log_of(order, 'line_changed')
            self.assertIn("42 → 43", entry)
            self.assertTrue(any("6\u00a0490,00" in e
                    for e in log_of(order, 'pricing')))

    @with_transaction()
    def test_replace_product(self):
        Line = Pool().get('order_hub.order.line')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 2)])
            line, = order.lines
            Line.write([line], {'product': self.jacket.id})
            self.assertEqual(order.total, D('25980'))
            entry, = log_of(order, 'line_changed')
            self.assertIn("Футболка хлопковая", entry)
            self.assertIn("Куртка демисезонная", entry)

    @with_transaction()
    def test_remove_and_add_lines(self):
        pool = Pool()
        Line = pool.get('order_hub.order.line')
        Order = pool.get('order_hub.order')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 1), (self.jacket, 1)])
            Line.delete([l for l in order.lines if l.product == self.jacket])
            self.assertEqual(order.total, D('1490'))
            self.assertIn("Куртка демисезонная", log_of(order, 'line_removed')[0])

            Order.write([order], {'lines': [('create', [
                                {'product': self.sneakers[0].id,
                                    'quantity': D(1)}])]})
            self.assertEqual(order.total, D('7480'))
            self.assertIn(self.sneakers[0].rec_name,
                log_of(order, 'line_added')[0])
            self.assertIn("-41] Кроссовки беговые", self.sneakers[0].rec_name)

    @with_transaction()
    def test_current_price_applies_on_edit(self):
        "An edit re-prices the basket at the current prices"
        pool = Pool()
        Line = pool.get('order_hub.order.line')
        Template = pool.get('product.template')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 1), (self.jacket, 1)])
            Template.write([self.jacket.template], {'list_price': D('9990')})
            Line.write([l for l in order.lines if l.product == self.tshirt],
                {'quantity': D(2)})
            self.assertEqual(order.total, D('2980') + D('9990'))
            self.assertTrue(any("12\u00a0990,00\u00a0₽ → 9\u00a0990,00\u00a0₽" in e
                    for e in log_of(order, 'pricing')))

    # -- promotions ----------------------------------------------------------
    @with_transaction()
    def test_promo_code_percent(self):
        with set_company(setup_company()):
            self.catalogue()
            create_promotion("Осенняя распродажа", '10', codes=['OSEN10'])
            order = create_order([(self.tshirt, 2), (self.jacket, 1)])
            order.promo_code = ' osen10 '
            order.save()
            self.assertEqual(order.promo_code, 'OSEN10')
            self.assertEqual(order.discount_total, D('1597'))
            self.assertEqual(order.total, D('14373'))
            self.assertEqual(
                [l.promotion.name for l in order.lines],
                ["Осенняя распродажа"] * 2)
            self.assertIn("OSEN10", log_of(order, 'promo_code')[0])

    @with_transaction()
    def test_promo_code_fixed_spread_over_category(self):
        with set_company(setup_company()):
            self.catalogue()
            shoes = self.sneakers[0].template.categories[0]
            create_promotion("Минус 1000 на обувь", '1000', kind='fixed',
                codes=['SHOES'], categories=[('add', [shoes.id])])
            order = create_order([(self.sneakers[0], 1),
                    (self.sneakers[2], 1), (self.tshirt, 1)])
            order.promo_code = 'SHOES'
            order.save()
            discounts = [l.discount for l in order.lines]
            self.assertEqual(sum(discounts), D('1000'))
            self.assertEqual(discounts[2], D('0'))
            self.assertEqual(discounts[:2], [D('479.97'), D('520.03')])

    @with_transaction()
    def test_remove_promo_code(self):
        with set_company(setup_company()):
            self.catalogue()
            create_promotion("Минус 5%", '5', codes=['MINUS5'])
            order = create_order([(self.jacket, 1)], promo_code='MINUS5')
            self.assertEqual(order.discount_total, D('649.50'))
            order.promo_code = None
            order.save()
            self.assertEqual(order.discount_total, D('0'))
            self.assertIn("MINUS5", log_of(order, 'promo_code')[-1])

    def assertPromoRefused(self, order, code, *fragments):
        """The code is refused with a Russian message.

        (That the refused write leaves nothing behind is checked in the
        scenario, where each call has its own transaction.)"""
        Order = Pool().get('order_hub.order')
        with self.assertRaises(UserError) as cm:
            Order.write([order], {'promo_code': code})
        for fragment in fragments:
            self.assertIn(fragment, cm.exception.message)

    @with_transaction()
    def test_promo_code_refusals(self):
        Date = Pool().get('ir.date')
        today = Date.today()
        with set_company(setup_company()):
            self.catalogue()
            create_promotion("Летняя", '15', codes=['LETO'],
                end_date=today - dt.timedelta(days=1))
            create_promotion("Зимняя", '15', codes=['ZIMA'],
                start_date=today + dt.timedelta(days=10))
            create_promotion("От 20 000", '10', codes=['BIG'],
                min_amount=D('20000'))
            create_promotion("Только куртки", '10', codes=['JACKET'],
                products=[('add', [self.jacket.id])])
            order = create_order([(self.tshirt, 1)])

            self.assertPromoRefused(order, 'NOPE', 'NOPE', 'не существует')
            self.assertPromoRefused(order, 'LETO', 'LETO', 'истек',
                (today - dt.timedelta(days=1)).strftime('%d.%m.%Y'))
            self.assertPromoRefused(order, 'ZIMA', 'ZIMA', 'действует с')
            self.assertPromoRefused(order, 'BIG', 'BIG', '20\u00a0000,00\u00a0₽',
                '1\u00a0490,00\u00a0₽')
            self.assertPromoRefused(order, 'JACKET', 'JACKET',
                'не распространяется')

    @with_transaction()
    def test_promo_code_usage_limit(self):
        with set_company(setup_company()):
            self.catalogue()
            create_promotion("Первый заказ", '10',
                codes=[{'code': 'FIRST', 'usage_limit': 1}])
            first = create_order([(self.tshirt, 1)], promo_code='FIRST')
            self.assertEqual(first.discount_total, D('149'))
            second = create_order([(self.tshirt, 1)])
            self.assertPromoRefused(second, 'FIRST', 'FIRST', '(1)')

            # a cancelled order gives its use back
            first.__class__.cancel([first])
            second.promo_code = 'FIRST'
            second.save()
            self.assertEqual(second.discount_total, D('149'))

    @with_transaction()
    def test_automatic_promotion_best_discount_wins(self):
        with set_company(setup_company()):
            self.catalogue()
            create_promotion("Всё −5%", '5')
            create_promotion("Куртки −20%", '20',
                products=[('add', [self.jacket.id])])
            order = create_order([(self.tshirt, 1), (self.jacket, 1)])
            by_product = {l.product: l for l in order.lines}
            self.assertEqual(by_product[self.tshirt].discount, D('74.50'))
            self.assertEqual(by_product[self.jacket].discount, D('2598'))
            self.assertEqual(by_product[self.jacket].promotion.name,
                "Куртки −20%")

    @with_transaction()
    def test_edit_below_minimum_drops_discount(self):
        "A line edit that breaks the code's condition keeps the edit"
        Line = Pool().get('order_hub.order.line')
        with set_company(setup_company()):
            self.catalogue()
            create_promotion("От 10 000", '10', codes=['BIG'],
                min_amount=D('10000'))
            order = create_order([(self.jacket, 1)], promo_code='BIG')
            self.assertEqual(order.discount_total, D('1299'))
            line, = order.lines
            Line.write([line], {'product': self.tshirt.id})
            self.assertEqual(order.discount_total, D('0'))
            self.assertEqual(order.promo_code, 'BIG')
            self.assertIn('10\u00a0000,00\u00a0₽', order.promo_note)
            self.assertIn(order.promo_note, log_of(order, 'promo_code'))

    # -- action log ----------------------------------------------------------
    @with_transaction()
    def test_field_and_status_changes_logged(self):
        Order = Pool().get('order_hub.order')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 1)],
                delivery_service='cdek_pickup')
            Order.write([order], {
                    'phone': '+7 900 000-00-00',
                    'delivery_service': 'russian_post'})
            Order.pay([order])
            fields = log_of(order, 'field')
            self.assertIn("+7 916 123-45-67 → +7 900 000-00-00", fields[0])
            self.assertIn("Телефон", fields[0])
            self.assertTrue(any("Почта России" in e for e in fields))
            status, = log_of(order, 'status')
            self.assertIn("Подтвержден, ожидает оплаты → Оплачен", status)

    @with_transaction()
    def test_log_names_user_or_system(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        ActionLog = pool.get('order_hub.action_log')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 1)])
            # integrations add their own sources (ut11_bridge tests them)
            with Transaction().set_context(hub_source='system'):
                Order.write([order], {'comment': "Резерв подтверждён"})
            entry, = ActionLog.search([
                    ('order', '=', order.id), ('kind', '=', 'field')])
            self.assertEqual(entry.source, 'system')
            self.assertEqual(entry.actor, "Система")
            self.assertEqual(
                [s for s, _ in ActionLog.fields_get(['source'])['source'][
                        'selection']], ['hub', 'system'])
            created, = ActionLog.search([
                    ('order', '=', order.id), ('kind', '=', 'created')])
            self.assertEqual(created.actor, created.user.rec_name)
            self.assertEqual(created.source, 'hub')

    @with_transaction()
    def test_action_log_is_read_only(self):
        ActionLog = Pool().get('order_hub.action_log')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 1)])
            entry, = ActionLog.search([('order', '=', order.id)])
            with self.assertRaises(UserError) as cm:
                ActionLog.write([entry], {'description': "подделка"})
            self.assertIn("нельзя", cm.exception.message)
            with self.assertRaises(UserError):
                ActionLog.delete([entry])

    # -- bad input -----------------------------------------------------------
    def assertRefused(self, func, *fragments):
        with self.assertRaises(UserError) as cm:
            func()
        for fragment in fragments:
            self.assertIn(fragment, cm.exception.message)

    @with_transaction()
    def test_bad_quantities_refused(self):
        Line = Pool().get('order_hub.order.line')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 2)])
            line, = order.lines
            for quantity in ('0', '-1', '1.5'):
                self.assertRefused(
                    lambda: Line.write([line], {'quantity': D(quantity)}),
                    "Футболка хлопковая")

    @with_transaction()
    def test_unknown_product_refused(self):
        "A product no longer (or never) in the catalogue cannot be ordered"
        pool = Pool()
        Line = pool.get('order_hub.order.line')
        Product = pool.get('product.product')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 1)])
            # archived: only the hub's own check refuses it
            Product.write([self.jacket], {'active': False})
            with self.assertRaises(LineValidationError) as cm:
                Line.create([{'order': order.id, 'product': self.jacket.id,
                            'quantity': D(1)}])
            self.assertEqual(cm.exception.message,
                f"Товара с id {self.jacket.id} нет в каталоге "
                "(или он в архиве).")
            # an id the catalogue never had (last: on PostgreSQL the
            # refused foreign key ends the transaction)
            self.assertRefused(lambda: Line.create([{
                            'order': order.id, 'product': 999999,
                            'quantity': D(1)}]), "999999")

    @with_transaction()
    def test_cancelled_order_cannot_be_edited(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        Line = pool.get('order_hub.order.line')
        with set_company(setup_company()):
            self.catalogue()
            order = create_order([(self.tshirt, 1)])
            Order.cancel([order])
            line, = order.lines
            self.assertRefused(
                lambda: Line.write([line], {'quantity': D(2)}),
                order.number, "Отменен")
            self.assertRefused(lambda: Line.delete([line]), order.number)
            self.assertRefused(
                lambda: Order.write([order], {'phone': '+7 999'}),
                order.number)
            self.assertRefused(
                lambda: Order.write([order], {'promo_code': 'X'}))
            self.assertRefused(lambda: Order.delete([order]))


del HubTestCase
