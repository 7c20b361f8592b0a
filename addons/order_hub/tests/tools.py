"Building blocks for the order hub's tests and benchmarks (in a transaction)"
import itertools
import unittest
from decimal import Decimal

from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import drop_db

__all__ = ['HubTestCase', 'CommittedSteps', 'committed_step', 'activate_hub',
    'create_company', 'set_company', 'setup_company', 'create_city',
    'create_warehouse', 'create_product', 'create_category', 'create_promotion',
    'create_order']


class HubTestCase(unittest.TestCase):
    """A database with the hub's modules, in Russian, for behaviour tests.

    (ModuleTestCase would also repeat its generic structure checks.)"""
    modules = ['order_hub']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        # looked up at call time: tools/unittest_main.py builds it in layers
        test_tryton.activate_module(cls.modules, lang='ru')

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()


def committed_step(company, func, user=0, **context):
    """Run func in a committed transaction of the test database as user,
    in the company and in Russian, as a queue task or an RPC call would"""
    from trytond.tests.test_tryton import DB_NAME
    from trytond.transaction import Transaction
    with Transaction().start(DB_NAME, user, context={
                'company': company, 'language': 'ru',
                **context}) as transaction:
        with set_company(Pool().get('company.company')(company)):
            result = func()
        transaction.commit()
    return result


class CommittedSteps:
    """A mixin for scenario tests made of committed steps: ``step(func)``
    runs func in its own committed transaction as the company
    (``cls.company``, an id set by the test's setUpClass)"""

    @classmethod
    def step(cls, func):
        return committed_step(cls.company, func)


def activate_hub(modules='order_hub'):
    """proteus' activate_modules for the hub's scenarios: the database of
    HubTestCase (the modules activated in Russian, as the managers work),
    so that a scenario restores the cache the unit tests built instead of
    activating the modules once more in English"""
    from proteus import config
    drop_db()
    test_tryton.activate_module(modules, lang='ru')
    return config.set_trytond()


def setup_company():
    Currency = Pool().get('currency.currency')
    rub, = Currency.create([{
                'name': "Российский рубль", 'code': 'RUB', 'symbol': '₽',
                'digits': 2, 'rounding': Decimal('0.01')}])
    return create_company("ООО «Модный дом»", currency=rub)


def create_city(name, latitude, longitude, region=None):
    City = Pool().get('order_hub.city')
    city, = City.create([{'name': name, 'region': region,
                'latitude': Decimal(str(latitude)),
                'longitude': Decimal(str(longitude))}])
    return city


def create_warehouse(name, city, shop=True, code=None):
    Location = Pool().get('stock.location')
    warehouse, = Location.hub_create_warehouses([{
                'name': name, 'code': code, 'hub_city': city.id,
                'hub_street': "ул. Тестовая, 1", 'hub_is_shop': shop}])
    return warehouse


_articles = itertools.count(1)


def create_product(name, price, sizes=(None,), category=None, marked=False,
        prices=None):
    """Template with one variant per size; prices maps size to its own price.

    Returns the variants in the order of sizes.
    """
    pool = Pool()
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    unit, = Uom.search([('name', '=', 'Unit')])
    prices = prices or {}
    template, = Template.create([{
                'name': name, 'code': f'{next(_articles):05d}',
                'type': 'goods', 'default_uom': unit.id,
                'list_price': Decimal(price), 'hub_marked': marked,
                'categories': [('add', [category.id])] if category else [],
                'products': [('create', [{
                                'hub_size': size,
                                'suffix_code': f'-{size}' if size else '',
                                'list_price': (Decimal(prices[size])
                                    if size in prices else None),
                                } for size in sizes])],
                }])
    return list(template.products)


def create_category(name):
    Category = Pool().get('product.category')
    category, = Category.create([{'name': name}])
    return category


def create_promotion(name, discount, kind='percent', codes=(), **values):
    Promotion = Pool().get('order_hub.promotion')
    promotion, = Promotion.create([{
                'name': name, 'discount_type': kind,
                'discount_value': Decimal(discount),
                'codes': [('create', [
                            {'code': c} if isinstance(c, str) else c
                            for c in codes])],
                **values}])
    return promotion


def create_order(lines, **values):
    "lines: [(product, quantity)], priced by the hub"
    Order = Pool().get('order_hub.order')
    order, = Order.create([{
                'customer_name': "Иванова Мария Петровна",
                'phone': '+7 916 123-45-67',
                'email': 'm.ivanova@example.ru',
                'lines': [('create', [
                            {'product': p.id, 'quantity': Decimal(q)}
                            for p, q in lines])],
                **values}])
    return order


def set_stock(product, warehouse, quantity):
    StockLevel = Pool().get('order_hub.stock')
    StockLevel.set_levels([(product.id, warehouse.id, quantity)],
        source='demo')


def create_user(login, groups=(), shops=()):
    "A user of the company in the given order_hub groups and shops"
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    admin = User(1)
    user, = User.create([{
                'login': login, 'name': login,
                'companies': [('add', [c.id for c in admin.companies])],
                'company': admin.company.id if admin.company else None,
                'groups': [('add', [ModelData.get_id('order_hub', g)
                            for g in groups])],
                'hub_shops': [('add', [s.id for s in shops])],
                }])
    return user
