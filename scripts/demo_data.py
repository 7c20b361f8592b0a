"""Load the demo data into a hub database wired to the simulators.

    python scripts/demo_data.py -c trytond.conf -d hub --sandbox var/sandbox.json

scripts/demo.py runs it on a freshly activated database, with the
simulators running (their URLs in the --sandbox file).  A retailer of
clothing and shoes: the company in RUB and the cities of its shops and
customers; the connections to 1C UT11 and to the site at the simulators'
addresses; the warehouses, catalogue, prices and free stock from 1C through
the real full load (one catalogue: the hub creates no product itself); the
same catalogue on the site, as 1C's upload to the site puts it there; a
user for each role, attached to 1C's warehouses by name; and orders placed
on the site, taken in through the CommerceML exchange and moved through
every status by the manager (those reserved are in 1C too).
"""
import argparse
import datetime as dt
import json
import os
import time
import urllib.request
from decimal import Decimal
from xml.etree import ElementTree as ET

import requests

from trytond.config import update_etc
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.worker import run_task

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

# login, name, group xml ids (order_hub's, or module.id), 1C warehouse of
# the user (by its name in 1C)
USERS = [
    ('manager', "Петрова Светлана (менеджер ИМ)", ['group_manager'], None),
    ('shop.tverskaya', "Ковалёв Артём (магазин на Тверской)", ['group_shop'],
        "Магазин на Тверской"),
    ('shop.nevsky', "Белова Дарья (магазин на Невском)", ['group_shop'],
        "Магазин на Невском"),
    ('warehouse', "Захаров Николай (центральный склад)", ['group_warehouse'],
        "Центральный склад"),
    ('accountant', "Громова Елена (бухгалтер)", ['group_accountant'], None),
    ('hubadmin', "Тихонов Роман (администратор)",
        ['group_admin', 'group_manager', 'hub_backup.group_backup_admin'],
        None),
    ]

CUSTOMERS = [
    # name, phone, email, site login, bonus, loyalty level, city, address
    ("Иванова Мария Петровна", '+79161234567', 'm.ivanova@example.ru',
        'mivanova', 1250, "Золотой", "Москва", "ул. Льва Толстого, д. 16, кв. 5"),
    ("Смирнов Алексей Игоревич", '+79215551234', 'a.smirnov@example.ru',
        'asmirnov', 340, "Серебряный", "Санкт-Петербург",
        "ул. Рубинштейна, д. 7, кв. 12"),
    ("Гарипова Алсу Ринатовна", '+79872003040', 'alsu.g@example.ru',
        'alsu_g', 0, "Базовый", "Казань", "ул. Пушкина, д. 3, кв. 40"),
    ("Кузнецов Дмитрий Олегович", '+79127008090', 'dkuz@example.ru',
        'dkuznetsov', 5600, "Платиновый", "Екатеринбург",
        "ул. Малышева, д. 51, кв. 8"),
    ("Попова Екатерина Сергеевна", '+79301112233', 'ek.popova@example.ru',
        'katya_p', 120, "Базовый", "Нижний Новгород",
        "ул. Рождественская, д. 24, кв. 3"),
    ("Волков Игорь Андреевич", '+79134445566', 'volkov.ia@example.ru',
        'ivolkov', 890, "Серебряный", "Новосибирск",
        "ул. Ленина, д. 12, кв. 77"),
    ("Соколова Анна Викторовна", '+79037778899', 'sokolova.a@example.ru',
        'asokolova', 2300, "Золотой", "Тверь", "ул. Советская, д. 9, кв. 2"),
    ("Лебедев Павел Николаевич", '+79273216587', 'lebedev.pn@example.ru',
        'plebedev', 0, "Базовый", "Самара", "ул. Куйбышева, д. 90, кв. 14"),
    ("Морозова Ольга Дмитриевна", '+79102468024', 'o.morozova@example.ru',
        'omorozova', 410, "Серебряный", "Владимир",
        "ул. Большая Московская, д. 5, кв. 6"),
    ("Новиков Сергей Владимирович", '+79021357913', 'novikov.s@example.ru',
        'snovikov', 75, "Базовый", "Пермь", "Комсомольский пр., д. 30, кв. 9"),
    ("Федорова Ирина Алексеевна", '+79188642086', 'i.fedorova@example.ru',
        'ifedorova', 3100, "Золотой", "Краснодар",
        "ул. Красная, д. 109, кв. 21"),
    ("Орлов Максим Евгеньевич", '+79059753197', 'orlov.me@example.ru',
        'morlov', 0, "Базовый", "Тула", "пр. Ленина, д. 44, кв. 10"),
    ]

# the site's delivery services (its ids) as a customer chooses them
SITE_DELIVERIES = {
    2: {'delivery_id': 2, 'delivery_cost': 0,
        'delivery_terms': "Самовывоз, 1–3 дня"},
    3: {'delivery_id': 3, 'delivery_cost': 290,
        'delivery_terms': "СДЭК до ПВЗ, 2–4 дня"},
    4: {'delivery_id': 4, 'delivery_cost': 490,
        'delivery_terms': "СДЭК курьером, 1–3 дня"},
    5: {'delivery_id': 5, 'delivery_cost': 350,
        'delivery_terms': "Почта России, 5–9 дней"},
    }

# status, customer, [(1C article, size, quantity)], site delivery,
# pickup shop (1C warehouse) or promo code of the site
ORDERS = [
    ('awaiting_payment', 0, [('КР-1001', '42', 1), ('ФТ-5001', 'M', 2)], 3,
        None),
    ('awaiting_payment', 1, [('ПЛ-7001', 'S', 1)], 2, "Магазин на Невском"),
    ('awaiting_payment', 2, [('КТ-4003', 'L', 1), ('АК-9001', None, 1),
            ('АК-9002', None, 2)], 5, 'ВЕСНА10'),
    ('awaiting_payment', 6, [('БТ-2001', '43', 1), ('ТЛ-8001', 'L', 1)], 4,
        None),
    ('paid', 3, [('КР-1002', '41', 1), ('ДЖ-6001', '32', 1)], 4, None),
    ('paid', 4, [('КТ-4002', '44', 1), ('ТЛ-8002', 'M', 1)], 3, None),
    ('paid', 8, [('ТФ-3001', '38', 1)], 3, 'SL-7QK2-M9XD'),
    # Russian Post: its request is sent by the demo (russian_post_request);
    # with a cap from Krasny prospekt too, 1C refused the sale (free 0)
    ('assembling', 5, [('КТ-4001', '50', 1)], 5, None),
    ('assembling', 9, [('ФТ-5003', 'L', 2), ('ДЖ-6002', '48', 1)], 3, None),
    ('delivering', 10, [('БТ-2002', '37', 1)], 4, None),
    ('issued', 7, [('ДЖ-6003', '27', 1), ('АК-9002', None, 1)], 2,
        "Магазин на Тверской"),
    ('cancelled', 11, [('КР-1003', '40', 1)], 3, None),
    # a pickup waiting at the counter of Tverskaya (the shop's portal)
    ('assembling', 0, [('КР-1002', '43', 1)], 2, "Магазин на Тверской"),
    ]
# crons that reload everything: not at the demo's start, the data is fresh
HEAVY_CRONS = ['ut11_bridge.load_run|cron_load_catalogue',
    'ut11_bridge.load_run|cron_refresh_stock']

DATABASE = None
CONTEXT = {'language': 'ru'}


def site_customer(customer):
    "place_order arguments of a customer of CUSTOMERS"
    name, phone, email, login, bonus, level, city, address = customer
    last, first, second = name.split()
    return {'login': login, 'name': first, 'last_name': last,
        'second_name': second, 'email': email, 'phone': phone,
        'bonus_balance': bonus, 'loyalty_level': level, 'city': city,
        'address': address}


def say(text):
    print(text, flush=True)


def control(url, action, **kwargs):
    request = urllib.request.Request(f'{url}/__sandbox__/{action}',
        data=json.dumps(kwargs).encode(), method='POST',
        headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b'null')


def step(func, user=0, **extras):
    """func in a committed transaction, then the tasks it queued (pushes to
    1C and the site, load runs), each in its own, as the server runs them"""
    with Transaction().start(DATABASE, user, context=CONTEXT,
            **extras) as transaction:
        result = func()
        transaction.commit()
        tasks = list(transaction.tasks)
    for task in tasks:
        run_task(DATABASE, task)
    return result


def load(database, config_file, urls):
    global DATABASE
    update_etc(config_file)
    DATABASE = database
    Pool(database).init()
    company = step(setup_company)
    CONTEXT.update(company=company, companies=[company])
    step(create_cities)
    # the configuration singleton's first write creates it: lock its table
    step(lambda: connect(urls), _lock_tables=['order_hub_configuration'])
    say("Полная загрузка из 1С УТ11…")
    run = step(load_from_ut11)
    say(step(lambda: check_load(run)))
    step(create_users)
    step(directory_groups)
    say("Каталог 1С на сайте…")
    upload_site_catalogue(urls['bitrix_site'])
    say("Заказы с сайта…")
    numbers = place_orders(urls['bitrix_site'])
    orders = step(lambda: fetch_site_orders(numbers))
    if 'yookassa' in urls:
        pay_with_yookassa(urls['yookassa'], orders)
    manager = step(lambda: user_id('manager'))
    move_orders(orders, manager)
    if 'russian_post' in urls:
        say("Заявка в Почту России…")
        russian_post_request(manager)
    demo_return(orders, manager)
    if 'chestny_znak' in urls:
        setup_marking(urls['chestny_znak'])
    step(finish_setup)


# -- the company and the connections ---------------------------------------
def setup_company():
    pool = Pool()
    Currency = pool.get('currency.currency')
    Company = pool.get('company.company')
    Party = pool.get('party.party')
    User = pool.get('res.user')
    Lang = pool.get('ir.lang')
    rub, = (Currency.search([('code', '=', 'RUB')])
        or Currency.create([{'name': "Российский рубль", 'code': 'RUB',
                    'symbol': '₽', 'digits': 2,
                    'rounding': Decimal('0.01')}]))
    ru, = Lang.search([('code', '=', 'ru')])
    party, = Party.create([{'name': "ООО «Модный дом»", 'lang': ru.id,
                'addresses': [('create', [{
                                'street': "Подольское ш., 8, стр. 5",
                                'city': "Москва", 'postal_code': '115093'}])],
                }])
    company, = Company.create([{'party': party.id, 'currency': rub.id,
                'timezone': 'Europe/Moscow'}])
    User.write([User(1)], {'companies': [('add', [company.id])],
            'company': company.id, 'language': ru.id})
    return company.id


def create_cities():
    Pool().get('order_hub.city').create([{'name': n, 'region': r,
                'latitude': Decimal(lat), 'longitude': Decimal(lon)}
            for n, r, lat, lon in CITIES])


def connect(urls):
    """The connections to 1C and the site, as an administrator sets them
    up: the simulators' addresses and users; 1C's references looked up by
    name in 1C; prices asked from the site"""
    pool = Pool()
    System = pool.get('hub_sync.system')
    Configuration = pool.get('order_hub.configuration')
    ut11 = control(urls['ut11'], 'credentials')
    site = control(urls['bitrix_site'], 'credentials')
    ut11_url = urls['ut11'] + ut11['base_path']
    System.create([{'code': 'ut11', 'name': "1С УТ11", 'base_url': ut11_url,
                'login': ut11['user'], 'password': ut11['password'],
                **ut11_references(ut11_url, ut11['user'], ut11['password'])}, {
                'code': 'site', 'name': "Сайт", 'base_url': urls['bitrix_site'],
                'login': site['login'], 'password': site['password'],
                'token': site['rest_url'].rstrip('/').split('/rest/', 1)[1]}])
    Configuration.write([Configuration(1)], {'pricing_method': 'site'})
    # the site's delivery services and payment systems, as the sandbox has
    # them; payments, SMS and e-mail through the simulators
    Mapping = pool.get('site_bridge.mapping')
    Mapping.create_sandbox_mappings()
    # the courier's cash is taken outside the hub: when the site marks such
    # an order paid, the hub records the payment (order_payment's glue)
    Mapping.write(Mapping.search([('kind', '=', 'payment'),
                ('site_name', '=', 'Наличные курьеру')]),
        {'site_takes_money': True})
    if 'yookassa' in urls:
        System.yookassa_configure_sandbox(urls['yookassa'],
            sms_url=urls.get('sms'))
    if 'russian_post' in urls:
        System.russian_post_configure_sandbox(urls['russian_post'],
            control(urls['russian_post'], 'credentials'))
    if 'cdek' in urls:
        cdek = control(urls['cdek'], 'credentials')
        System.cdek_configure_sandbox(urls['cdek'], cdek['client_id'],
            cdek['client_secret'], hub_url=System.cdek_hub_url())
    if 'bitrix24' in urls:
        connect_b24(urls['bitrix24'])


def connect_b24(url):
    """Bitrix24: its incoming webhook, and an outgoing one (deal changes)
    to the hub's route, whose application token the hub checks"""
    hub = 'http://' + os.environ.get('TRYTOND_WEB__LISTEN', '127.0.0.1:8000')
    hook = control(url, 'outgoing_webhook', events=['ONCRMDEALUPDATE'],
        handler=f'{hub}/{DATABASE}/b24_bridge/events')
    Pool().get('hub_sync.system').create([{'code': 'b24',
                'name': "Битрикс24", 'base_url': control(url, 'webhook')['url'],
                'secret': hook['application_token'],
                'b24_member_id': hook['member_id'], 'b24_hub_url': hub}])


def ut11_references(url, login, password):
    "The 1C GUIDs a customer order needs, found by their names"
    from trytond.modules.ut11_bridge.client import UT11Client
    client = UT11Client(url, login, password)

    def key(entity_set, **where):
        for row in client.rows(entity_set):
            if all(row.get(k) == v for k, v in where.items()):
                return row['Ref_Key']
        raise LookupError(f'{entity_set} {where} not in 1C')
    partner = key('Catalog_Партнеры', Description="Розничный покупатель")
    return {
        'ut11_organization': key('Catalog_Организации'),
        'ut11_partner': partner,
        'ut11_counterparty': key('Catalog_Контрагенты', Партнер_Key=partner),
        'ut11_agreement': key('Catalog_СоглашенияСКлиентами',
            Description="Розничные продажи"),
        'ut11_currency': key('Catalog_Валюты', Code='643'),
        'ut11_price_type': key('Catalog_ВидыЦен', Description="Розничная"),
        'ut11_vat_rate': key('Catalog_СтавкиНДС', Description="20%"),
        }


# -- from 1C -----------------------------------------------------------------
def load_from_ut11():
    """The full load as an administrator starts it («Загрузки из 1С УТ11»):
    the run is queued and executed right after the commit"""
    LoadRun = Pool().get('ut11_bridge.load_run')
    run, = LoadRun.create([{'kind': 'full'}])
    return run.id


def check_load(run_id):
    """The load's summary; the warehouse Tryton creates is not 1C's: out of
    the way (1C owns the warehouses)"""
    pool = Pool()
    LoadRun = pool.get('ut11_bridge.load_run')
    Location = pool.get('stock.location')
    ModelData = pool.get('ir.model.data')
    run = LoadRun(run_id)
    if run.state != 'done':
        raise SystemExit(f"Загрузка из 1С не удалась: {run.error}\n"
            f"{run.error_detail}")
    Location.write([Location(ModelData.get_id('stock', 'location_warehouse'))],
        {'active': False})
    # 1C's warehouses are matched to the hub's cities by name
    cityless = Location.search([('type', '=', 'warehouse'),
            ('hub_city', '=', None)])
    if cityless:
        raise SystemExit("Склады 1С без города хаба (добавьте город в "
            "CITIES): " + ', '.join(w.name for w in cityless))
    return run.summary


def create_users():
    pool = Pool()
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    Lang = pool.get('ir.lang')
    Location = pool.get('stock.location')
    warehouses = {w.name: w.id for w in Location.search(
            [('type', '=', 'warehouse'), ('ut11_ref', '!=', None)])}
    ru, = Lang.search([('code', '=', 'ru')])
    company = CONTEXT['company']
    User.create([{
                'login': login, 'name': name, 'password': PASSWORD,
                'language': ru.id, 'companies': [('add', [company])],
                'company': company,
                'groups': [('add', [ModelData.get_id(
                                *(g.split('.') if '.' in g
                                    else ('order_hub', g)))
                            for g in groups])],
                'hub_shops': [('add', [warehouses[shop]] if shop else [])],
                } for login, name, groups, shop in USERS])


# hub_auth: directory group DN, name, groups, shop (the demo has no
# directory server: the mapping screen is filled for the administrator)
DIRECTORY_GROUPS = [
    ('CN=hub-managers,OU=Groups,DC=shop,DC=demo', "Менеджеры интернет-магазина",
        ['group_manager'], None),
    ('CN=hub-shop-tverskaya,OU=Groups,DC=shop,DC=demo', "Магазин на Тверской",
        ['group_shop'], "Магазин на Тверской"),
    ('CN=hub-shop-nevsky,OU=Groups,DC=shop,DC=demo', "Магазин на Невском",
        ['group_shop'], "Магазин на Невском"),
    ]


def directory_groups():
    pool = Pool()
    GroupMap = pool.get('hub_auth.group_map')
    ModelData = pool.get('ir.model.data')
    Location = pool.get('stock.location')
    shops = {w.name: w.id for w in Location.search(
            [('type', '=', 'warehouse')])}
    GroupMap.create([{'directory_group': dn, 'name': name,
                'groups': [('add', [ModelData.get_id('order_hub', g)
                            for g in groups])],
                'shops': [('add', [shops[shop]] if shop else [])],
                } for dn, name, groups, shop in DIRECTORY_GROUPS])


def user_id(login):
    user, = Pool().get('res.user').search([('login', '=', login)])
    return user.id


# -- the site ------------------------------------------------------------------
def site_catalogue():
    """The hub's catalogue, as loaded from 1C: [(group GUID, name, parent
    GUID)], [(product GUID, article, name, [group GUID])], [(offer id,
    name, price, quantity)] — offers are 1C's GUID#characteristic"""
    pool = Pool()
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    Product = pool.get('product.product')
    StockLevel = pool.get('order_hub.stock')
    groups = [(c.ut11_ref, c.name, c.parent.ut11_ref if c.parent else None)
        for c in Category.search([('ut11_ref', '!=', None)])]
    templates = Template.search([('external_ref', '!=', None)])
    products = [(t.external_ref, t.code, t.name,
            [c.ut11_ref for c in t.categories if c.ut11_ref])
        for t in templates]
    variants = Product.search([('template.external_ref', '!=', None)])
    prices = Product.hub_list_prices(variants)
    stock = {}
    for level in StockLevel.search([('product', 'in', [v.id for v in variants])]):
        stock[level.product.id] = stock.get(level.product.id, 0) + max(
            level.quantity or 0, 0)
    offers = [(v.external_offer_id, v.rec_name,
            prices[v.id], stock.get(v.id, 0)) for v in variants]
    return groups, products, offers


def catalogue_files(groups, products, offers, price_type):
    "import.xml and offers.xml of a full CommerceML 2.07 upload, as 1C's"
    def document():
        return ET.Element('КоммерческаяИнформация', {'ВерсияСхемы': '2.07',
                'ДатаФормирования': time.strftime('%Y-%m-%dT%H:%M:%S')})

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, tag, attrs)
        if text is not None:
            element.text = str(text)
        return element

    def add_groups(parent_element, parent):
        children = [g for g in groups if g[2] == parent]
        if children:
            box = sub(parent_element, 'Группы')
            for ref, name, _ in children:
                group = sub(box, 'Группа')
                sub(group, 'Ид', ref)
                sub(group, 'Наименование', name)
                add_groups(group, ref)

    root = document()
    classifier = sub(root, 'Классификатор')
    sub(classifier, 'Ид', 'hub-demo-classifier')
    sub(classifier, 'Наименование', "Классификатор (1С УТ11)")
    add_groups(classifier, None)
    catalog = sub(root, 'Каталог', СодержитТолькоИзменения='false')
    sub(catalog, 'Ид', 'hub-demo-catalog')
    sub(catalog, 'ИдКлассификатора', 'hub-demo-classifier')
    sub(catalog, 'Наименование', "Основной каталог товаров")
    items = sub(catalog, 'Товары')
    for ref, article, name, refs in products:
        item = sub(items, 'Товар')
        sub(item, 'Ид', ref)
        sub(item, 'Артикул', article)
        sub(item, 'Наименование', name)
        sub(item, 'БазоваяЕдиница', 'шт', Код='796')
        tax = sub(sub(item, 'СтавкиНалогов'), 'СтавкаНалога')
        sub(tax, 'Наименование', 'НДС')
        sub(tax, 'Ставка', '20')
        box = sub(item, 'Группы')
        for group in refs:
            sub(box, 'Ид', group)
    import_xml = ET.tostring(root, encoding='utf-8', xml_declaration=True)

    root = document()
    package = sub(root, 'ПакетПредложений', СодержитТолькоИзменения='false')
    sub(package, 'Ид', 'hub-demo-catalog#')
    sub(package, 'ИдКаталога', 'hub-demo-catalog')
    sub(package, 'Наименование', "Пакет предложений")
    price_type_element = sub(sub(package, 'ТипыЦен'), 'ТипЦены')
    sub(price_type_element, 'Ид', price_type)
    sub(price_type_element, 'Наименование', "Розничная")
    sub(price_type_element, 'Валюта', 'RUB')
    box = sub(package, 'Предложения')
    for offer_id, name, price, quantity in offers:
        offer = sub(box, 'Предложение')
        sub(offer, 'Ид', offer_id)
        sub(offer, 'Наименование', name)
        price_element = sub(sub(offer, 'Цены'), 'Цена')
        sub(price_element, 'ИдТипаЦены', price_type)
        sub(price_element, 'ЦенаЗаЕдиницу', f'{price:.2f}')
        sub(price_element, 'Валюта', 'RUB')
        sub(offer, 'Количество', f'{quantity:f}')
    offers_xml = ET.tostring(root, encoding='utf-8', xml_declaration=True)
    return import_xml, offers_xml


def upload_site_catalogue(url):
    """1C's catalogue exchange with the site (checkauth, init, file,
    import until success): the site sells what the hub knows"""
    with Transaction().start(DATABASE, 0, context=CONTEXT, readonly=True):
        catalogue = site_catalogue()
        price_type = Pool().get('hub_sync.system').get('ut11').ut11_price_type
    credentials = control(url, 'credentials')
    session = requests.Session()
    session.auth = (credentials['login'], credentials['password'])
    exchange = credentials['exchange_url']

    def call(mode, data=None, **params):
        response = session.request('POST' if data else 'GET', exchange,
            params={'type': 'catalog', 'mode': mode, **params}, data=data,
            timeout=30)
        response.raise_for_status()
        answer = response.content.decode('cp1251').splitlines()
        if answer[0] not in ('success', 'progress') and mode != 'init':
            raise RuntimeError(f"site catalogue {mode}: {' '.join(answer)}")
        return answer
    answer = call('checkauth')
    sessid = next(a.split('=', 1)[1] for a in answer
        if a.startswith('sessid='))
    call('init', sessid=sessid)
    for name, content in zip(('import.xml', 'offers.xml'),
            catalogue_files(*catalogue, price_type)):
        call('file', data=content, filename=name, sessid=sessid)
        while call('import', filename=name, sessid=sessid)[0] == 'progress':
            pass


def place_orders(url):
    """Customers order on the site (paid online when the order is paid);
    returns the site's order numbers, in the order of ORDERS"""
    with Transaction().start(DATABASE, 0, context=CONTEXT, readonly=True):
        offers = offer_ids()
    numbers = []
    for state, customer, lines, delivery, extra in ORDERS:
        values = {**site_customer(CUSTOMERS[customer]),
            **SITE_DELIVERIES[delivery],
            'lines': [{'product_xml_id': offers[article, size],
                    'quantity': quantity}
                for article, size, quantity in lines],
            'pay_system_id': 2, 'paid': state not in {
                'awaiting_payment', 'cancelled'}}
        if delivery == 2:
            values['address'] = f"Самовывоз: {extra}"
        elif extra:
            values['promo_code'] = extra
        numbers.append(str(control(url, 'place_order',
                    **values)['account_number']))
    return numbers


def pay_with_yookassa(url, orders):
    """The first paid order was paid through YooKassa, as the site's
    payment module does it: the hub reads the payment (its notification
    has nowhere to go yet), registers the prepayment receipt and sends it
    to the customer"""
    order_id = orders[[o[0] for o in ORDERS].index('paid')]
    number, total = step(lambda: (lambda o: (o.site_number, o.total))(
            Pool().get('order_hub.order')(order_id)))
    sim = control(url, 'credentials')
    response = requests.post(f"{sim['api_url']}/payments", json={
            'amount': {'value': f'{total:.2f}', 'currency': 'RUB'},
            'capture': True, 'description': f'Заказ №{number}',
            'metadata': {'BX_PAYMENT_NUMBER': f'{number}/1'},
            'confirmation': {'type': 'redirect',
                'return_url': 'https://shop.example/'}},
        auth=(sim['shop_id'], sim['secret_key']), timeout=30,
        headers={'Idempotence-Key': f'demo-{number}'})
    response.raise_for_status()
    payment_id = response.json()['id']
    control(url, 'succeed_payment', payment_id=payment_id)
    step(lambda: Pool().get('order_payment.payment').yookassa_sync(
            payment_id))
    step(lambda: Pool().get('hub_sync.outbox').process_due())
    control(url, 'register_receipts')
    step(lambda: Pool().get('order_payment.receipt').yookassa_refresh())


def offer_ids():
    "{(1C article, size): the site's offer id}"
    Product = Pool().get('product.product')
    return {(v.template.code, v.hub_size): v.external_offer_id
        for v in Product.search([('template.external_ref', '!=', None)])}


def fetch_site_orders(numbers):
    """The cron's exchange with the site, once; {site number: hub order id}
    of the orders placed (the site may hold others: they come in too)"""
    Pool().get('site_bridge.importer').fetch()
    Order = Pool().get('order_hub.order')
    orders = {o.site_number: o.id for o in Order.search(
            [('site_number', 'in', numbers)])}
    missing = [n for n in numbers if n not in orders]
    if missing:
        Inbox = Pool().get('hub_sync.inbox')
        errors = {e.last_error for e in Inbox.search(
                [('state', '!=', 'done')]) if e.last_error}
        raise SystemExit(f"Заказы сайта {', '.join(missing)} не пришли в "
            f"хаб: {'; '.join(errors) or 'см. журнал обмена'}")
    return [orders[n] for n in numbers]


# -- the manager's work ------------------------------------------------------
def move_orders(orders, manager):
    """The manager takes the orders (hub ids, as ORDERS) on: pickup shops,
    reservation (the order goes to 1C), hand-over; one order cancelled"""
    steps = {'paid': [], 'assembling': ['reserve', request_shipment],
        'delivering': ['reserve', 'deliver'],
        'issued': ['reserve', 'deliver', 'issue'],
        'cancelled': ['cancel'], 'awaiting_payment': []}
    for order_id, (state, _, _, delivery, extra) in zip(orders, ORDERS):
        if delivery == 2:
            step(lambda: set_pickup_shop(order_id, extra), manager)
        for name in steps[state]:
            if callable(name):
                step(lambda: name(order_id), manager)
                continue
            step(lambda: getattr(Pool().get('order_hub.order'), name)(
                    [Pool().get('order_hub.order')(order_id)]), manager)


def demo_return(orders, manager):
    """The customer of the order paid through YooKassa sends a unit back
    by the carrier: a return block «К возврату» (order_returns), its money
    not refunded yet (orders paid on the site alone hold no payment of the
    hub's to refund)"""
    index = [o[0] for o in ORDERS].index('paid')

    def create():
        pool = Pool()
        Order = pool.get('order_hub.order')
        Block = pool.get('order_returns.block')
        Reason = pool.get('order_returns.reason')
        order = Order(orders[index])
        if order.paid_amount <= 0:
            return
        reason, = Reason.search([], order=[('id', 'ASC')], limit=1)
        Block.create_return(order, [(order.lines[0], 1)], reason,
            channel='carrier')
    step(create, manager)


def request_shipment(order_id):
    """«Запросить товар»: a shipment of the order's goods from where they
    are reserved, for the carrier the customer chose (order_shipments)"""
    from trytond.modules.order_shipments.order import DELIVERY_OF_SERVICE
    pool = Pool()
    Order = pool.get('order_hub.order')
    Shipment = pool.get('order_shipments.shipment')
    order = Order(order_id)
    reserved = [r for r in order.reservations if r.active]
    if not reserved:
        return
    delivery_type, carrier = DELIVERY_OF_SERVICE[order.delivery_service]
    # the carrier when its module plugs in (CDEK: its request form opens)
    carriers = dict(Shipment.get_carriers())
    Shipment.request_goods(order, [(l, l.quantity) for l in order.lines],
        reserved[0].warehouse,
        order.pickup_shop if delivery_type == 'shop_pickup' else None,
        delivery_type, carrier=carrier if carrier in carriers else None)


def russian_post_request(manager):
    """The manager fills the Russian Post request form of the demo's
    Russian Post shipment (carrier_russian_post): «Проверить» (name, phone
    and address cleaned, priced), «Отправить»; the outbox then creates the
    Otpravka order, batches it (the barcode) and attaches the forms"""
    def shipment_ids():
        Shipment = Pool().get('order_shipments.shipment')
        return [s.id for s in Shipment.search([
                    ('carrier', '=', 'russian_post'),
                    ('carrier_state', '=', None),
                    ('state', '=', 'assembling')])]

    def fill(shipment_id):
        Wizard = Pool().get('carrier_russian_post.request.wizard',
            type='wizard')
        with Transaction().set_context(
                active_model='order_shipments.shipment',
                active_id=shipment_id, active_ids=[shipment_id]):
            session_id, _, _ = Wizard.create()
            shown = Wizard.execute(session_id, {}, 'start')
            values = {k: v for k, v in shown['view']['defaults'].items()
                if '.' not in k}
            confirm = {k: v for k, v in Wizard.execute(session_id,
                    {'start': values}, 'check')['view']['defaults'].items()
                if '.' not in k}
            Wizard.execute(session_id, {'confirm': confirm}, 'send')
            Wizard.delete(session_id)

    ids = step(shipment_ids)
    for shipment_id in ids:
        step(lambda: fill(shipment_id), manager)
    step(lambda: Pool().get('hub_sync.outbox').process_due())
    for shipment_id in ids:
        say(step(lambda: (lambda s: f"  {s.number}: {s.carrier_state_string}"
                    f" {s.track_number or ''} {s.carrier_error or ''}")(
                    Pool().get('order_shipments.shipment')(shipment_id))))


def set_pickup_shop(order_id, shop):
    pool = Pool()
    Order = pool.get('order_hub.order')
    Location = pool.get('stock.location')
    shop, = Location.search([('name', '=', shop), ('type', '=', 'warehouse')])
    Order.write([Order(order_id)], {'pickup_shop': shop.id})


# -- marking (Chestny Znak) --------------------------------------------------
def setup_marking(url):
    """Chestny Znak: the connection to the simulator; the marked goods have
    their product group from 1C's ОсобенностьУчета (the full load); the
    registry knows codes for their barcodes; each
    marked order line gets codes for every unit but its last one, left for
    the manager to enter (the registry has a code ready for it)"""
    step(lambda: Pool().get('hub_sync.system').marking_configure_sandbox(
            url))
    for group, codes in step(mark_demo_products).items():
        control(url, 'seed_codes', codes=codes, pg=group)
    step(enter_demo_codes)


def demo_marking_code(gtin, number, group):
    """A code of the group's layout (GS1 characters, GS separators),
    reproducible from the GTIN and a number"""
    import hashlib
    import base64
    digest = base64.b64encode(hashlib.sha256(
            f'{gtin}/{number}'.encode()).digest()).decode()
    serial = digest[:13].replace('/', '.')
    return f'01{gtin}21{serial}\x1d91{digest[13:17]}\x1d92{digest[:44]}'


def demo_gtin(product):
    """The variant's GTIN: its barcode, else one made up from its id
    (with the check digit)"""
    from trytond.modules.marking.parser import gtin14
    for identifier in product.identifiers:
        gtin = gtin14(identifier.code)
        if gtin:
            return gtin
    body = f'0460999{product.id:06d}'
    total = sum(int(d) * (3 if i % 2 == 0 else 1)
        for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def mark_demo_products():
    """{group: [codes]} for the registry: one per ordered unit of a marked
    variant, and two spare (the groups came from 1C's ОсобенностьУчета
    with the full load)"""
    pool = Pool()
    Identifier = pool.get('product.identifier')
    Line = pool.get('order_hub.order.line')
    units = {}
    for line in Line.search([('product.template.hub_marked', '=', True)]):
        units[line.product] = units.get(line.product, 0) + int(line.quantity)
    codes = {}
    for product, count in units.items():
        gtin = demo_gtin(product)
        if not product.identifiers:
            Identifier.create([{'product': product.id, 'type': 'ean',
                        'code': gtin[1:]}])
        group = product.template.marking_group
        codes.setdefault(group, []).extend(
            demo_marking_code(gtin, n, group) for n in range(count + 2))
    return codes


def enter_demo_codes():
    pool = Pool()
    Line = pool.get('order_hub.order.line')
    Code = pool.get('marking.code')
    used = {}
    values = []
    for line in Line.search([('product.template.hub_marked', '=', True)],
            order=[('id', 'ASC')]):
        gtin = demo_gtin(line.product)
        for unit in range(1, int(line.quantity)):
            number = used[gtin] = used.get(gtin, -1) + 1
            values.append({'line': line.id, 'unit': unit,
                    'code': demo_marking_code(gtin, number,
                        line.product.template.marking_group)})
    Code.create(values)


def finish_setup():
    """Skip the module configuration wizard on the first login; the daily
    and six-hourly full loads wait their time (the data was just loaded)"""
    pool = Pool()
    Item = pool.get('ir.module.config_wizard.item')
    Cron = pool.get('ir.cron')
    Item.write(Item.search([]), {'state': 'done'})
    for cron in Cron.search([('method', 'in', HEAVY_CRONS)]):
        cron.next_call = cron.compute_next_call(dt.datetime.now())
        cron.save()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-c', '--config', default='trytond.conf')
    parser.add_argument('-d', '--database', required=True)
    parser.add_argument('--sandbox', required=True,
        help="the simulators' URLs (python -m sandbox --urls-file)")
    args = parser.parse_args()
    with open(args.sandbox) as f:
        urls = json.load(f)
    load(args.database, args.config, urls)
    say(f"Демо-данные загружены в {args.database}.")


if __name__ == '__main__':
    main()
