"""The CDEK request form: one stored record per shipment holding what the
manager confirmed, which the outbox handler sends as it is.

Pre-filled from the shipment (``get_recipient()``, ``get_carrier_items()``)
and the connection; CDEK's own lists (cities, pickup points, tariffs with
price and days) are read by the form's buttons; every check that can be
made here is made before anything is sent (Russian messages)."""
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Bool, Eval

from trytond.modules.hub_sync.errors import SyncError

from .system import SYSTEM

# CDEK accepts these VAT rates on item payments (None: without VAT)
CDEK_VAT_RATES = {None, 0, 10, 12, 20, 22}
MAX_ITEMS = 126
# delivery_mode of CDEK's tariffs: to the recipient's door
TO_DOOR_MODES = {'1', '3'}
TO_POSTAMAT_MODES = {'6', '7'}
FROM_DOOR_MODES = {'1', '2', '6'}
DEFAULT_WEIGHT = 500          # grams per unit when the product knows none
DEFAULT_PACKAGE = (30, 20, 10)
TRANSLIT = dict(zip('АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ',
        ['A', 'B', 'V', 'G', 'D', 'E', 'E', 'ZH', 'Z', 'I', 'I', 'K', 'L',
            'M', 'N', 'O', 'P', 'R', 'S', 'T', 'U', 'F', 'KH', 'TS', 'CH',
            'SH', 'SHCH', '', 'Y', '', 'E', 'YU', 'YA']))


def ascii_number(number):
    "Our shipment number as CDEK takes it (ASCII): ОТ-000001 → OT-000001"
    return ''.join(TRANSLIT.get(c.upper(), c) for c in number or '')


def vat_code(rate):
    "order_payment's VAT code ('22', 'none', '20/120') → CDEK's int or None"
    if rate in (None, '', 'none'):
        return None
    rate = str(rate).split('/')[0]
    return int(rate) if rate.isdigit() else rate


class Request(ModelSQL, ModelView):
    "CDEK Request"
    __name__ = 'carrier_cdek.request'

    shipment = fields.Many2One('order_shipments.shipment', "Shipment",
        required=True, ondelete='CASCADE', readonly=True)
    state = fields.Selection([
            ('draft', "Draft"),
            ('submitted', "Submitted"),
            ], "State", readonly=True)
    number = fields.Char("Number at CDEK", readonly=True,
        help="Our shipment number as sent to CDEK (ASCII).")
    cdek_uuid = fields.Char("CDEK Order UUID", readonly=True)
    # recipient
    recipient_name = fields.Char("Recipient", required=True)
    recipient_phone = fields.Char("Phone", required=True)
    recipient_phone2 = fields.Char("Second Phone")
    recipient_email = fields.Char("E-mail")
    # where from and where to
    from_city_code = fields.Integer("Sender City Code (CDEK)", required=True)
    shipment_point = fields.Char("Drop-off Point",
        help="The CDEK point where the parcel is handed in (tariffs from a "
        "warehouse).")
    from_address = fields.Char("Pickup Address",
        help="The address CDEK collects from (tariffs from the door).")
    city = fields.Char("Recipient City",
        help="Type the city and press «Find» to get its CDEK code and "
        "pickup points.")
    to_city_code = fields.Integer("Recipient City Code (CDEK)")
    delivery_point = fields.Char("Pickup Point",
        help="The code of the CDEK pickup point or parcel locker.")
    delivery_point_info = fields.Text("Pickup Point Details", readonly=True)
    to_address = fields.Char("Courier Address",
        help="Street, house, flat: for tariffs to the door.")
    to_postal_code = fields.Char("Postal Code")
    points_found = fields.Text("Pickup Points Found", readonly=True)
    # tariff
    tariff_code = fields.Integer("Tariff Code", required=True)
    tariff_name = fields.Char("Tariff", readonly=True)
    delivery_mode = fields.Char("Delivery Mode", readonly=True)
    delivery_sum = fields.Numeric("Delivery Price", digits=(16, 2),
        readonly=True)
    period_min = fields.Integer("Days From", readonly=True)
    period_max = fields.Integer("Days To", readonly=True)
    tariffs_found = fields.Text("Tariffs Found", readonly=True)
    # payment
    cod = fields.Boolean("Cash on Delivery",
        help="The recipient pays the items' price at delivery.")
    # sender and seller
    sender_company = fields.Char("Sender Company")
    sender_name = fields.Char("Sender Contact")
    sender_phone = fields.Char("Sender Phone")
    seller_name = fields.Char("Seller")
    seller_inn = fields.Char("Seller INN")
    seller_phone = fields.Char("Seller Phone")
    comment = fields.Char("Comment")
    packages = fields.One2Many('carrier_cdek.request.package', 'request',
        "Packages")
    items = fields.One2Many('carrier_cdek.request.item', 'request', "Items")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'find_points': {'readonly': Eval('state') != 'draft',
                    'depends': ['state']},
                'calculate': {'readonly': Eval('state') != 'draft',
                    'depends': ['state']},
                'send': {'readonly': Eval('state') != 'draft',
                    'depends': ['state']},
                })

    @staticmethod
    def default_state():
        return 'draft'

    @staticmethod
    def default_cod():
        return False

    # -- pre-filling ----------------------------------------------------------
    @classmethod
    def for_shipment(cls, shipment):
        "The shipment's draft request, created pre-filled when none exists"
        requests = cls.search([('shipment', '=', shipment.id)],
            order=[('id', 'DESC')], limit=1)
        if requests:
            request, = requests
            if request.state == 'submitted' \
                    and shipment.carrier_state == 'refused':
                cls.write([request], {'state': 'draft'})
            return request
        request, = cls.create([cls.prefill_values(shipment)])
        return request

    @classmethod
    def prefill_values(cls, shipment):
        recipient = shipment.get_recipient()
        company = shipment.company
        party = company.party if company else None
        items = shipment.get_carrier_items()
        weight = sum(int(i['weight'] or DEFAULT_WEIGHT) * int(i['quantity'])
            for i in items) or DEFAULT_WEIGHT
        length, width, height = DEFAULT_PACKAGE
        values = {'shipment': shipment.id,
            'number': ascii_number(shipment.number),
            'recipient_name': recipient['name'],
            'recipient_phone': recipient['phone'],
            'recipient_email': recipient['email'],
            'city': recipient['city'],
            'to_address': recipient['address'],
            'to_postal_code': recipient['postal_code'],
            'sender_company': party.name if party else None,
            'seller_name': party.name if party else None,
            'cod': False,
            'packages': [('create', [{'number': '1', 'weight': weight,
                            'length': length, 'width': width,
                            'height': height}])],
            'items': [('create', [cls.item_values(i) for i in items])]}
        values.update(cls.prefill_places(shipment))
        return values

    @classmethod
    def item_values(cls, item):
        return {'name': item['name'], 'ware_key': item['article']
            or str(item['product'].id),
            'quantity': int(item['quantity']),
            'cost': item['unit_price'], 'payment': item['unit_price'],
            'vat_rate': item['vat_rate'],
            'weight': int(item['weight'] or DEFAULT_WEIGHT),
            'marking': ', '.join(item['marking_codes'] or [])}

    @classmethod
    def prefill_places(cls, shipment):
        """The sender city and drop-off point, the recipient's city code
        and a default tariff, from CDEK's lists when it answers"""
        values = {'from_city_code': None, 'tariff_code': None}
        warehouse = shipment.from_warehouse
        from_city = getattr(warehouse, 'hub_city', None) if warehouse \
            else None
        try:
            client = cls.client()
            if from_city:
                cities = client.cities(city=from_city.name)
                if cities:
                    values['from_city_code'] = cities[0]['code']
                    points = client.delivery_points(
                        city_code=cities[0]['code'], type='pvz')
                    if points:
                        values['shipment_point'] = points[0]['code']
            if warehouse and from_city:
                values['from_address'] = ', '.join(x for x in [
                        from_city.name,
                        getattr(warehouse, 'hub_street', None)] if x)
            city = shipment.get_recipient()['city']
            if city:
                cities = client.cities(city=city)
                if cities:
                    values['to_city_code'] = cities[0]['code']
        except (SyncError, UserError):
            # CDEK unreachable: the manager fills the codes in the form
            pass
        values['tariff_code'] = 137 \
            if shipment.delivery_type == 'courier' else 136
        return values

    @staticmethod
    def client():
        return Pool().get('hub_sync.system').get(SYSTEM).cdek_client()

    # -- derived --------------------------------------------------------------
    @property
    def to_door(self):
        if self.delivery_mode:
            return self.delivery_mode in TO_DOOR_MODES
        return bool(self.to_address and not self.delivery_point)

    @property
    def from_door(self):
        return (self.delivery_mode or '') in FROM_DOOR_MODES

    @property
    def total_weight(self):
        return sum(p.weight or 0 for p in self.packages)

    def calculator_packages(self):
        return [{'weight': p.weight, 'length': p.length, 'width': p.width,
                'height': p.height} for p in self.packages]

    # -- CDEK's lists ---------------------------------------------------------
    @classmethod
    @ModelView.button
    def find_points(cls, requests):
        "«Найти пункты»: the city's code and its pickup points"
        for request in requests:
            request.lookup_points()
            request.save()

    def lookup_points(self):
        client = self.client()
        try:
            if self.city:
                cities = client.cities(city=self.city)
                if not cities:
                    raise UserError(gettext('carrier_cdek.msg_city_unknown',
                            city=self.city))
                self.to_city_code = cities[0]['code']
            if not self.to_city_code:
                raise UserError(gettext('carrier_cdek.msg_city_needed'))
            points = client.delivery_points(city_code=self.to_city_code,
                weight=self.total_weight or None,
                cod=True if self.cod else None)
        except SyncError as error:
            raise UserError(gettext('carrier_cdek.msg_cdek_unavailable',
                    error=str(error))) from error
        self.points_found = '\n'.join(self.describe_point(p)
            for p in points) or gettext('carrier_cdek.msg_no_points')
        codes = [p['code'] for p in points]
        if codes and self.delivery_point not in codes:
            self.delivery_point = codes[0]
        point = next((p for p in points
                if p['code'] == self.delivery_point), None)
        self.delivery_point_info = self.describe_point(point) \
            if point else None

    @staticmethod
    def describe_point(point):
        "One line a manager reads: code, kind, address, hours, limits, pay"
        limits = []
        if point.get('weight_max'):
            limits.append(gettext('carrier_cdek.msg_point_weight',
                    kg=point['weight_max'] / 1000))
        pay = [gettext(f'carrier_cdek.msg_point_{k}')
            for k in ('cash', 'card') if point.get(k)]
        kind = gettext('carrier_cdek.msg_point_postamat'
            if point.get('type') == 'postamat'
            else 'carrier_cdek.msg_point_pvz')
        return ' — '.join(x for x in [point['code'], kind,
                point.get('address_full') or point.get('address') or '',
                point.get('hours') or '', ', '.join(limits),
                ', '.join(pay) or gettext('carrier_cdek.msg_point_no_pay')]
            if x)

    @classmethod
    @ModelView.button
    def calculate(cls, requests):
        "«Рассчитать»: CDEK's tariffs with price and days for the packages"
        for request in requests:
            request.check_packages()
            request.lookup_tariffs()
            request.save()

    def lookup_tariffs(self, pick=True):
        """CDEK's tariffs for these packages on this route; the chosen
        one's price and days (with ``pick``, the first when it is not
        offered, else none)"""
        client = self.client()
        to_location = {'code': self.to_city_code} if self.to_city_code \
            else {'address': f'{self.city or ""}, {self.to_address or ""}'}
        try:
            tariffs = client.tariffs({'code': self.from_city_code},
                to_location, self.calculator_packages())
        except SyncError as error:
            raise UserError(gettext('carrier_cdek.msg_cdek_unavailable',
                    error=str(error))) from error
        self.tariffs_found = '\n'.join(
            f"{t['tariff_code']} — {t['name']}: {t['delivery_sum']} ₽, "
            f"{t['period_min']}–{t['period_max']} "
            + gettext('carrier_cdek.msg_days') for t in tariffs)
        chosen = next((t for t in tariffs
                if t['tariff_code'] == self.tariff_code), None)
        if chosen is None and tariffs and pick:
            chosen = tariffs[0]
        if chosen is None:
            self.tariff_name = self.delivery_mode = None
            self.delivery_sum = self.period_min = self.period_max = None
        else:
            self.tariff_code = chosen['tariff_code']
            self.tariff_name = chosen['name']
            self.delivery_mode = chosen['delivery_mode']
            self.delivery_sum = chosen['delivery_sum']
            self.period_min = chosen['period_min']
            self.period_max = chosen['period_max']

    # -- checks before sending ------------------------------------------------
    def check_packages(self):
        if not self.packages:
            raise UserError(gettext('carrier_cdek.msg_no_packages'))
        for package in self.packages:
            if not package.weight or package.weight <= 0:
                raise UserError(gettext('carrier_cdek.msg_package_weight',
                        package=package.number))
            for dim in (package.length, package.width, package.height):
                if not dim or dim <= 0:
                    raise UserError(gettext(
                            'carrier_cdek.msg_package_dimensions',
                            package=package.number))

    def check_request(self):
        """Everything CDEK would refuse that we can see here; CDEK's lists
        are read again (the point and the tariff as they are now)"""
        self.check_packages()
        if not self.number or not self.number.isascii() \
                or len(self.number) > 40:
            raise UserError(gettext('carrier_cdek.msg_number_ascii',
                    number=self.number or ''))
        phone = ''.join(c for c in self.recipient_phone or ''
            if c.isdigit())
        if len(phone) < 10:
            raise UserError(gettext('carrier_cdek.msg_phone',
                    phone=self.recipient_phone or ''))
        if not self.items:
            raise UserError(gettext('carrier_cdek.msg_no_items'))
        if len(self.items) > MAX_ITEMS:
            raise UserError(gettext('carrier_cdek.msg_too_many_items',
                    count=len(self.items), max=MAX_ITEMS))
        for item in self.items:
            item.check_item(self)
        if not self.from_door and not self.shipment_point:
            raise UserError(gettext('carrier_cdek.msg_shipment_point'))
        if self.from_door and not self.from_address:
            raise UserError(gettext('carrier_cdek.msg_from_address'))
        self.lookup_tariffs(pick=False)
        if self.delivery_mode is None:
            raise UserError(gettext('carrier_cdek.msg_tariff_unavailable',
                    tariff=self.tariff_code))
        if self.to_door:
            if not self.to_address:
                raise UserError(gettext('carrier_cdek.msg_to_address'))
        else:
            self.check_point()

    def check_point(self):
        if not self.delivery_point:
            raise UserError(gettext('carrier_cdek.msg_point_needed',
                    tariff=self.tariff_name or self.tariff_code))
        try:
            points = self.client().delivery_points(code=self.delivery_point)
        except SyncError as error:
            raise UserError(gettext('carrier_cdek.msg_cdek_unavailable',
                    error=str(error))) from error
        point = next((p for p in points
                if p['code'] == self.delivery_point), None)
        if point is None:
            raise UserError(gettext('carrier_cdek.msg_point_unknown',
                    point=self.delivery_point))
        wanted = 'postamat' if self.delivery_mode in TO_POSTAMAT_MODES \
            else 'pvz'
        if point['type'] != wanted:
            raise UserError(gettext('carrier_cdek.msg_point_type',
                    point=self.delivery_point,
                    tariff=self.tariff_name or self.tariff_code))
        heaviest = max((p.weight for p in self.packages), default=0)
        if point['weight_max'] and heaviest > point['weight_max']:
            raise UserError(gettext('carrier_cdek.msg_point_too_heavy',
                    point=self.delivery_point,
                    weight=heaviest / 1000, max=point['weight_max'] / 1000))
        if self.cod and not (point['cash'] or point['card']):
            raise UserError(gettext('carrier_cdek.msg_point_no_cod',
                    point=self.delivery_point))
        self.delivery_point_info = self.describe_point(point)

    @classmethod
    @ModelView.button
    def send(cls, requests):
        "«Отправить в СДЭК»: checked, stored, then the shipment's submit"
        Shipment = Pool().get('order_shipments.shipment')
        for request in requests:
            request.check_request()
            request.state = 'submitted'
            request.cdek_uuid = None
            request.save()
        Shipment.submit_carrier_request([r.shipment for r in requests])

    # -- the order payload (small overridable parts) --------------------------
    def get_order_payload(self):
        payload = self._payload_header()
        payload.update(self._payload_places())
        payload['recipient'] = self._payload_recipient()
        payload.update(self._payload_parties())
        payload['packages'] = self._payload_packages()
        services = self._payload_services()
        if services:
            payload['services'] = services
        return payload

    def _payload_header(self):
        header = {'type': 1, 'number': self.number,
            'tariff_code': self.tariff_code}
        if self.comment:
            header['comment'] = self.comment
        return header

    def _payload_places(self):
        places = {}
        if self.from_door:
            places['from_location'] = {'code': self.from_city_code,
                'address': self.from_address}
        else:
            places['shipment_point'] = self.shipment_point
        if self.to_door:
            location = {'address': self.to_address}
            if self.to_city_code:
                location['code'] = self.to_city_code
            if self.city:
                location['city'] = self.city
            if self.to_postal_code:
                location['postal_code'] = self.to_postal_code
            places['to_location'] = location
        else:
            places['delivery_point'] = self.delivery_point
        return places

    def _payload_recipient(self):
        phones = [{'number': p} for p in (self.recipient_phone,
                self.recipient_phone2) if p]
        recipient = {'name': self.recipient_name, 'phones': phones}
        if self.recipient_email:
            recipient['email'] = self.recipient_email
        return recipient

    def _payload_parties(self):
        parties = {}
        sender = {k: v for k, v in (('company', self.sender_company),
                ('name', self.sender_name)) if v}
        if self.sender_phone:
            sender['phones'] = [{'number': self.sender_phone}]
        if sender.get('name'):
            parties['sender'] = sender
        seller = {k: v for k, v in (('name', self.seller_name),
                ('inn', self.seller_inn), ('phone', self.seller_phone)) if v}
        if seller:
            parties['seller'] = seller
        return parties

    def _payload_packages(self):
        packages = []
        for index, package in enumerate(self.packages):
            items = [i.get_payload(self) for i in self.items
                if (i.package or '1') == package.number
                or (index == 0 and not any(
                        p.number == (i.package or '1')
                        for p in self.packages))]
            values = {'number': f'{self.number}-{package.number}',
                'weight': package.weight, 'length': package.length,
                'width': package.width, 'height': package.height,
                'items': items}
            if package.comment:
                values['comment'] = package.comment
            packages.append(values)
        return packages

    def _payload_services(self):
        return []


class RequestPackage(ModelSQL, ModelView):
    "CDEK Request Package"
    __name__ = 'carrier_cdek.request.package'

    request = fields.Many2One('carrier_cdek.request', "Request",
        required=True, ondelete='CASCADE')
    number = fields.Char("Number", required=True)
    weight = fields.Integer("Weight (g)", required=True)
    length = fields.Integer("Length (cm)", required=True)
    width = fields.Integer("Width (cm)", required=True)
    height = fields.Integer("Height (cm)", required=True)
    comment = fields.Char("Comment")


class RequestItem(ModelSQL, ModelView):
    "CDEK Request Item"
    __name__ = 'carrier_cdek.request.item'

    request = fields.Many2One('carrier_cdek.request', "Request",
        required=True, ondelete='CASCADE')
    package = fields.Char("Package", help="The package number (1 if empty).")
    name = fields.Char("Name", required=True)
    ware_key = fields.Char("Article", required=True)
    quantity = fields.Integer("Quantity", required=True)
    weight = fields.Integer("Weight (g)", required=True,
        help="Of one unit.")
    cost = fields.Numeric("Declared Value", digits=(16, 2), required=True,
        help="Of one unit: CDEK's insurance.")
    payment = fields.Numeric("Payment at Delivery", digits=(16, 2),
        help="Of one unit, collected at delivery (cash on delivery only).",
        states={'invisible': ~Bool(Eval('_parent_request', {}).get('cod'))})
    vat_rate = fields.Char("VAT Rate",
        help="As the receipts print it: 22, 10, 0 or none.")
    marking = fields.Char("Marking Code")

    def check_item(self, request):
        if not self.quantity or self.quantity <= 0:
            raise UserError(gettext('carrier_cdek.msg_item_quantity',
                    item=self.name))
        if not self.weight or self.weight <= 0:
            raise UserError(gettext('carrier_cdek.msg_item_weight',
                    item=self.name))
        if self.cost is None or self.cost < 0:
            raise UserError(gettext('carrier_cdek.msg_item_cost',
                    item=self.name))
        if request.cod:
            if self.payment is None or self.payment < 0:
                raise UserError(gettext('carrier_cdek.msg_item_payment',
                        item=self.name))
            if vat_code(self.vat_rate) not in CDEK_VAT_RATES:
                raise UserError(gettext('carrier_cdek.msg_item_vat',
                        item=self.name, rate=self.vat_rate))

    def get_payload(self, request):
        payment = {'value': self.payment if request.cod else Decimal(0)}
        if request.cod:
            rate = vat_code(self.vat_rate)
            payment['vat_rate'] = rate
            if rate:
                payment['vat_sum'] = (self.payment * rate / (100 + rate)
                    ).quantize(Decimal('0.01'))
        item = {'name': self.name, 'ware_key': self.ware_key,
            'payment': payment, 'cost': self.cost, 'weight': self.weight,
            'amount': self.quantity}
        if self.marking:
            item['marking'] = self.marking
        return item
