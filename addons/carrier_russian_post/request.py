"""The Russian Post request form (Otpravka order) of a shipment.

The wizard is pre-filled from the shipment (``get_recipient()``,
``get_carrier_items()``) and its order, checked in Russian, then asks
Otpravka to clean the address (or looks the post office up) and to price
the parcel; the result is shown for confirmation.  Confirmed, the request
is stored (``carrier_russian_post.request``, linked to the shipment) and
``Shipment.submit_carrier_request`` is called."""
import json
from decimal import Decimal

from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from trytond.modules.hub_sync.errors import SyncError

from .system import SYSTEM

MAIL_TYPES = [
    ('POSTAL_PARCEL', "Parcel"),
    ('ONLINE_PARCEL', "Online Parcel"),
    ('ONLINE_COURIER', "Online Courier"),
    ('EMS', "EMS"),
    ('PARCEL_CLASS_1', "First Class Parcel"),
    ('ECOM', "ECOM"),
    ]
MAIL_CATEGORIES = [
    ('ORDINARY', "Ordinary"),
    ('ORDERED', "Registered"),
    ('WITH_DECLARED_VALUE', "With Declared Value"),
    ('WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY',
        "With Declared Value and Cash on Delivery"),
    ]
COD_CATEGORY = 'WITH_DECLARED_VALUE_AND_CASH_ON_DELIVERY'
VALUE_CATEGORIES = {'WITH_DECLARED_VALUE', COD_CATEGORY}
# the cleaning's quality codes taken as they are (the reference names the
# calls, not the codes: the simulator's, unconfirmed)
SURE_NAME = {'EDITED', 'CONFIRMED_MANUALLY'}
GOOD_PHONE = {'GOOD', 'CONFIRMED_MANUALLY'}
DEFAULT_MASS = 1000     # grams, when the goods' weights are unknown
MAX_MASS = 20000        # a parcel, Otpravka's usual limit (grams)


class RequestMixin:
    "The fields of an Otpravka order as the manager fills them"
    __slots__ = ()
    mail_type = fields.Selection(MAIL_TYPES, "Mail Type", required=True)
    mail_category = fields.Selection(MAIL_CATEGORIES, "Mail Category",
        required=True)
    surname = fields.Char("Surname", required=True)
    given_name = fields.Char("Given Name", required=True)
    middle_name = fields.Char("Middle Name")
    phone = fields.Char("Phone")
    sms_notice = fields.Boolean("SMS Notice")
    destination = fields.Selection([
            ('address', "To the Address"),
            ('office', "To a Post Office"),
            ], "Destination", required=True)
    address = fields.Char("Address",
        states={'invisible': Eval('destination') != 'address',
            'required': Eval('destination') == 'address'},
        help="As the customer wrote it; Russian Post normalises it.")
    office_index = fields.Char("Post Office Index",
        states={'invisible': Eval('destination') != 'office',
            'required': Eval('destination') == 'office'},
        help="The index of the post office where the customer collects "
        "the parcel.")
    cleaned_name = fields.Char("Recipient for Russian Post", readonly=True,
        help="The name as Russian Post's name cleaning split it.")
    cleaned_phone = fields.Char("Phone for Russian Post", readonly=True,
        help="The phone as Russian Post's phone cleaning understood it.")
    cleaned_address = fields.Char("Address for Russian Post", readonly=True,
        help="The address as Russian Post's address cleaning understood "
        "it.")
    address_data = fields.Text("Address Data", readonly=True)
    mass = fields.Integer("Weight (g)", required=True)
    length = fields.Integer("Length (cm)")
    width = fields.Integer("Width (cm)")
    height = fields.Integer("Height (cm)")
    fragile = fields.Boolean("Fragile")
    declared_value = fields.Numeric("Declared Value", digits=(16, 2),
        states={'invisible': ~Eval('mail_category').in_(
                list(VALUE_CATEGORIES))})
    cash_on_delivery = fields.Numeric("Cash on Delivery", digits=(16, 2),
        states={'invisible': Eval('mail_category') != COD_CATEGORY})
    tariff_price = fields.Numeric("Price with VAT", digits=(16, 2),
        readonly=True)
    tariff_days = fields.Char("Delivery Days", readonly=True)
    comment = fields.Char("Comment")

    @staticmethod
    def default_mail_type():
        return 'POSTAL_PARCEL'

    @staticmethod
    def default_mail_category():
        return 'ORDINARY'

    @staticmethod
    def default_destination():
        return 'address'

    def recipient(self):
        return {'surname': self.surname, 'given_name': self.given_name,
            'middle_name': self.middle_name, 'name': ' '.join(filter(None,
                    (self.surname, self.given_name, self.middle_name)))}

    def address_values(self):
        "The cleaned address (or the office's) as build_order takes it"
        return json.loads(self.address_data or '{}')

    def otpravka_values(self, shipping_point):
        "build_order's keyword arguments of this request"
        dimensions = {k: getattr(self, k) for k in ('length', 'width',
                'height') if getattr(self, k)}
        return {'mail_type': self.mail_type,
            'mail_category': self.mail_category, 'phone': self.phone,
            'declared_value': self.declared_value
            if self.mail_category in VALUE_CATEGORIES else None,
            'cash_on_delivery': self.cash_on_delivery
            if self.mail_category == COD_CATEGORY else None,
            'dimensions': dimensions or None, 'comment': self.comment,
            'shipping_point': shipping_point, 'fragile': self.fragile,
            'sms_notice': self.sms_notice}

    def check_values(self, shipment):
        "Our own rules, in Russian, before anything is asked of Otpravka"
        def refuse(message, **values):
            raise UserError(gettext('carrier_russian_post.' + message,
                    shipment=shipment.rec_name, **values))
        if not (self.surname or '').strip() or not (
                self.given_name or '').strip():
            refuse('msg_no_recipient')
        if self.destination == 'address' and not (self.address or '').strip():
            refuse('msg_no_address')
        if self.destination == 'office' and not (
                self.office_index or '').strip().isdigit():
            refuse('msg_bad_office_index', index=self.office_index or '')
        if not self.mass or self.mass <= 0 or self.mass > MAX_MASS:
            refuse('msg_bad_mass', mass=self.mass or 0, limit=MAX_MASS)
        if any((getattr(self, k) or 0) < 0
                for k in ('length', 'width', 'height')):
            refuse('msg_bad_dimensions')
        digits = ''.join(c for c in self.phone or '' if c.isdigit())
        if self.phone and len(digits) not in {10, 11}:
            refuse('msg_bad_phone', phone=self.phone)
        if self.mail_category in VALUE_CATEGORIES and not (
                self.declared_value and self.declared_value > 0):
            refuse('msg_no_declared_value')
        if self.mail_category == COD_CATEGORY:
            if not (self.cash_on_delivery and self.cash_on_delivery > 0):
                refuse('msg_no_cash_on_delivery')
            if self.cash_on_delivery > self.declared_value:
                refuse('msg_cod_above_value',
                    cod=self.cash_on_delivery, value=self.declared_value)

    def check_remote(self, client, shipping_point):
        """Clean the name, the phone and the address (or read the post
        office) and price the parcel with Otpravka; a Russian UserError
        when it cannot be sent"""
        self.clean_name(client)
        self.clean_phone(client)
        if self.destination == 'address':
            cleaned = client.clean_address(self.address.strip())
            if not cleaned['deliverable']:
                raise UserError(gettext(
                        'carrier_russian_post.msg_address_not_clean',
                        problem=cleaned['problem']))
            self.cleaned_address = ', '.join(str(cleaned[k]) for k in (
                    'index', 'region', 'place', 'street', 'house', 'room')
                if cleaned.get(k))
            data = {k: v for k, v in cleaned.items()
                if k not in {'deliverable', 'problem'}}
        else:
            index = self.office_index.strip()
            office = client.post_office(index)
            if office is None:
                raise UserError(gettext(
                        'carrier_russian_post.msg_office_unknown',
                        index=index))
            if office.get('is-closed') or office.get('is-temporary-closed'):
                raise UserError(gettext(
                        'carrier_russian_post.msg_office_closed',
                        index=index))
            data = {'index': index, 'region': office.get('region'),
                'place': office.get('settlement') or office.get('district')
                or office.get('region'),
                'address-type': 'DEMAND_POSTOFFICE'}
            self.cleaned_address = ', '.join(filter(None, (index,
                        office.get('address-source'))))
        self.address_data = json.dumps(data, ensure_ascii=False)
        price = client.tariff(shipping_point, data.get('index'), self.mass,
            mail_type=self.mail_type, mail_category=self.mail_category,
            declared_value=self.declared_value
            if self.mail_category in VALUE_CATEGORIES else None,
            fragile=bool(self.fragile))
        self.tariff_price = price['total_with_vat']
        self.tariff_days = '–'.join(str(d) for d in (
                price['min_days'], price['max_days']) if d is not None)


    def clean_name(self, client):
        """Russian Post's split of the recipient's name replaces ours when
        it is sure of it (EDITED, CONFIRMED_MANUALLY); otherwise ours is
        kept and the answer shown as a doubt"""
        typed = self.recipient()['name']
        answer = client.clean_names({'0': typed})['0']
        parts = [(answer.get(k) or '').strip()
            for k in ('surname', 'name', 'middle-name')]
        if (answer.get('quality-code') in SURE_NAME and parts[0]
                and parts[1]):
            self.surname, self.given_name = parts[:2]
            self.middle_name = parts[2] or None
            self.cleaned_name = ' '.join(filter(None, parts))
        else:
            self.cleaned_name = gettext(
                'carrier_russian_post.msg_name_not_sure', name=typed,
                quality=answer.get('quality-code') or '—')

    def clean_phone(self, client):
        """The phone as Russian Post reads it (the order gets its digits);
        one it cannot read is refused: corrected or left empty"""
        if not (self.phone or '').strip():
            self.cleaned_phone = None
            return
        answer = client.clean_phones({'0': self.phone})['0']
        country, city, number = (str(answer.get(k) or '') for k in (
                'phone-country-code', 'phone-city-code', 'phone-number'))
        if answer.get('quality-code') not in GOOD_PHONE or not (
                city and number):
            raise UserError(gettext('carrier_russian_post.msg_phone_not_clean',
                    phone=self.phone,
                    quality=answer.get('quality-code') or '—'))
        self.phone = f'+{country or "7"}{city}{number}'
        self.cleaned_phone = f'+{country or "7"} {city} {number}'


class Request(RequestMixin, ModelSQL, ModelView):
    "Russian Post Request"
    __name__ = 'carrier_russian_post.request'
    shipment = fields.Many2One('order_shipments.shipment', "Shipment",
        required=True, readonly=True, ondelete='CASCADE')
    create_uid_name = fields.Function(fields.Char("Requested By"),
        'get_create_uid_name')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('shipment')
        cls._order = [('id', 'DESC')]
        for name in RequestMixin.__dict__:
            field = getattr(cls, name, None)
            if isinstance(field, fields.Field):
                field.readonly = True

    def get_create_uid_name(self, name):
        return self.create_uid.rec_name if self.create_uid else None


class RequestStart(RequestMixin, ModelView):
    "Russian Post Request"
    __name__ = 'carrier_russian_post.request.start'
    shipment = fields.Many2One('order_shipments.shipment', "Shipment",
        readonly=True)
    goods = fields.Text("Goods", readonly=True)
    confirmed = fields.Boolean("Checked", readonly=True)


class RequestWizard(Wizard):
    "Russian Post Request"
    __name__ = 'carrier_russian_post.request.wizard'
    start = StateView('carrier_russian_post.request.start',
        'carrier_russian_post.request_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Check", 'check', 'tryton-forward', default=True),
            ])
    check = StateTransition()
    confirm = StateView('carrier_russian_post.request.start',
        'carrier_russian_post.request_confirm_view_form', [
            Button("Change", 'start', 'tryton-back'),
            Button("Send to Russian Post", 'send', 'tryton-ok',
                default=True, states={'readonly': ~Bool(Eval('confirmed'))}),
            ])
    send = StateTransition()

    def shipment(self):
        Shipment = Pool().get('order_shipments.shipment')
        return Shipment(Transaction().context['active_id'])

    def default_start(self, fields):
        if getattr(self.start, 'surname', None):
            values = self.start._default_values
            values['confirmed'] = False
            return values
        return self.prefill(self.shipment())

    @classmethod
    def prefill(cls, shipment):
        "The form's values from the shipment, its order and a last request"
        recipient = shipment.get_recipient()
        items = shipment.get_carrier_items()
        parts = (recipient.get('name') or '').split()
        amount = sum((i['amount'] or 0 for i in items), Decimal(0))
        weights = [i['weight'] for i in items]
        values = {'shipment': shipment.id, 'mail_type': 'POSTAL_PARCEL',
            'mail_category': 'ORDINARY', 'destination': 'address',
            'surname': parts[0] if parts else None,
            'given_name': parts[1] if len(parts) > 1 else None,
            'middle_name': ' '.join(parts[2:]) or None,
            'phone': recipient.get('phone'),
            'address': ', '.join(str(v) for v in (
                    recipient.get('postal_code'), recipient.get('city'),
                    recipient.get('address')) if v),
            'mass': int(sum(w * i['quantity'] for w, i in zip(weights, items))
                if items and all(weights) else DEFAULT_MASS),
            'declared_value': amount, 'cash_on_delivery': None,
            'goods': '\n'.join(f"{i['name']} × {i['quantity']:g}: "
                f"{i['amount']}" for i in items),
            'confirmed': False}
        if shipment.delivery_type == 'pickup_point':
            # a post office or ECOM point chosen by the customer; a
            # 'post_office' delivery goes to the office serving the address
            values['destination'] = 'office'
            values['office_index'] = recipient.get('postal_code')
        due = shipment.order.payment_due
        if due and due > 0:
            values['mail_category'] = COD_CATEGORY
            values['cash_on_delivery'] = min(due, amount)
        last = shipment.russian_post_request()
        if last:
            for name in RequestMixin.__dict__:
                if isinstance(getattr(RequestMixin, name), fields.Field):
                    values[name] = getattr(last, name)
        return values

    def transition_check(self):
        System = Pool().get('hub_sync.system')
        shipment = self.shipment()
        shipment.check_carrier('send')
        self.start.check_values(shipment)
        system = System.get(SYSTEM)
        try:
            self.start.check_remote(system.russian_post_client(),
                system.russian_post_shipping_point)
        except SyncError as error:
            raise UserError(gettext(
                    'carrier_russian_post.msg_service_unavailable',
                    reason=error.message if hasattr(error, 'message')
                    else str(error)))
        self.start.confirmed = True
        return 'confirm'

    def default_confirm(self, fields):
        return self.start._default_values

    def transition_send(self):
        Shipment = Pool().get('order_shipments.shipment')
        if not self.start.confirmed:
            return 'start'
        shipment = self.shipment()
        self.save_request(shipment, self.start)
        Shipment.submit_carrier_request([Shipment(shipment.id)])
        return 'end'

    @classmethod
    def save_request(cls, shipment, form):
        "The confirmed form as the shipment's request record"
        Request = Pool().get('carrier_russian_post.request')
        values = {name: getattr(form, name) for name in RequestMixin.__dict__
            if isinstance(getattr(RequestMixin, name), fields.Field)}
        request, = Request.create([{**values, 'shipment': shipment.id}])
        return request
