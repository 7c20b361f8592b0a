from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .code import codes_of_line

RECEIPT_STATES = ('valid', 'pending')


class OrderLine(metaclass=PoolMeta):
    __name__ = 'order_hub.order.line'

    marking_units = fields.One2Many('marking.code', 'line', "Marking Codes",
        states={'invisible': ~Eval('marking_required')},
        help="One code per unit of a marked product.")
    marking_required = fields.Function(fields.Boolean("Marked"),
        'get_marking_required')
    marking_summary = fields.Function(fields.Char("Codes"),
        'get_marking_summary')

    def get_marking_required(self, name):
        return bool(self.product and self.product.hub_marked)

    def marking_codes(self):
        """The codes of the units for the receipt (full КМ with GS), by
        unit: valid ones and those whose registry check is still pending
        (registry down).  A marked unit is sold with its code (tag 2000,
        the ФН/ОФД check it; tag 2106 tells it was not checked online): a
        pending code still goes in, and its check goes on in the outbox"""
        return super().marking_codes() + [c.code
            for c in codes_of_line(self, RECEIPT_STATES)]

    def get_marking_summary(self, name):
        if not self.marking_required:
            return ''
        return gettext('marking.msg_line_summary',
            valid=len(codes_of_line(self)),
            quantity=int(self.quantity or 0))

    @classmethod
    def marking_returned(cls, lines):
        """Marked goods of the lines came back: the codes a withdrawal
        document took out of circulation return to it (LP_RETURN).  Codes
        sold by a receipt that carried them need nothing: the refund
        receipt carries them too and the fiscal data operator reports it.
        For order_returns to call when goods are returned; returns the
        documents"""
        Document = Pool().get('marking.document')
        by_order = {}
        for line in lines:
            withdrawn = [c for c in codes_of_line(line)
                if c.marking_withdrawn()]
            by_order.setdefault(line.order, []).extend(withdrawn)
        return [d for order, codes in by_order.items() if codes
            for d in Document.report_return(order, codes)]

    def marking_relabeled(self, old, new):
        """«Перемаркировка»: the unit's reserved items go to the relabeling
        status and the movement log and order log keep both codes"""
        self.marking_to_relabeling(gettext('marking.msg_relabeled',
                line=self.rec_name, unit=old.unit,
                old=old.cis or old.photo_name or '—', new=new.cis or '—'))

    def marking_rejected(self, code):
        """The registry rejected a unit's code (not in circulation, not
        ours…): the unit cannot be sold under that label, its items go to
        «Перемаркировка» at once; the new label's code comes by the
        «Перемаркировать» button (marking_relabeled)"""
        self.marking_to_relabeling(gettext('marking.msg_rejected_relabeling',
                line=self.rec_name, unit=code.unit, cis=code.cis or '—',
                reason=code.validation or '—'))

    def marking_to_relabeling(self, text):
        "The line's held items to «Перемаркировка», logged with text"
        pool = Pool()
        Reservation = pool.get('order_hub.reservation')
        Movement = pool.get('order_hub.item.movement')
        ActionLog = pool.get('order_hub.action_log')
        reservations = Reservation.search([('line', '=', self.id),
                ('active', '=', True)])
        if reservations:
            Reservation.write(reservations, {'status': 'relabeling'})
            Movement.add((r, r.warehouse, text) for r in reservations)
        ActionLog.add([(self.order, 'marking', text)])


class Order(metaclass=PoolMeta):
    __name__ = 'order_hub.order'

    marking_codes = fields.Function(fields.Many2Many('marking.code', None,
            None, "Marking Codes"), 'get_marking_codes')
    marking_documents = fields.One2Many('marking.document', 'order',
        "Chestny Znak Documents", readonly=True)

    def get_marking_codes(self, name):
        return [c.id for l in self.lines for c in l.marking_units]


class ActionLog(metaclass=PoolMeta):
    __name__ = 'order_hub.action_log'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection.append(('marking', "Marking"))
