"""Who may do what with marking codes and documents, as non-admin users
of each role (access rights and the shop staff's record rule)."""
import random
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from trytond.modules.order_hub.tests.tools import (
    HubTestCase, create_city, create_product, create_user, create_warehouse,
    set_company, setup_company)

from .samples import code, gtin

EAN = gtin('460777000222')


def as_user(user):
    return Transaction().set_user(user.id), Transaction().set_context(
        _check_access=True)


class MarkingAccessTestCase(HubTestCase):
    "Marking codes and documents per role"
    modules = ['marking']

    def setup_orders(self):
        pool = Pool()
        Order = pool.get('order_hub.order')
        product, = create_product("Ботинки", '9000', marked=True)
        pool.get('product.template').write([product.template],
            {'marking_group': 'shoes'})
        pool.get('product.identifier').create([{'product': product.id,
                    'type': 'ean', 'code': EAN}])
        city = create_city("Москва", '55.75', '37.61')
        self.tverskaya = create_warehouse("Магазин на Тверской", city)
        self.nevsky = create_warehouse("Магазин на Невском", city)
        orders = Order.create([{'delivery_service': 'pickup',
                    'pickup_shop': shop.id, 'delivery_city': city.id,
                    'customer_name': "Петров Пётр",
                    'phone': '+7 916 000-00-01',
                    'lines': [('create', [{'product': product.id,
                                    'quantity': Decimal(3)}])]}
                for shop in (self.tverskaya, self.nevsky)])
        return [o.lines[0] for o in orders]

    def user(self, login, groups, shops=()):
        return create_user(login, groups, shops)

    @with_transaction()
    def test_roles(self):
        pool = Pool()
        Code = pool.get('marking.code')
        Document = pool.get('marking.document')
        Access = pool.get('ir.model.access')
        rng = random.Random(3)
        texts = [code('shoes', rng, '0' + EAN) for _ in range(4)]
        with set_company(setup_company()):
            ours, theirs = self.setup_orders()
            theirs_code, = Code.create([{'line': theirs.id, 'unit': 1,
                        'code': texts[0]}])
            shop = self.user('shop.tverskaya', ['group_shop'],
                [self.tverskaya])
            accountant = self.user('accountant', ['group_accountant'])
            warehouse = self.user('warehouse', ['group_warehouse'])
            manager = self.user('manager', ['group_manager'])
            nobody = self.user('nobody', [])

            user, context = as_user(shop)
            with user, context:
                # their own shop's line: a code entered, others not seen
                mine, = Code.create([{'line': ours.id, 'unit': 1,
                            'code': texts[1]}])
                self.assertEqual(Code.search([]), [mine])
                # a code already on another shop's order is still refused
                with self.assertRaises(UserError) as cm:
                    Code.create([{'line': ours.id, 'unit': 2,
                                'code': texts[0]}])
                self.assertIn('уже', cm.exception.message)
                with self.assertRaises(UserError):
                    Code.create([{'line': theirs.id, 'unit': 2,
                                'code': texts[2]}])
                with self.assertRaises(UserError):
                    Code.delete([mine])
                # their orders' documents: read on the order, not sent
                self.assertEqual(Document.search([]), [])
                self.assertFalse(Access.check('marking.document', 'write',
                        raise_exception=False))

            # (the refused creations above left rows: a test transaction is
            # not rolled back as an RPC call's would be)
            both = [mine.id, theirs_code.id]
            user, context = as_user(accountant)
            with user, context:
                self.assertEqual(len(Code.search([('id', 'in', both)])), 2)
                self.assertEqual(Document.search([]), [])
                self.assertFalse(Access.check('marking.document', 'write',
                        raise_exception=False))
                with self.assertRaises(UserError):
                    Code.write([Code(mine.id)], {'unit': 2})

            user, context = as_user(warehouse)
            with user, context:
                self.assertEqual(len(Code.search([('id', 'in', both)])), 2)
                with self.assertRaises(UserError):
                    Code.delete([Code(mine.id)])

            user, context = as_user(manager)
            with user, context:
                self.assertTrue(Access.check('marking.document', 'write'))
                extra, = Code.create([{'line': ours.id, 'unit': 3,
                            'code': texts[3]}])
                Code.delete([extra])
                self.assertEqual(len(Code.search([('id', 'in', both)])), 2)

            user, context = as_user(nobody)
            with user, context:
                with self.assertRaises(UserError):
                    Code.search([])
