"""Load the demo data set into a hub database (run once, by bin/demo).

    python scripts/demo_data.py -c trytond.conf -d hub

A retailer of clothing and shoes: company in RUB, a central warehouse and
shops in several cities, a catalogue with sizes (part of it marked goods),
customers, promotions with promo codes, orders in every status and a user
for each role.  Deterministic: the same data on every machine.
"""
import argparse
import datetime as dt
import random
from decimal import Decimal

from trytond.config import update_etc
from trytond.pool import Pool
from trytond.transaction import Transaction

D = Decimal
PASSWORD = 'demo-2026'

CITIES = [
    # name, region, latitude, longitude
    ("Москва", "Москва", '55.755826', '37.617300'),
    ("Санкт-Петербург", "Санкт-Петербург", '59.939095', '30.315868'),
    ("Казань", "Республика Татарстан", '55.796127', '49.106414'),
    ("Екатеринбург", "Свердловская область", '56.838011', '60.597474'),
    ("Нижний Новгород", "Нижегородская область", '56.326797', '44.006516'),
    ("Новосибирск", "Новосибирская область", '55.008353', '82.935733'),
    ("Тверь", "Тверская область", '56.859611', '35.911896'),
    ("Самара", "Самарская область", '53.195873', '50.100193'),
    ("Владимир", "Владимирская область", '56.129057', '40.406635'),
    ("Пермь", "Пермский край", '58.010455', '56.229443'),
    ("Краснодар", "Краснодарский край", '45.035470', '38.975313'),
    ("Тула", "Тульская область", '54.193122', '37.617348'),
    ]

WAREHOUSES = [
    # name, code, city, street, shop
    ("Центральный склад", 'ЦС', "Москва", "Подольское ш., 8, стр. 5", False),
    ("Магазин на Тверской", 'М01', "Москва", "ул. Тверская, 15", True),
    ("Магазин в ТЦ «Европейский»", 'М02', "Москва",
        "пл. Киевского Вокзала, 2", True),
    ("Магазин на Невском", 'М03', "Санкт-Петербург", "Невский пр., 48", True),
    ("Магазин на Баумана", 'М04', "Казань", "ул. Баумана, 44", True),
    ("Магазин в ТЦ «Гринвич»", 'М05', "Екатеринбург", "ул. 8 Марта, 46", True),
    ("Магазин на Покровке", 'М06', "Нижний Новгород",
        "ул. Большая Покровская, 20", True),
    ("Магазин на Красном проспекте", 'М07', "Новосибирск",
        "Красный пр., 29", True),
    ]

SHOE_SIZES = ('38', '39', '40', '41', '42', '43', '44')
CLOTHES_SIZES = ('XS', 'S', 'M', 'L', 'XL')
KIDS_SIZES = ('110', '116', '122', '128')

# category, names, sizes, price range, marked
CATALOGUE = [
    ("Обувь", ["Кроссовки беговые «Темп»", "Кеды классические «Улица»",
            "Ботинки зимние «Север»", "Полуботинки кожаные «Офис»",
            "Сапоги женские «Вояж»", "Лоферы замшевые «Прага»",
            "Кроссовки баскетбольные «Прыжок»", "Слипоны текстильные «Лето»",
            "Туфли-лодочки «Вечер»", "Челси мужские «Лондон»",
            "Мокасины «Бриз»", "Кроссовки детские «Старт»"],
        SHOE_SIZES, (3490, 14990), True),
    ("Верхняя одежда", ["Куртка демисезонная «Ветер»", "Пуховик «Арктика»",
            "Парка удлинённая «Тайга»", "Плащ-тренч «Дождь»",
            "Жилет утеплённый «Бриз»", "Ветровка спортивная «Марафон»",
            "Пальто шерстяное «Классика»", "Бомбер «Кампус»"],
        CLOTHES_SIZES, (4990, 24990), True),
    ("Одежда", ["Футболка хлопковая базовая", "Поло с вышивкой",
            "Джинсы прямые «Денвер»", "Брюки чиносы «Сити»",
            "Рубашка оксфорд", "Свитшот с капюшоном", "Джемпер мериносовый",
            "Платье трикотажное «Мила»", "Юбка плиссе «Аврора»",
            "Шорты спортивные «Бег»", "Худи оверсайз «Облако»",
            "Лонгслив полосатый", "Кардиган вязаный «Уют»",
            "Костюм спортивный «Олимп»", "Футболка детская «Динозавр»"],
        CLOTHES_SIZES, (990, 7990), False),
    ("Детская одежда", ["Комбинезон зимний «Снежок»",
            "Куртка детская «Радуга»", "Брюки детские утеплённые"],
        KIDS_SIZES, (2490, 8990), True),
    ("Аксессуары", ["Рюкзак городской «Метро»", "Сумка-шопер холщовая",
            "Ремень кожаный", "Шарф шерстяной", "Шапка вязаная «Помпон»",
            "Перчатки кожаные", "Кошелёк кожаный", "Кепка бейсбольная",
            "Носки хлопковые, 3 пары", "Зонт складной",
            "Очки солнцезащитные", "Палантин кашемировый"],
        (None,), (490, 5990), False),
    ("Парфюмерия", ["Туалетная вода «Морской бриз» 50 мл",
            "Парфюмерная вода «Бархат» 30 мл",
            "Туалетная вода «Цитрус» 100 мл"],
        (None,), (1990, 6990), True),
    ]

CUSTOMERS = [
    # name, phone, email, login, bonus, level, city
    ("Иванова Мария Петровна", '+7 916 123-45-67', 'm.ivanova@example.ru',
        'mivanova', '1250', "Золотой", "Москва"),
    ("Смирнов Алексей Игоревич", '+7 921 555-12-34', 'a.smirnov@example.ru',
        'asmirnov', '340', "Серебряный", "Санкт-Петербург"),
    ("Гарипова Алсу Ринатовна", '+7 987 200-30-40', 'alsu.g@example.ru',
        'alsu_g', '0', "Базовый", "Казань"),
    ("Кузнецов Дмитрий Олегович", '+7 912 700-80-90', 'dkuz@example.ru',
        'dkuznetsov', '5600', "Платиновый", "Екатеринбург"),
    ("Попова Екатерина Сергеевна", '+7 930 111-22-33', 'ek.popova@example.ru',
        'katya_p', '120', "Базовый", "Нижний Новгород"),
    ("Волков Игорь Андреевич", '+7 913 444-55-66', 'volkov.ia@example.ru',
        'ivolkov', '890', "Серебряный", "Новосибирск"),
    ("Соколова Анна Викторовна", '+7 903 777-88-99', 'sokolova.a@example.ru',
        'asokolova', '2300', "Золотой", "Тверь"),
    ("Лебедев Павел Николаевич", '+7 927 321-65-87', 'lebedev.pn@example.ru',
        'plebedev', '0', "Базовый", "Самара"),
    ("Морозова Ольга Дмитриевна", '+7 910 246-80-24', 'o.morozova@example.ru',
        'omorozova', '410', "Серебряный", "Владимир"),
    ("Новиков Сергей Владимирович", '+7 902 135-79-13', 'novikov.s@example.ru',
        'snovikov', '75', "Базовый", "Пермь"),
    ("Федорова Ирина Алексеевна", '+7 918 864-20-86', 'i.fedorova@example.ru',
        'ifedorova', '3100', "Золотой", "Краснодар"),
    ("Орлов Максим Евгеньевич", '+7 905 975-31-97', 'orlov.me@example.ru',
        'morlov', '0', "Базовый", "Тула"),
    ]

USERS = [
    # login, name, group xml ids, shop code
    ('manager', "Петрова Светлана (менеджер ИМ)", ['group_manager'], None),
    ('shop.tverskaya', "Ковалёв Артём (магазин на Тверской)", ['group_shop'],
        'М01'),
    ('shop.nevsky', "Белова Дарья (магазин на Невском)", ['group_shop'], 'М03'),
    ('warehouse', "Захаров Николай (центральный склад)", ['group_warehouse'],
        'ЦС'),
    ('accountant', "Громова Елена (бухгалтер)", ['group_accountant'], None),
    ('hubadmin', "Тихонов Роман (администратор)",
        ['group_admin', 'group_manager'], None),
    ]

PROMOTIONS = [
    # name, type, value, extra, codes
    ("Осенняя распродажа −10%", 'percent', '10', {}, ['OSEN10']),
    ("Минус 1000 ₽ на обувь от 7000 ₽", 'fixed', '1000',
        {'min_amount': D('7000'), 'category': "Обувь"}, ['SHOES1000']),
    ("Первый заказ −15%", 'percent', '15', {}, [('WELCOME15', 100)]),
    ("Аксессуары −20% (без кода)", 'percent', '20',
        {'category': "Аксессуары"}, []),
    ("Летний промокод (истёк)", 'percent', '20',
        {'end_date': dt.date(2026, 8, 31)}, ['LETO2026']),
    ]

# state, customer index, [(template index, size index, quantity)], delivery
ORDERS = [
    ('awaiting_payment', 0, [(0, 4, 1), (20, 2, 2)], 'cdek_pickup', None),
    ('awaiting_payment', 1, [(13, 2, 1)], 'pickup', 'М03'),
    ('awaiting_payment', 2, [(23, 1, 1), (40, 0, 1), (41, 0, 2)],
        'russian_post', 'OSEN10'),
    ('awaiting_payment', 6, [(2, 3, 1), (14, 3, 1)], 'cdek_courier', None),
    ('paid', 3, [(1, 5, 1), (24, 2, 1)], 'cdek_courier', None),
    ('paid', 4, [(30, 1, 1), (31, 1, 1)], 'pickup', 'М06'),
    ('paid', 8, [(5, 2, 1)], 'cdek_pickup', 'SHOES1000'),
    ('assembling', 5, [(15, 3, 1), (44, 0, 1)], 'russian_post', None),
    ('assembling', 9, [(21, 2, 2), (22, 1, 1)], 'cdek_pickup', None),
    ('delivering', 10, [(3, 4, 1)], 'cdek_courier', None),
    ('issued', 7, [(26, 2, 1), (45, 0, 1)], 'pickup', 'М01'),
    ('cancelled', 11, [(12, 1, 1)], 'cdek_pickup', None),
    ]

DELIVERY = {
    'pickup': ("Самовывоз, 1–3 дня", D('0')),
    'cdek_pickup': ("СДЭК до ПВЗ, 2–4 дня", D('290')),
    'cdek_courier': ("СДЭК курьером, 1–3 дня", D('490')),
    'russian_post': ("Почта России, 5–9 дней", D('350')),
    }


def load(database, config_file=None):
    if config_file:
        update_etc(config_file)
    Pool(database).init()
    with Transaction().start(database, 0, context={'language': 'ru'}) as tx:
        company = setup_company()
        with Transaction().set_context(company=company.id,
                companies=[company.id]):
            cities = create_cities()
            warehouses = create_warehouses(cities)
            products = create_catalogue()
            seed_stock(products, warehouses)
            create_promotions()
            customers = create_customers(cities)
            create_users(company, warehouses)
            # as if they came from the site, paid through YooKassa
            with Transaction().set_context(hub_source='site'):
                create_orders(customers, products, cities, warehouses)
        finish_setup()
        tx.commit()


def setup_company():
    pool = Pool()
    Currency = pool.get('currency.currency')
    Company = pool.get('company.company')
    Party = pool.get('party.party')
    User = pool.get('res.user')
    Lang = pool.get('ir.lang')
    rub, = (Currency.search([('code', '=', 'RUB')])
        or Currency.create([{'name': "Российский рубль", 'code': 'RUB',
                    'symbol': '₽', 'digits': 2, 'rounding': D('0.01')}]))
    ru, = Lang.search([('code', '=', 'ru')])
    party, = Party.create([{'name': "ООО «Модный дом»", 'lang': ru.id,
                'addresses': [('create', [{
                                'street': "Подольское ш., 8, стр. 5",
                                'city': "Москва", 'postal_code': '115093'}])],
                }])
    company, = Company.create([{'party': party.id, 'currency': rub.id,
                'timezone': 'Europe/Moscow'}])
    admin = User(1)
    User.write([admin], {'companies': [('add', [company.id])],
            'company': company.id, 'language': ru.id})
    return company


def create_cities():
    City = Pool().get('order_hub.city')
    cities = City.create([{'name': n, 'region': r, 'latitude': D(lat),
                'longitude': D(lon)} for n, r, lat, lon in CITIES])
    return {c.name: c for c in cities}


def create_warehouses(cities):
    Location = Pool().get('stock.location')
    central, = Location.search([('type', '=', 'warehouse')], limit=1)
    name, code, city, street, _ = WAREHOUSES[0]
    Location.write([central], {'name': name, 'code': code,
            'hub_city': cities[city].id, 'hub_street': street})
    shops = Location.hub_create_warehouses([{'name': n, 'code': c,
                'hub_city': cities[city].id, 'hub_street': s,
                'hub_is_shop': shop}
            for n, c, city, s, shop in WAREHOUSES[1:]])
    return {w.code: w for w in [central] + shops}


def create_catalogue():
    "Templates with their variants; returns [[variant, ...], ...]"
    pool = Pool()
    Template = pool.get('product.template')
    Category = pool.get('product.category')
    Uom = pool.get('product.uom')
    unit, = Uom.search([('symbol', '=', 'u')])
    rng = random.Random(2026)
    vlist = []
    for category_name, names, sizes, (low, high), marked in CATALOGUE:
        category, = Category.create([{'name': category_name}])
        for name in names:
            price = D(rng.randrange(low, high, 100)) - 10
            article = f'{len(vlist) + 1:05d}'
            vlist.append({
                    'name': name, 'code': article, 'type': 'goods',
                    'default_uom': unit.id, 'list_price': price,
                    'hub_marked': marked,
                    'categories': [('add', [category.id])],
                    'products': [('create', [{
                                    'hub_size': size,
                                    'suffix_code': f'-{size}' if size else '',
                                    } for size in sizes])],
                    })
    # in small batches: SQLite cannot parse the unique-code check of all
    templates = []
    for i in range(0, len(vlist), 10):
        templates.extend(Template.create(vlist[i:i + 10]))
    return [list(t.products) for t in templates]


def seed_stock(products, warehouses):
    """Free stock per warehouse: plenty at the central warehouse, a few of
    some sizes in the shops, none of others (so splits and shortages show)"""
    StockLevel = Pool().get('order_hub.stock')
    rng = random.Random(11)
    rows = []
    for variants in products:
        for variant in variants:
            for code, warehouse in warehouses.items():
                if code == 'ЦС':
                    quantity = rng.choice([0, 2, 5, 10, 20, 40])
                elif rng.random() < 0.55:
                    quantity = rng.choice([1, 1, 2, 3, 5])
                else:
                    continue
                rows.append((variant.id, warehouse.id, quantity))
    StockLevel.set_levels(rows, source='demo')


def create_promotions():
    pool = Pool()
    Promotion = pool.get('order_hub.promotion')
    Category = pool.get('product.category')
    vlist = []
    for name, kind, value, extra, codes in PROMOTIONS:
        extra = dict(extra)
        category = extra.pop('category', None)
        if category:
            category, = Category.search([('name', '=', category)])
            extra['categories'] = [('add', [category.id])]
        vlist.append({'name': name, 'discount_type': kind,
                'discount_value': D(value), **extra,
                'codes': [('create', [
                            {'code': c} if isinstance(c, str)
                            else {'code': c[0], 'usage_limit': c[1]}
                            for c in codes])]})
    Promotion.create(vlist)


def create_customers(cities):
    Party = Pool().get('party.party')
    vlist = []
    for name, phone, email, login, bonus, level, city in CUSTOMERS:
        vlist.append({
                'name': name, 'hub_site_login': login,
                'hub_bonus_balance': D(bonus), 'hub_loyalty_level': level,
                'contact_mechanisms': [('create', [
                            {'type': 'mobile', 'value': phone},
                            {'type': 'email', 'value': email}])],
                'addresses': [('create', [{'city': city}])],
                })
    return list(zip(Party.create(vlist), CUSTOMERS))


def create_users(company, warehouses):
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    Lang = pool.get('ir.lang')
    ru, = Lang.search([('code', '=', 'ru')])
    User.create([{
                'login': login, 'name': name, 'password': PASSWORD,
                'language': ru.id, 'companies': [('add', [company.id])],
                'company': company.id,
                'groups': [('add', [ModelData.get_id('order_hub', g)
                            for g in groups])],
                'hub_shops': [('add', [warehouses[shop].id] if shop else [])],
                } for login, name, groups, shop in USERS])


def create_orders(customers, products, cities, warehouses):
    Order = Pool().get('order_hub.order')
    now = dt.datetime(2026, 11, 27, 9, 0)
    orders = []
    for i, (state, c, lines, service, extra) in enumerate(ORDERS):
        party, (name, phone, email, login, bonus, level, city) = customers[c]
        terms, cost = DELIVERY[service]
        values = {
            'date': now - dt.timedelta(hours=7 * (len(ORDERS) - i)),
            'site_number': f'{48210 + i}',
            'customer': party.id, 'customer_name': name, 'phone': phone,
            'email': email, 'site_login': login, 'bonus_balance': D(bonus),
            'loyalty_level': level, 'delivery_service': service,
            'delivery_terms': terms, 'delivery_cost': cost,
            'delivery_city': cities[city].id,
            'payment_method': 'online',
            'lines': [('create', [{
                            'product': _variant(products, t, s).id,
                            'quantity': D(q)} for t, s, q in lines])],
            }
        if service == 'pickup':
            values['pickup_shop'] = warehouses[extra].id
            values['delivery_address'] = warehouses[extra].hub_street
        else:
            values['delivery_address'] = f"{city}, ул. Ленина, д. {10 + i}"
            if extra:
                values['promo_code'] = extra
        orders.append((Order.create([values])[0], state))
    _move_to_states(orders)


def _variant(products, template, size):
    variants = products[template]
    return variants[min(size, len(variants) - 1)]


def _move_to_states(orders):
    Order = Pool().get('order_hub.order')
    path = ['paid', 'assembling', 'delivering', 'issued']
    steps = {'paid': Order.pay, 'assembling': _reserve,
        'delivering': Order.deliver, 'issued': Order.issue}
    for order, state in orders:
        if state == 'cancelled':
            Order.cancel([order])
            continue
        for step in path[:path.index(state) + 1] if state in path else []:
            steps[step]([order])


def _reserve(orders):
    "Reserve nearest first; an order with nothing in stock is assembled anyway"
    Order = Pool().get('order_hub.order')
    Order.reserve(orders)
    Order.assemble([o for o in orders if o.state == 'paid'])


def finish_setup():
    "Skip the module configuration wizard on the first login"
    Item = Pool().get('ir.module.config_wizard.item')
    Item.write(Item.search([]), {'state': 'done'})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', default='trytond.conf')
    parser.add_argument('-d', '--database', required=True)
    args = parser.parse_args()
    load(args.database, args.config)
    print(f"Demo data loaded into {args.database}.")


if __name__ == '__main__':
    main()
