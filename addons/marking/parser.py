"""Chestny Znak marking codes (КМ) as text: every form scanners and people
produce, parsed into GTIN, serial, verification key and crypto tail and
checked against the layout of the product group.  Plain Python.

Forms accepted: a real GS (0x1D) between the elements; the GS written as
``\\x1d``, ``\\u001d``, ``<GS>``, ``{GS}``, ``[GS]``, ``␝`` or ``~1``; the
human-readable ``(01)…(21)…(91)…`` form with brackets; no separators at
all where every element of the group has a fixed length; a leading
symbology identifier (``]d2``, ``]C1``, ``]Q3``) or FNC1, a BOM and
surrounding spaces.  Tobacco packs carry the 29-character code without
application identifiers (GTIN, serial, max retail price, crypto tail).
"""
import re
from dataclasses import dataclass, field

GS = '\x1d'
GS_SPELLINGS = ('\\x1d', '\\x1D', '\\u001d', '\\u001D', '<GS>', '<gs>',
    '{GS}', '[GS]', '\u241d', '~1', '\\F')
IDENTIFIERS = (']d2', ']C1', ']Q3', ']e0')
# GS1 AI 82 character set (the serial and the tails)
GS1_CHARS = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+")
# lengths of the elements: fixed for the predefined AIs; the usual length
# of the others, used only to split a code scanned without separators
AI_LENGTHS = {'01': 14, '91': 4, '92': 44, '93': 4, '8005': 6, '3103': 6,
    '17': 6, '11': 6, '7003': 10}
# the crypto signature: 44 characters, 88 in some cash-register samples
CRYPTO_LENGTHS = {44, 88}
VARIABLE_AIS = {'21', '10', '240'}
# GS1 AIs of predefined length: no GS after them
PREDEFINED = {'01', '11', '17', '3103'}


@dataclass(frozen=True)
class Layout:
    "The elements a product group's unit code carries"
    serial: int
    tail: tuple              # required AIs after the serial, in order
    optional: tuple = ()     # AIs that may follow (weight, expiry…)
    serials: tuple = ()      # other serial lengths seen with separators


# product groups: pg code of the True API -> layout of a unit's code
LAYOUTS = {
    'shoes': Layout(13, ('91', '92')),
    'lp': Layout(13, ('91', '92')),
    'perfumery': Layout(13, ('91', '92')),
    'tires': Layout(13, ('91', '92')),
    'electronics': Layout(13, ('91', '92')),
    # ПП 2099 says 6; public dairy samples with 7 and 8 exist
    'milk': Layout(6, ('93',), ('3103', '17', '11', '7003', '10'), (7, 8)),
    'water': Layout(13, ('93',)),
    'tobacco': Layout(7, ('8005', '93'), ('240',)),
    }
TOBACCO_PACK = re.compile(r"(\d{14})(.{7})(.{4})(.{4})")


class CodeError(ValueError):
    """A code that is not a marking code of its group: ``key`` names the
    problem (a message id suffix), ``params`` fill its text"""

    def __init__(self, key, **params):
        super().__init__(key, params)
        self.key = key
        self.params = params


@dataclass
class ParsedCode:
    gtin: str
    serial: str
    key: str = ''           # 91 verification key, 8005 max retail price
    crypto: str = ''        # 92 crypto signature or 93 crypto code
    extra: dict = field(default_factory=dict)
    elements: list = field(default_factory=list)   # [(ai, value)] in order

    @property
    def cis(self):
        "КИ: the identifier the registry knows the unit by"
        return f'01{self.gtin}21{self.serial}'

    @property
    def code(self):
        "The full КМ with real GS separators, as a fiscal receipt wants it"
        if self.elements and self.elements[0][0] == 'pack':
            return self.elements[0][1]
        parts = []
        for ai, value in self.elements:
            parts.append(ai + value + ('' if ai in PREDEFINED else GS))
        return ''.join(parts).rstrip(GS)


def clean(text):
    "The code's text with every spelling of GS made a real GS"
    text = (text or '').replace('\ufeff', '').strip()
    for spelling in GS_SPELLINGS:
        text = text.replace(spelling, GS)
    for prefix in IDENTIFIERS:
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.lstrip(GS + '\xe8').rstrip(GS).replace('\r', '').replace(
        '\n', '')


def gtin_check_digit_ok(gtin):
    digits = [int(c) for c in gtin]
    total = sum(d * (3 if i % 2 == 0 else 1)
        for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


def parse(text, group):
    "The ParsedCode of text for product group, or CodeError"
    layout = LAYOUTS.get(group)
    if layout is None:
        raise CodeError('group_unknown', group=group or '')
    text = clean(text)
    if not text:
        raise CodeError('empty')
    if group == 'tobacco' and '(' not in text and not (
            text.startswith('01') and len(text) > 29):
        return _tobacco_pack(text)
    if text.startswith('('):
        elements = _bracketed(text)
    else:
        elements = _sequential(text, layout)
    return _checked(elements, layout)


def _tobacco_pack(text):
    match = TOBACCO_PACK.fullmatch(text)
    if not match:
        raise CodeError('length', length=len(text))
    gtin, serial, price, crypto = match.groups()
    _check_gtin(gtin)
    _check_chars(serial + price + crypto)
    return ParsedCode(gtin, serial, price, crypto, elements=[('pack', text)])


def _bracketed(text):
    elements = re.findall(r'\((\d{2,4})\)([^(]*)', text.replace(GS, ''))
    if ''.join(f'({ai}){value}' for ai, value in elements) != text.replace(
            GS, ''):
        raise CodeError('brackets')
    return list(elements)


def _sequential(text, layout):
    "Split by AI; an element ends at GS or at the layout's fixed length"
    elements, position = [], 0
    while position < len(text):
        ai = _ai_at(text, position)
        position += len(ai)
        end = _element_end(text, position, ai, layout)
        elements.append((ai, text[position:end]))
        position = end + (1 if text[end:end + 1] == GS else 0)
    return elements


def _element_end(text, position, ai, layout):
    gs = text.find(GS, position)
    gs = len(text) if gs < 0 else gs
    if ai in PREDEFINED:
        return min(position + AI_LENGTHS[ai], len(text))
    if ai != '21':
        usual = AI_LENGTHS.get(ai)
        if ai != '92' and usual and GS not in text[position:] and (
                position + usual < len(text)):
            return position + usual     # no separators: the usual length
        return gs
    fixed = position + layout.serial
    if gs < fixed:
        return gs
    if fixed == len(text) or text[fixed:fixed + 1] == GS or (
            fixed < len(text) and text.startswith(layout.tail[0], fixed)):
        return fixed
    return gs


def _ai_at(text, position):
    for ai in sorted(set(AI_LENGTHS) | VARIABLE_AIS, key=len, reverse=True):
        if text.startswith(ai, position):
            return ai
    raise CodeError('ai_unknown', position=position + 1,
        found=text[position:position + 4])


def _checked(elements, layout):
    values = dict(elements)
    if elements and elements[0][0] == '01':
        _check_gtin(values['01'])
    if [ai for ai, _ in elements[:2]] != ['01', '21']:
        raise CodeError('start')
    if len(values) != len(elements):
        raise CodeError('repeated')
    _check_gtin(values['01'])
    serial = values['21']
    if len(serial) != layout.serial and len(serial) not in layout.serials:
        raise CodeError('serial_length', length=len(serial),
            expected=layout.serial)
    _check_chars(serial)
    for ai in layout.tail:
        if ai not in values:
            raise CodeError('tail_missing', ai=ai)
    for ai, value in elements[2:]:
        if ai not in layout.tail and ai not in layout.optional:
            raise CodeError('ai_unexpected', ai=ai)
        if ai == '92' and len(value) not in CRYPTO_LENGTHS:
            raise CodeError('element_length', ai=ai, length=len(value),
                expected=' или '.join(map(str, sorted(CRYPTO_LENGTHS))))
        if ai != '92' and AI_LENGTHS.get(ai) and len(value) != AI_LENGTHS[
                ai]:
            raise CodeError('element_length', ai=ai, length=len(value),
                expected=AI_LENGTHS[ai])
        _check_chars(value)
    key = values.get('91') or values.get('8005', '')
    crypto = values.get('92') or values.get('93', '')
    extra = {ai: v for ai, v in elements[2:] if ai not in (
            '91', '92', '93', '8005')}
    return ParsedCode(values['01'], serial, key, crypto, extra,
        list(elements))


def _check_gtin(gtin):
    if not (len(gtin) == 14 and gtin.isdigit()):
        raise CodeError('gtin_format', gtin=gtin)
    if not gtin_check_digit_ok(gtin):
        raise CodeError('gtin_check', gtin=gtin)


def _check_chars(value):
    if value and not GS1_CHARS.fullmatch(value):
        bad = next(c for c in value if not GS1_CHARS.fullmatch(c))
        raise CodeError('chars', char=repr(bad)[1:-1])


def gtin14(barcode):
    "An EAN-13/UPC/GTIN barcode as the 14-digit GTIN of the codes, or None"
    digits = (barcode or '').strip()
    if not digits.isdigit() or not 8 <= len(digits) <= 14:
        return None
    return digits.zfill(14)
