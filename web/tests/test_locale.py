"""Checks for the Russian sao catalogue (web/locale/ru.po -> ru.json).

Run with: .venv/bin/python -m pytest -q web/tests/test_locale.py
"""
import json
import os
import re
import sys
import tempfile
import unittest

WEB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, WEB)

import build_locale  # noqa: E402

RU_PO = os.path.join(WEB, 'locale', 'ru.po')
SAO_LOCALE = os.path.join(WEB, 'node_modules', 'tryton-sao', 'locale')
# Catalogue shipped by tryton-sao: the reference list of msgids.
SHIPPED_RU_PO = os.path.join(SAO_LOCALE, 'ru.po')
PLURAL_FORMS = (
    'nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : '
    'n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);')
# Same validation gettext.js applies before eval'ing the plural expression.
GETTEXT_JS_PLURAL_RE = re.compile(
    r'^\s*nplurals\s*=\s*[0-9]+\s*;\s*plural\s*=\s*'
    r'(?:\s|[-\?\|&=!<>+*/%:;n0-9_\(\)])+$')
PLACEHOLDER_RE = re.compile(r'%\d+|%s|%d|\{\d*\}')


def read(path):
    with open(path, encoding='utf-8') as fp:
        return fp.read()


def sao_key(entry):
    if entry['msgctxt']:
        return entry['msgctxt'] + '\x04' + entry['msgid']
    return entry['msgid']


class BuiltCatalogTestCase(unittest.TestCase):
    "Build ru.json into a temporary directory and inspect it"

    @classmethod
    def setUpClass(cls):
        cls.tmpdir = tempfile.TemporaryDirectory()
        cls.json_path = os.path.join(cls.tmpdir.name, 'ru.json')
        cls.written, cls.translated = build_locale.build(
            RU_PO, cls.json_path)
        cls.raw = read(cls.json_path)
        cls.data = json.loads(cls.raw)

    @classmethod
    def tearDownClass(cls):
        cls.tmpdir.cleanup()

    def test_header(self):
        header = self.data['']
        self.assertEqual(header['language'], 'ru')
        self.assertEqual(header['plural-forms'], PLURAL_FORMS)
        self.assertRegex(header['plural-forms'], GETTEXT_JS_PLURAL_RE)
        self.assertIn('charset=utf-8', header['content-type'])

    def test_every_shipped_msgid_translated(self):
        shipped = build_locale.parse_po(read(SHIPPED_RU_PO))
        msgids = [e for e in shipped if e['msgid'] or e['msgctxt']]
        self.assertGreater(len(msgids), 250)
        missing = []
        for entry in msgids:
            value = self.data.get(sao_key(entry))
            if value is None:
                missing.append(entry['msgid'])
                continue
            self.assertEqual(value[0], entry['msgid_plural'], entry['msgid'])
            forms = value[1:]
            expected = 3 if entry['msgid_plural'] else 1
            if len(forms) != expected or not all(
                    isinstance(f, str) and f.strip() for f in forms):
                missing.append(entry['msgid'])
        self.assertEqual(missing, [])
        self.assertEqual(self.translated, self.written)

    def test_no_extra_msgids(self):
        shipped = {sao_key(e) for e in build_locale.parse_po(
                read(SHIPPED_RU_PO))}
        self.assertEqual(set(self.data) - shipped, set())

    def test_placeholders_kept(self):
        for key, value in self.data.items():
            if not key:
                continue
            msgid = key.split('\x04')[-1]
            sources = [msgid] + ([value[0]] if value[0] else [])
            expected = sorted(PLACEHOLDER_RE.findall(sources[-1]))
            for form in value[1:]:
                self.assertEqual(
                    sorted(PLACEHOLDER_RE.findall(form)), expected, msgid)
            self.assertEqual(
                msgid.count('\n'), value[1].count('\n'), msgid)

    def test_json_format(self):
        # Serialised like JSON.stringify: compact, raw UTF-8, no newline.
        self.assertTrue(self.raw.startswith('{"":{'))
        self.assertFalse(self.raw.endswith('\n'))
        self.assertNotIn('\\u04', self.raw)
        self.assertEqual(self.raw, build_locale.dumps(self.data))

    def test_idempotent(self):
        other = os.path.join(self.tmpdir.name, 'again.json')
        build_locale.build(RU_PO, other)
        build_locale.build(RU_PO, other)
        self.assertEqual(read(other), self.raw)


class SourcePoTestCase(unittest.TestCase):
    "Sanity of web/locale/ru.po itself"

    def test_no_fuzzy(self):
        for entry in build_locale.parse_po(read(RU_PO)):
            self.assertNotIn('fuzzy', entry['flags'], entry['msgid'])
        self.assertNotRegex(read(RU_PO), r'(?m)^#,.*fuzzy')

    def test_timedelta_separators_distinct(self):
        # sao parses durations by suffix: the unit letters must not clash.
        data = build_locale.catalog(build_locale.parse_po(read(RU_PO)))
        units = [data[k][1] for k in ['Y', 'M', 'w', 'd', 'h', 'm', 's']]
        self.assertEqual(len(set(units)), len(units))
        for unit in units:
            others = [u for u in units if u != unit]
            self.assertFalse(any(unit in o for o in others), unit)


class ParserTestCase(unittest.TestCase):
    "build_locale parser / converter behaviour"

    PO = '''# comment
msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"
"Language: ru\\n"
"Plural-Forms: nplurals=3; plural=(n%10==1 ? 0 : 1);\\n"

#: file.js:1
#, javascript-format
msgctxt "menu"
msgid "Open"
msgstr "Открыть (меню)"

msgid "Open"
msgstr "Открыть"

msgid ""
"Line one\\n"
"Line \\"two\\"\\t\\\\ end"
msgstr ""
"Строка\\n"
"«два»\\t\\\\ конец"

#, fuzzy
msgid "Fuzzy one"
msgstr "Неточно"

msgid "1"
msgstr "один"

msgctxt "ctx"
msgid "%1 file"
msgid_plural "%1 files"
msgstr[0] "%1 файл"
msgstr[1] "%1 файла"
msgstr[2] "%1 файлов"

#~ msgid "obsolete"
#~ msgstr "устарело"
'''

    def test_parse_and_convert(self):
        data = build_locale.catalog(build_locale.parse_po(self.PO))
        self.assertEqual(data, {
                '1': [None, 'один'],
                '': {
                    'content-type': 'text/plain; charset=utf-8',
                    'language': 'ru',
                    'plural-forms': 'nplurals=3; plural=(n%10==1 ? 0 : 1);',
                    },
                'Open': [None, 'Открыть'],
                'Line one\nLine "two"\t\\ end': [
                    None, 'Строка\n«два»\t\\ конец'],
                'menu\x04Open': [None, 'Открыть (меню)'],
                'ctx\x04%1 file': [
                    '%1 files', '%1 файл', '%1 файла', '%1 файлов'],
                })
        # JavaScript key order: integer-like keys first.
        self.assertEqual(list(data)[:2], ['1', ''])
        self.assertTrue(build_locale.dumps(data).startswith(
                '{"1":[null,"один"],"":{"content-type"'))

    def test_malformed(self):
        with self.assertRaises(build_locale.POError):
            build_locale.parse_po('msgid "a"\nmsgstr "b\n')
        with self.assertRaises(build_locale.POError):
            build_locale.parse_po('msgstr "b"\n')

    def test_matches_upstream_po2json(self):
        # tryton-sao ships de/fr .json compiled by grunt-po2json from the
        # matching .po: the converter must reproduce them byte for byte.
        checked = 0
        for lang in ['de', 'fr', 'uk', 'zh_CN']:
            po = os.path.join(SAO_LOCALE, lang + '.po')
            shipped = os.path.join(SAO_LOCALE, lang + '.json')
            if not (os.path.exists(po) and os.path.exists(shipped)):
                continue
            data = build_locale.catalog(build_locale.parse_po(read(po)))
            self.assertEqual(build_locale.dumps(data), read(shipped), lang)
            checked += 1
        if not checked:
            self.skipTest('tryton-sao locale files not installed')

    def test_cli(self):
        with tempfile.TemporaryDirectory() as tmp:
            target = os.path.join(tmp, 'out', 'ru.json')
            self.assertEqual(
                build_locale.main(['--po', RU_PO, '-o', target]), 0)
            self.assertEqual(json.loads(read(target))['']['language'], 'ru')


if __name__ == '__main__':
    unittest.main()
