"""Photos of marking codes from the shop's phone (with ``hub_portal``).

«Коды маркировки» lists the marked order lines the user may see whose units
lack a valid code; a line's page shows each unit with its code and status
and a photo button (``<input capture>``): the photo is posted to
``marking_photo/<line>/<unit>``, stored on the unit and decoded on the
server (zxing-cpp: DataMatrix, which the browsers' scanners rarely read).
An undecodable photo stays attached for the manager to type the code."""
from pathlib import Path

from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta

from .code import ACTIVE

SHOP = 'order_hub.group_shop'
CLOSED_ORDERS = ['issued', 'cancelled']
MAX_PHOTO = 15 * 1024 * 1024


class Portal(metaclass=PoolMeta):
    __name__ = 'hub_portal.portal'

    @classmethod
    def menu_entries(cls):
        return super().menu_entries() + [{
                'page': 'marking', 'args': [], 'groups': [SHOP],
                'label': gettext('marking.msg_portal_marking'),
                'icon': '▦',
                }]

    @classmethod
    def access_groups(cls):
        return dict(super().access_groups(), page_marking_line=[SHOP],
            action_marking_photo=[SHOP])

    @classmethod
    def template_folders(cls):
        return dict(super().template_folders(),
            marking=Path(__file__).resolve().parent / 'portal')

    @classmethod
    def marking_lines(cls):
        "Marked lines of open orders with units still lacking a valid code"
        Line = Pool().get('order_hub.order.line')
        lines = Line.search([('product.template.hub_marked', '=', True),
                ('order.state', 'not in', CLOSED_ORDERS)],
            order=[('order', 'ASC'), ('id', 'ASC')], limit=200)
        return [l for l in lines if len([c for c in l.marking_units
                    if c.state == 'valid']) < l.quantity]

    @classmethod
    def page_marking(cls, request):
        return cls.render(request, 'marking/lines.html',
            title=gettext('marking.msg_portal_marking'),
            lines=cls.marking_lines())

    @classmethod
    def marking_units(cls, line):
        "[(unit number, its active code or None)]"
        codes = {c.unit: c for c in line.marking_units if c.state in ACTIVE}
        return [(unit, codes.get(unit))
            for unit in range(1, int(line.quantity) + 1)]

    @classmethod
    def page_marking_line(cls, request, line_id):
        line = cls.get_record('order_hub.order.line', line_id)
        return cls.render(request, 'marking/line.html',
            title=line.product.rec_name, line=line,
            units=cls.marking_units(line))

    @classmethod
    def action_marking_photo(cls, request, line_id, unit):
        "The photo of a unit's code: a new code, or the unit's code again"
        pool = Pool()
        Code = pool.get('marking.code')
        line = cls.get_record('order_hub.order.line', line_id)
        unit = int(unit) if str(unit).isdigit() else 0
        upload = request.files.get('photo')
        data = upload.read(MAX_PHOTO + 1) if upload else b''
        if not data or len(data) > MAX_PHOTO:
            cls.flash(request, 'error', gettext(
                    'marking.msg_portal_photo_missing'))
            return cls.path('marking_line', line.id)
        existing = dict(cls.marking_units(line)).get(unit)
        name = upload.filename or 'photo.jpg'
        # under the user's access rights and record rules on marking.code
        if existing:
            existing.set_photo(data, name)
            code = Code(existing.id)
        else:
            code, = Code.create([{'line': line.id, 'unit': unit,
                        'photo': data, 'photo_name': name}])
        cls.flash(request, 'info' if code.state != 'unreadable' else 'error',
            gettext('marking.msg_portal_photo_read', unit=unit,
                cis=code.cis) if code.state != 'unreadable'
            else code.validation)
        return cls.path('marking_line', line.id)
