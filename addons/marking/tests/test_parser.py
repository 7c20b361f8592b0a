"""The parser on codes of every product group in every textual form, and
on invalid codes of every kind."""
import random
import unittest

from trytond.modules.marking.parser import GS, CodeError, gtin14, parse

from .samples import code, gtin, spellings

GROUPS = ('shoes', 'lp', 'perfumery', 'milk', 'water', 'tobacco')


class ParserTestCase(unittest.TestCase):

    def test_every_group_in_every_form(self):
        rng = random.Random(17)
        for group in GROUPS:
            for _ in range(20):
                text = code(group, rng)
                expected = parse(text, group)
                self.assertEqual(expected.code, text)
                for form, spelled in spellings(text).items():
                    if group == 'tobacco' and form == 'brackets':
                        continue
                    with self.subTest(group=group, form=form, text=spelled):
                        parsed = parse(spelled, group)
                        self.assertEqual(parsed.code, text)
                        self.assertEqual(parsed.cis, expected.cis)

    def test_parts(self):
        text = (f'0104607048893111' '21aB3dE5gH7jK9m' f'{GS}91FFD0{GS}92'
            + 'A' * 44)
        parsed = parse(text, 'shoes')
        self.assertEqual((parsed.gtin, parsed.serial, parsed.key,
                parsed.crypto), ('04607048893111', 'aB3dE5gH7jK9m', 'FFD0',
                'A' * 44))
        self.assertEqual(parsed.cis, '010460704889311121aB3dE5gH7jK9m')

    def test_public_examples(self):
        # a quote and a percent sign in the serial
        text = f'0104650117240408211dmfcZNcM"4%<{GS}91LlLl{GS}92' + 'T' * 44
        self.assertEqual(parse(text, 'shoes').serial, '1dmfcZNcM"4%<')
        # dairy with a 7-character serial (Yandex Market sample)
        milk = parse(f'01030410947874432155Qbag!{GS}93Zjqw', 'milk')
        self.assertEqual((milk.serial, milk.crypto), ('55Qbag!', 'Zjqw'))
        # a tobacco pack: 29 characters, no AIs
        pack = parse("00000046210654Wp'h!H:AAPidGVz", 'tobacco')
        self.assertEqual((pack.gtin, pack.serial, pack.key, pack.crypto),
            ('00000046210654', "Wp'h!H:", 'AAPi', 'dGVz'))
        # a tobacco block: 01 21 8005 93
        block = parse(f'0100000046210654219hMDLVx{GS}8005021900{GS}93Ab1x',
            'tobacco')
        self.assertEqual((block.serial, block.key), ('9hMDLVx', '021900'))
        # variable-weight dairy carries 3103
        weighed = parse(f'010460704889311121Ab!12c{GS}93dGVz{GS}3103000350',
            'milk')
        self.assertEqual(weighed.extra, {'3103': '000350'})
        self.assertEqual(parse(weighed.code.replace(GS, ''), 'milk').extra,
            {'3103': '000350'})
        # the 88-character crypto signature of some cash-register samples
        long = parse(f'010460704889311121aB3dE5gH7jK9m{GS}91FFD0{GS}92'
            + 'B' * 88, 'shoes')
        self.assertEqual(len(long.crypto), 88)

    def assert_error(self, text, group, key):
        with self.assertRaises(CodeError) as caught:
            parse(text, group)
        self.assertEqual(caught.exception.key, key, caught.exception.params)
        return caught.exception.params

    def test_invalid_codes(self):
        shoes = code('shoes')
        good_gtin = shoes[2:16]
        bad_gtin = good_gtin[:-1] + str((int(good_gtin[-1]) + 1) % 10)
        self.assert_error('', 'shoes', 'empty')
        self.assert_error('   \n', 'shoes', 'empty')
        self.assert_error('0112', 'shoes', 'gtin_format')
        self.assert_error('01' + bad_gtin + shoes[16:], 'shoes', 'gtin_check')
        self.assert_error(shoes[:-3], 'shoes', 'element_length')
        self.assert_error(shoes.split(GS)[0], 'shoes', 'tail_missing')
        self.assert_error(shoes.replace(shoes[20], 'Ж', 1), 'shoes', 'chars')
        self.assert_error('21' + shoes[18:], 'shoes', 'start')
        self.assertEqual(self.assert_error(code('milk'), 'shoes',
                'serial_length'), {'length': 6, 'expected': 13})
        self.assert_error(code('shoes'), 'milk', 'serial_length')
        self.assert_error(code('water'), 'shoes', 'tail_missing')
        self.assert_error(code('shoes').split(GS)[0] + GS + '93abcd',
            'shoes', 'tail_missing')
        self.assert_error(code('water') + GS + '91abcd', 'water',
            'ai_unexpected')
        self.assert_error('4607048893111', 'shoes', 'ai_unknown')
        self.assert_error('(01)' + good_gtin + 'x(21)abc', 'shoes',
            'gtin_format')
        self.assert_error('(01)' + good_gtin + '(21)abc', 'shoes',
            'serial_length')
        self.assert_error('(01)' + good_gtin + '(2x)abc', 'shoes',
            'brackets')
        self.assert_error(code('tobacco')[:-1], 'tobacco', 'length')
        self.assert_error(shoes, 'alcohol', 'group_unknown')

    def test_gtin14(self):
        self.assertEqual(gtin14('4607048893111'), '04607048893111')
        self.assertEqual(gtin14(' 04607048893111 '), '04607048893111')
        self.assertIsNone(gtin14('ABC'))
        self.assertEqual(gtin('0460704889311'), '04607048893111')
