"""A marking code per unit of a marked product on an order line: typed or
scanned, or decoded from a photo; parsed and checked here, validated
against Chestny Znak through the outbox."""
from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.hub_common import utcnow
from trytond.modules.hub_sync.errors import TransientError
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import without_check_access

from . import parser, photo
from .exceptions import MarkingCodeError

STATES = [
    ('unreadable', "Photo to Type"),
    ('pending', "Awaiting Registry"),
    ('valid', "Valid"),
    ('rejected', "Rejected by Registry"),
    ('replaced', "Replaced by Relabeling"),
    ]
# codes that hold their unit (and their КИ) on the order
ACTIVE = ('unreadable', 'pending', 'valid', 'rejected')
# registry code statuses with a message of their own (msg_registry_<lower>)
REGISTRY_STATUSES = {'EMITTED', 'APPLIED', 'INTRODUCED', 'WRITTEN_OFF',
    'RETIRED', 'WITHDRAWN', 'DISAGGREGATION', 'APPLIED_NOT_PAID'}


class Code(ModelSQL, ModelView):
    "Marking Code"
    __name__ = 'marking.code'

    line = fields.Many2One('order_hub.order.line', "Order Line",
        required=True, ondelete='CASCADE',
        states={'readonly': Eval('id', -1) >= 0})
    order = fields.Function(fields.Many2One('order_hub.order', "Order"),
        'get_order', searcher='search_order')
    product = fields.Function(fields.Many2One('product.product', "Product"),
        'get_product')
    unit = fields.Integer("Unit", required=True,
        domain=[('unit', '>=', 1)],
        help="Which unit of the line (1, 2, …) carries the code.")
    code = fields.Char("Marking Code", strip=False,
        help="As scanned or typed: GS separators in any form, or "
        "(01)…(21)… with brackets.")
    cis = fields.Char("Identifier (КИ)", readonly=True, strip=False)
    gtin = fields.Char("GTIN", readonly=True)
    serial = fields.Char("Serial Number", readonly=True, strip=False)
    verification_key = fields.Char("Verification Key", readonly=True,
        strip=False)
    crypto = fields.Char("Crypto Tail", readonly=True, strip=False)
    group = fields.Char("Product Group", readonly=True)
    state = fields.Selection(STATES, "Status", required=True, readonly=True)
    state_string = state.translated('state')
    registry_status = fields.Char("Registry Status", readonly=True)
    validation = fields.Text("Validation Result", readonly=True)
    validated_at = fields.DateTime("Validated At", readonly=True)
    photo = fields.Binary("Photo", filename='photo_name',
        file_id='photo_id')
    photo_id = fields.Char("Photo ID", readonly=True)
    photo_name = fields.Char("Photo File Name")
    photo_decoded = fields.Char("Decoded from Photo", readonly=True,
        strip=False)
    replaced_by = fields.Many2One('marking.code', "Replaced By",
        readonly=True, ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('line')
        cls._order = [('line', 'ASC'), ('unit', 'ASC'), ('id', 'ASC')]
        cls._buttons.update({
                'validate_again': {
                    'invisible': ~Eval('state').in_(['pending', 'rejected']),
                    'depends': ['state'],
                    },
                'relabel': {
                    'invisible': ~Eval('state').in_(['rejected',
                            'unreadable', 'valid']),
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_state():
        return 'pending'

    @classmethod
    def default_unit(cls):
        return 1

    def get_order(self, name):
        return self.line.order.id

    @classmethod
    def search_order(cls, name, clause):
        return [('line.order',) + tuple(clause[1:])]

    def get_product(self, name):
        return self.line.product.id

    def get_rec_name(self, name):
        return self.cis or self.photo_name or str(self.id)

    # -- reading the code ----------------------------------------------------
    def compute_fields(self, field_names=None):
        values = super().compute_fields(field_names)
        if (field_names is None or set(field_names) & {'code', 'photo'}) and (
                self.state != 'replaced'):
            values.update({k: v for k, v in self.read_code().items()
                    if getattr(self, k) != v})
        return values

    def read_code(self):
        """Values from the typed code, else from the photo: the parts of
        the code, or the photo flagged for a person to type the code"""
        text, decoded = self.code, self.photo_decoded
        if not text and self.photo:
            text = decoded = photo.decode(self.photo)
            if not text:
                return {'state': 'unreadable', 'photo_decoded': None,
                    'validation': gettext('marking.msg_photo_undecodable')}
        if not text:
            raise MarkingCodeError(gettext('marking.msg_code_missing',
                    line=self.line.rec_name, unit=self.unit))
        parsed = self.parse_code(text)
        return {'code': parsed.code, 'cis': parsed.cis, 'gtin': parsed.gtin,
            'serial': parsed.serial, 'verification_key': parsed.key,
            'crypto': parsed.crypto, 'group': self.marking_group,
            'photo_decoded': decoded, 'state': 'pending',
            'registry_status': None, 'validated_at': None,
            'validation': gettext('marking.msg_code_pending')}

    @property
    def marking_group(self):
        product = self.line.product
        if not product.hub_marked:
            raise MarkingCodeError(gettext('marking.msg_product_not_marked',
                    product=product.rec_name))
        if not product.marking_group:
            raise MarkingCodeError(gettext('marking.msg_product_no_group',
                    product=product.rec_name))
        return product.marking_group

    def parse_code(self, text):
        try:
            parsed = parser.parse(text, self.marking_group)
        except parser.CodeError as error:
            raise MarkingCodeError(gettext(
                    'marking.msg_code_' + error.key, line=self.line.rec_name,
                    unit=self.unit, code=parser.clean(text), **error.params))
        self.check_gtin(parsed)
        return parsed

    def check_gtin(self, parsed):
        "The code's GTIN is one of the product's barcodes (when it has any)"
        gtins = self.line.product.marking_gtins()
        if gtins and parsed.gtin not in gtins:
            raise MarkingCodeError(gettext('marking.msg_code_gtin_product',
                    gtin=parsed.gtin, product=self.line.product.rec_name,
                    known=', '.join(sorted(gtins))))

    # -- checks --------------------------------------------------------------
    @classmethod
    def validate(cls, codes):
        super().validate(codes)
        for code in codes:
            code.check_unit()
            code.check_unique()

    def check_unit(self):
        if self.state == 'replaced':
            return
        if self.unit > self.line.quantity:
            raise MarkingCodeError(gettext('marking.msg_unit_out_of_line',
                    unit=self.unit, line=self.line.rec_name,
                    quantity=int(self.line.quantity)))
        with without_check_access():
            others = self.search([('line', '=', self.line.id),
                    ('unit', '=', self.unit), ('state', 'in', ACTIVE),
                    ('id', '!=', self.id)], limit=1)
        if others:
            raise MarkingCodeError(gettext('marking.msg_unit_taken',
                    unit=self.unit, line=self.line.rec_name))

    def check_unique(self):
        "A КИ marks one unit: not on another active unit of any order"
        if not self.cis or self.state == 'replaced':
            return
        # over every order, those the user may not see included
        with without_check_access():
            others = self.search([('cis', '=', self.cis),
                    ('state', 'in', ACTIVE), ('id', '!=', self.id)],
                limit=1)
        if others:
            other, = others
            raise MarkingCodeError(gettext('marking.msg_code_duplicate',
                    cis=self.cis, order=other.line.order.rec_name,
                    line=other.line.rec_name, unit=other.unit))

    # -- registry validation -------------------------------------------------
    @classmethod
    def on_modification(cls, mode, codes, field_names=None):
        super().on_modification(mode, codes, field_names=field_names)
        if mode in {'create', 'write'} and (field_names is None
                or set(field_names) & {'code', 'photo'}):
            cls.enqueue_check([c for c in codes if c.state == 'pending'])

    @classmethod
    def enqueue_check(cls, codes):
        if codes:
            Pool().get('hub_sync.outbox').enqueue('chestny_znak',
                'marking_check', codes)

    @classmethod
    @ModelView.button
    def validate_again(cls, codes):
        cls.write(codes, {'state': 'pending', 'validation': gettext(
                    'marking.msg_code_pending')})
        cls.enqueue_check(codes)

    def marking_check(self, message):
        "Outbox handler: ask the registry about the code, store the verdict"
        if self.state != 'pending':
            return self.state
        client = Pool().get('hub_sync.system').marking_client()
        answer, = client.cises_info([self.code], self.group)
        self.apply_registry(answer, client.inn)
        self.save()
        if self.state == 'rejected':
            self.line.marking_rejected(self)
        return f'{self.cis}: {self.state}'

    def apply_registry(self, answer, inn):
        info = answer.get('cisInfo') or {}
        problem = self.registry_problem(answer, info, inn)
        self.registry_status = info.get('status')
        self.validated_at = utcnow()
        self.state = 'rejected' if problem else 'valid'
        self.validation = problem or gettext('marking.msg_code_valid',
            product=info.get('productName') or '—',
            owner=info.get('ownerName') or info.get('ownerInn') or '—')

    def registry_problem(self, answer, info, inn):
        "Why the registry's answer forbids selling the unit, or None"
        error = str(answer.get('errorCode') or '')
        if error == '404':
            return gettext('marking.msg_registry_not_found', cis=self.cis)
        if error:
            if error in {'504', '500', '503'}:
                raise TransientError(answer.get('errorMessage') or error)
            return gettext('marking.msg_registry_error', cis=self.cis,
                error=answer.get('errorMessage') or error)
        status = info.get('status')
        if status != 'INTRODUCED':
            return gettext('marking.msg_registry_status', cis=self.cis,
                status=gettext('marking.msg_registry_' + status.lower())
                if status in REGISTRY_STATUSES else status)
        if (info.get('statusEx') or 'EMPTY') != 'EMPTY':
            return gettext('marking.msg_registry_special', cis=self.cis,
                state=info['statusEx'])
        if info.get('ownerInn') != inn:
            return gettext('marking.msg_registry_owner', cis=self.cis,
                owner=info.get('ownerName') or info.get('ownerInn') or '—')
        if info.get('gtin') and info['gtin'] != self.gtin:
            return gettext('marking.msg_registry_gtin', cis=self.cis,
                gtin=info['gtin'])
        return None

    def marking_withdrawn(self):
        "Whether the last accepted document about the code withdrew it"
        Document = Pool().get('marking.document')
        documents = Document.search([('codes', '=', self.id),
                ('state', 'in', ['accepted', 'sent', 'draft'])],
            order=[('id', 'DESC')], limit=1)
        return bool(documents) and documents[0].kind == 'withdrawal'

    # -- relabeling ----------------------------------------------------------
    @classmethod
    @ModelView.button_action('marking.wizard_relabel')
    def relabel(cls, codes):
        pass

    def replace_with(self, text):
        """«Перемаркировка»: the unit gets a new code; this one stays as
        replaced, the item status and the movement log say both"""
        self.write([self], {'state': 'replaced'})
        new, = self.copy([self], {'code': text, 'photo': None,
                'photo_name': None, 'state': 'pending'})
        self.write([self], {'replaced_by': new.id})
        self.line.marking_relabeled(self, new)
        return new

    @classmethod
    def copy(cls, codes, default=None):
        default = dict(default or {})
        for name in ('cis', 'validated_at', 'replaced_by', 'photo_decoded',
                'registry_status'):
            default.setdefault(name, None)
        return super().copy(codes, default=default)

    def set_photo(self, data, name):
        "A photo uploaded for this unit: decoded, or kept to type the code"
        self.write([self], {'photo': data, 'photo_name': name,
                'code': None} if self.state in ('unreadable', 'rejected')
            else {'photo': data, 'photo_name': name})


def codes_of_line(line, states=('valid',)):
    "The line's codes in the given states, by unit"
    return [c for c in sorted(line.marking_units, key=lambda c: c.unit)
        if c.state in states]
