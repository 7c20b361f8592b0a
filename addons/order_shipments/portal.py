"""The shop's phone portal pages for shipments (with ``hub_portal``).

«Выдача» (pickups coming to and waiting in the user's shops), «Отправить»
(transfers to send), «Принять» (transfers arriving) and the shipment page
``<portal>/shipment/<number>`` that the pickup slip's QR code opens.  The
actions call the same model methods as the desktop buttons (``arrive``,
``hand_over``, ``shop_ship``, ``shop_receive``), as the logged-in user:
the same record rules, shop checks, logs, notifications and receipts."""
import datetime
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

SHOP = 'order_hub.group_shop'
# a shipment number typed by hand: «ОТ-000012», «от 12», «12»
NUMBER = re.compile(r'(?:ОТ|OT)?[\s-]*0*(\d{1,9})', re.IGNORECASE)


class Portal(metaclass=PoolMeta):
    __name__ = 'hub_portal.portal'

    @classmethod
    def menu_entries(cls):
        return super().menu_entries() + [{
                'page': 'pickups', 'args': [], 'groups': [SHOP],
                'label': gettext('order_shipments.msg_portal_pickups'),
                'icon': '📦',
                }, {
                'page': 'to_send', 'args': [], 'groups': [SHOP],
                'label': gettext('order_shipments.msg_portal_to_send'),
                'icon': '⇧',
                }, {
                'page': 'arriving', 'args': [], 'groups': [SHOP],
                'label': gettext('order_shipments.msg_portal_arriving'),
                'icon': '⇩',
                }]

    @classmethod
    def access_groups(cls):
        return dict(super().access_groups(),
            page_shipment=[SHOP],
            action_shipment_arrive=[SHOP],
            action_shipment_hand_over=[SHOP],
            action_transfer_ship=[SHOP],
            action_transfer_receive=[SHOP])

    @classmethod
    def template_folders(cls):
        return dict(super().template_folders(),
            order_shipments=Path(__file__).resolve().parent / 'portal')

    # -- helpers for the templates --------------------------------------------
    @classmethod
    def local_time(cls, value):
        "A UTC datetime as the company's local time, «07.12.2026 14:05»"
        if not value:
            return ''
        Company = Pool().get('company.company')
        company_id = Transaction().context.get('company')
        zone = datetime.UTC
        if company_id:
            try:
                zone = ZoneInfo(Company(company_id).timezone or 'UTC')
            except ZoneInfoNotFoundError:
                pass
        value = value.replace(tzinfo=datetime.UTC).astimezone(zone)
        return value.strftime('%d.%m.%Y %H:%M')

    @staticmethod
    def quantity(value):
        "12 for Decimal('12'), 1.5 for Decimal('1.50')"
        return f'{value.normalize():f}' if value is not None else ''

    # -- pages ----------------------------------------------------------------
    @classmethod
    def pickups_domain(cls):
        "Pickups coming to or waiting in the user's shops"
        return [('delivery_type', '=', 'shop_pickup'),
            ('state', 'in', ['sent', 'delivered']),
            ('at_my_shop', '=', True)]

    @classmethod
    def page_pickups(cls, request):
        "«Выдача»: waiting in the shop first, then on the way"
        Shipment = Pool().get('order_shipments.shipment')
        shipments = Shipment.search(cls.pickups_domain(),
            order=[('state_date', 'ASC'), ('id', 'ASC')])
        return cls.render(request, 'order_shipments/pickups.html',
            title=gettext('order_shipments.msg_portal_pickups'),
            waiting=[s for s in shipments if s.state == 'delivered'],
            coming=[s for s in shipments if s.state == 'sent'])

    @classmethod
    def transfers(cls, state, side):
        Transfer = Pool().get('order_hub.transfer')
        return Transfer.search([('state', '=', state), (side, '=', True)],
            order=[('date', 'ASC'), ('id', 'ASC')])

    @classmethod
    def page_to_send(cls, request):
        "«Отправить»: transfers the user's shops must send"
        return cls.render(request, 'order_shipments/transfers.html',
            title=gettext('order_shipments.msg_portal_to_send'),
            transfers=cls.transfers('requested', 'sent_by_my_shop'),
            action='transfer_ship', label='Отправлено',
            empty='Отправлять нечего.')

    @classmethod
    def page_arriving(cls, request):
        "«Принять»: transfers on their way to the user's shops"
        return cls.render(request, 'order_shipments/transfers.html',
            title=gettext('order_shipments.msg_portal_arriving'),
            transfers=cls.transfers('in_transit', 'received_by_my_shop'),
            action='transfer_receive', label='Получено',
            empty='Товаров в пути нет.')

    @classmethod
    def page_shipment(cls, request, number):
        "A shipment: goods, customer, status, «Доставлено» and «Выдан»"
        shipment = cls.get_record('order_shipments.shipment', number,
            field='number')
        return cls.render(request, 'order_shipments/shipment.html',
            title=gettext('order_shipments.msg_portal_shipment',
                number=shipment.number),
            shipment=shipment)

    # -- actions: the desktop buttons' methods --------------------------------
    @classmethod
    def action_shipment_arrive(cls, request, number):
        "«Доставлено»: the customer is told the goods wait in the shop"
        Shipment = Pool().get('order_shipments.shipment')
        shipment = cls.get_record('order_shipments.shipment', number,
            field='number')
        Shipment.arrive([shipment])
        cls.flash(request, 'info', gettext(
                'order_shipments.msg_portal_arrived', number=shipment.number))
        return cls.path('shipment', shipment.number)

    @classmethod
    def action_shipment_hand_over(cls, request, number):
        "«Выдан»: handed to the customer; the last one issues the order"
        Shipment = Pool().get('order_shipments.shipment')
        shipment = cls.get_record('order_shipments.shipment', number,
            field='number')
        Shipment.hand_over([shipment])
        cls.flash(request, 'info', gettext(
                'order_shipments.msg_portal_handed_over',
                number=shipment.number))
        return cls.path('shipment', shipment.number)

    @classmethod
    def action_transfer_ship(cls, request, transfer_id):
        "«Отправлено» of a transfer from the user's shop"
        Transfer = Pool().get('order_hub.transfer')
        transfer = cls.get_record('order_hub.transfer', transfer_id)
        Transfer.shop_ship([transfer])
        cls.flash(request, 'info', gettext(
                'order_shipments.msg_portal_transfer_shipped',
                transfer=transfer.rec_name))
        return cls.path('to_send')

    @classmethod
    def action_transfer_receive(cls, request, transfer_id):
        "«Получено» of a transfer to the user's shop"
        Transfer = Pool().get('order_hub.transfer')
        transfer = cls.get_record('order_hub.transfer', transfer_id)
        Transfer.shop_receive([transfer])
        cls.flash(request, 'info', gettext(
                'order_shipments.msg_portal_transfer_received',
                transfer=transfer.rec_name))
        return cls.path('arriving')

    # -- scanned or typed codes -----------------------------------------------
    @classmethod
    def resolve_code(cls, code):
        "A shipment number typed by hand opens the shipment too"
        target = super().resolve_code(code)
        if target:
            return target
        number = cls.shipment_number(code)
        if number:
            return cls.path('shipment', number)
        return None

    @classmethod
    def shipment_number(cls, code):
        """The number of the shipment the user may see that code names
        («ОТ-000012», «от 12», «12»), or None"""
        Shipment = Pool().get('order_shipments.shipment')
        code = code.strip()
        shipments = Shipment.search([('number', '=', code)], limit=1)
        if not shipments:
            found = NUMBER.fullmatch(code)
            if not found:
                return None
            digits = found.group(1)
            shipments = Shipment.search([
                    ('number', 'ilike', f'%-{digits.zfill(6)}')], limit=1)
            if not shipments and len(digits) > 6:
                shipments = Shipment.search([
                        ('number', 'ilike', f'%-{digits}')], limit=1)
        return shipments[0].number if shipments else None


class Configuration(metaclass=PoolMeta):
    __name__ = 'order_shipments.configuration'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # the portal knows its own address ([hub_portal] url)
        cls.portal_url.states = dict(cls.portal_url.states or {},
            invisible=True)

    def shipment_url(self, shipment):
        "The portal's page of the shipment, with the database"
        Portal = Pool().get('hub_portal.portal')
        return Portal.url('shipment', shipment.number or '')
