"""Marking codes of real layouts, per product group, and their spellings
(as scanners, keyboards and documents write them)."""
import random
import string

from trytond.modules.marking.parser import GS

CRYPTO = string.ascii_letters + string.digits + '+/='
SERIAL = string.ascii_letters + string.digits + '!"%&\'*+-./:;<=>?_'


def gtin(body):
    "13 digits completed with the GS1 check digit"
    total = sum(int(d) * (3 if i % 2 == 0 else 1)
        for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def code(group, rng=None, gtin_=None):
    "A full КМ of the group's layout, with real GS separators"
    rng = rng or random.Random(7)
    gtin_ = gtin_ or gtin('04607' + ''.join(rng.choice(string.digits)
            for _ in range(8)))

    def chars(n, alphabet=SERIAL):
        return ''.join(rng.choice(alphabet) for _ in range(n))
    if group in ('shoes', 'lp', 'perfumery'):
        return (f'01{gtin_}21{chars(13)}{GS}91{chars(4, CRYPTO)}'
            f'{GS}92{chars(44, CRYPTO)}')
    if group == 'milk':
        return f'01{gtin_}21{chars(6)}{GS}93{chars(4, CRYPTO)}'
    if group == 'water':
        return f'01{gtin_}21{chars(13)}{GS}93{chars(4, CRYPTO)}'
    if group == 'tobacco':
        return f'{gtin_}{chars(7)}{chars(4, CRYPTO)}{chars(4, CRYPTO)}'
    raise ValueError(group)


def text_elements(text):
    elements = []
    head, *rest = text.split(GS)
    elements += [('01', head[2:16]), ('21', head[18:])]
    for part in rest:
        ai = '8005' if part.startswith('8005') else '3103' if (
            part.startswith('3103')) else part[:2]
        elements.append((ai, part[len(ai):]))
    return elements


def spellings(text):
    "Every textual form of the code a person or a scanner produces"
    forms = {
        'gs': text,
        'escaped': text.replace(GS, '\\x1d'),
        'unicode_escape': text.replace(GS, '\\u001d'),
        'angle': text.replace(GS, '<GS>'),
        'symbol': text.replace(GS, '\u241d'),
        'no_separators': text.replace(GS, ''),
        'aim_prefix': ']d2' + text,
        'fnc1_bom_spaces': '\ufeff ' + GS + text + '\r\n',
        }
    if GS in text and '(' not in text and ')' not in text:
        forms['brackets'] = ''.join(f'({ai}){value}'
            for ai, value in text_elements(text))
    return forms
