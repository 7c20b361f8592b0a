"""Demo activity: what keeps the simulators busy while the demo runs.

``python -m sandbox --demo`` puts the 1C UT11 demo catalogue on the site (as
1C's CommerceML upload would: same XML_IDs, retail prices), then the site
places a random order every minute and 1C changes stock every 30 seconds.
Off by default: tests stay deterministic.  The data here is invented; the
cities are those of the hub's demo data (``scripts/demo_data.py``).
"""
# city, postcode, streets; the first six have a shop for pickup
CITIES = [
    ('Москва', '125009', ['ул. Тверская', 'Ленинский пр-кт',
        'ул. Профсоюзная', 'ул. Маросейка']),
    ('Санкт-Петербург', '191025', ['Невский пр-кт', 'ул. Марата',
        'Лиговский пр-кт']),
    ('Казань', '420111', ['ул. Баумана', 'ул. Пушкина']),
    ('Екатеринбург', '620014', ['ул. 8 Марта', 'ул. Малышева']),
    ('Нижний Новгород', '603005', ['ул. Большая Покровская',
        'ул. Рождественская']),
    ('Новосибирск', '630099', ['Красный пр-кт', 'ул. Ленина']),
    ('Тверь', '170100', ['ул. Советская', 'Тверской пр-кт']),
    ('Самара', '443099', ['ул. Куйбышева', 'ул. Ленинградская']),
    ('Владимир', '600000', ['ул. Большая Московская']),
    ('Пермь', '614000', ['ул. Ленина', 'Комсомольский пр-кт']),
    ('Краснодар', '350000', ['ул. Красная', 'ул. Северная']),
    ('Тула', '300041', ['пр-кт Ленина', 'ул. Советская']),
    ]
PICKUP_CITIES = 6
# (first name, patronymic, last name, Latin stem for logins)
WOMEN = [('Мария', 'Петровна', 'Иванова', 'ivanova'),
    ('Анна', 'Сергеевна', 'Смирнова', 'smirnova'),
    ('Екатерина', 'Андреевна', 'Кузнецова', 'kuznetsova'),
    ('Ольга', 'Игоревна', 'Попова', 'popova'),
    ('Алсу', 'Ринатовна', 'Гарипова', 'garipova'),
    ('Наталья', 'Викторовна', 'Волкова', 'volkova'),
    ('Дарья', 'Олеговна', 'Лебедева', 'lebedeva')]
MEN = [('Алексей', 'Игоревич', 'Смирнов', 'smirnov'),
    ('Дмитрий', 'Олегович', 'Кузнецов', 'kuznetsov'),
    ('Игорь', 'Андреевич', 'Волков', 'volkov'),
    ('Павел', 'Николаевич', 'Лебедев', 'lebedev'),
    ('Сергей', 'Владимирович', 'Новиков', 'novikov'),
    ('Максим', 'Евгеньевич', 'Орлов', 'orlov'),
    ('Тимур', 'Ильдарович', 'Хасанов', 'khasanov')]
MAIL_DOMAINS = ['mail.ru', 'yandex.ru', 'gmail.com', 'example.ru']
LOYALTY_LEVELS = ['Базовый', 'Серебряный', 'Золотой', 'Платиновый']
COMMENTS = ['', '', '', 'Позвоните за час до доставки', 'Домофон не работает',
    'Оставить у консьержа', 'Нужен чек']
# delivery id -> (cost, terms); ids as the site simulator's DELIVERIES
DELIVERY_TERMS = {2: (0, 'Завтра после 12:00'), 3: (350, '2–4 рабочих дня'),
    4: (490, '1–2 рабочих дня'), 5: (390, '5–7 рабочих дней')}
COURIER = 4
PICKUP = 2
CASH = 1


def random_customer(rng):
    first, middle, last, stem = rng.choice(WOMEN + MEN)
    login = f'{stem}.{rng.randint(10, 999)}'
    return {'login': login, 'name': first, 'second_name': middle,
        'last_name': last, 'email': f'{login}@{rng.choice(MAIL_DOMAINS)}',
        'phone': f'+79{rng.randint(0, 99):02d}{rng.randint(0, 9999999):07d}',
        'loyalty_level': rng.choice(LOYALTY_LEVELS),
        'bonus_balance': rng.choice([0, 0, 150, 340, 1250, 2300])}


def random_delivery(rng):
    "delivery_id, cost, terms, city, postcode, address; paying system"
    delivery_id = rng.choice(list(DELIVERY_TERMS))
    cost, terms = DELIVERY_TERMS[delivery_id]
    cities = CITIES[:PICKUP_CITIES] if delivery_id == PICKUP else CITIES
    city, postcode, streets = rng.choice(cities)
    address = '' if delivery_id == PICKUP else (f'{rng.choice(streets)}, '
        f'д. {rng.randint(1, 120)}, кв. {rng.randint(1, 300)}')
    pay_systems = [2, 4] + ([CASH] if delivery_id == COURIER else [])
    return {'delivery_id': delivery_id, 'delivery_cost': cost,
        'delivery_terms': terms, 'city': city, 'postcode': postcode,
        'address': address, 'pay_system_id': rng.choice(pay_systems)}


def random_lines(rng, offers):
    "1–3 different offers, 1–2 of each; offers: [xml_id]"
    count = min(len(offers), rng.choice([1, 1, 2, 2, 3]))
    return [{'product_xml_id': xml_id, 'quantity': rng.choice([1, 1, 1, 2])}
        for xml_id in rng.sample(offers, count)]


def random_order(rng, offers, promo_codes):
    "Arguments of the site's place_order for a random customer's order"
    if not offers:
        raise ValueError('the site has no offer with a price to sell')
    order = {**random_customer(rng), **random_delivery(rng),
        'lines': random_lines(rng, offers),
        'comment': rng.choice(COMMENTS),
        'promo_code': rng.choice(promo_codes) if promo_codes
        and rng.random() < 0.3 else None}
    order['paid'] = order['pay_system_id'] != CASH and rng.random() < 0.5
    if order['bonus_balance'] and rng.random() < 0.3:
        order['bonus_spent'] = min(order['bonus_balance'], 500)
    return order


def site_catalogue(dataset, ref):
    """The site's catalogue as 1C uploads it from a UT11 data set
    (``sandbox.ut11.demo_dataset()``): sections from the groups, a product
    per item, an offer per size (``item#characteristic``) at the latest
    retail price; ref is ``sandbox.ut11.stable_ref``"""
    prices = {p['article']: p['price'] for p in dataset['products']}
    for change in sorted(dataset.get('prices', []),
            key=lambda p: p.get('period') or ''):
        if change.get('price_type') in (None, 'Розничная'):
            prices[change['article']] = change['price']
    sections = {ref('group', g['name']): {'name': g['name'],
            'parent': g.get('parent') and ref('group', g['parent'])}
        for g in dataset['groups']}
    products = []
    for product in dataset['products']:
        item = ref('item', product['article'])
        offers = [{'xml_id': f'{item}#{ref("size", product["article"], s)}',
                'name': f'{product["name"]}, {s}'}
            for s in product['sizes']] or [{'xml_id': item,
                'name': product['name']}]
        products.append({'xml_id': item, 'article': product['article'],
            'name': product['name'], 'section': ref('group', product['group']),
            'price': prices[product['article']], 'offers': offers})
    return {'sections': sections, 'products': products}


def start(sandbox):
    """Demo activity on the running simulators of a :class:`Sandbox`: the
    site sells the UT11 catalogue and places orders, 1C moves stock"""
    from .ut11 import demo_dataset, stable_ref
    site = sandbox.simulators.get('bitrix_site')
    if site is not None:
        site.load_catalog(**site_catalogue(demo_dataset(), stable_ref))
    for simulator in sandbox.simulators.values():
        simulator.start_demo()
