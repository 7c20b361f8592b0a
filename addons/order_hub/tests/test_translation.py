# This file is part of order_hub.
"""Russian translation of order_hub and of the Tryton strings it overrides.

The po files are regenerated/checked with tools/update_po.py (see
tools/README.md)."""
import os
import re
import unittest

import polib

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction

LOCALE = os.path.join(os.path.dirname(os.path.dirname(__file__)), 'locale')
RU_PO = os.path.join(LOCALE, 'ru.po')
OVERRIDE_PO = os.path.join(LOCALE, 'override', 'ru.po')
SOURCE_TYPES = {'report', 'view', 'wizard_button', 'selection'}
RU = {'language': 'ru'}


def placeholders(text):
    return sorted(re.findall(r'%\(\w+\)[sd]|\$\{\w+\}|\{\}', text or ''))


class PoFileTestCase(unittest.TestCase):
    "The po files are complete (no database needed)"

    def check_po(self, path):
        entries = [e for e in polib.pofile(path) if not e.obsolete]
        self.assertTrue(entries, path)
        for entry in entries:
            with self.subTest(msgctxt=entry.msgctxt, msgid=entry.msgid):
                self.assertNotIn('fuzzy', entry.flags)
                msgstr = entry.msgstr or entry.msgstr_plural.get(0)
                self.assertTrue(msgstr, "untranslated")
                self.assertEqual(
                    placeholders(entry.msgstr), placeholders(entry.msgid))
                self.assertNotIn('"', msgstr, "use «ёлочки» quotes")

    def test_ru_po(self):
        "Every order_hub string has a Russian translation"
        self.check_po(RU_PO)

    def test_override_ru_po(self):
        "Every override has a Russian translation"
        self.check_po(OVERRIDE_PO)


class TranslationTestCase(_DBTestCase):
    "Russian as seen by a user (module activated with language 'ru')"
    module = 'order_hub'
    language = 'ru'

    @with_transaction(context=RU)
    def test_order_state_selection(self):
        "Order statuses are Russian"
        Order = Pool().get('order_hub.order')
        field = Order.fields_get(['state'])['state']
        states = dict(field['selection'])
        self.assertEqual(states['awaiting_payment'],
            "Подтвержден, ожидает оплаты")
        self.assertEqual(states['paid'], "Оплачен")
        self.assertEqual(states['cancelled'], "Отменен")
        self.assertEqual(field['string'], "Статус")

    @with_transaction(context=RU)
    def test_order_labels(self):
        "Order field labels are Russian"
        Order = Pool().get('order_hub.order')
        fields = Order.fields_get(
            ['customer_name', 'total', 'total_without_discount'])
        self.assertEqual(fields['customer_name']['string'], "ФИО")
        self.assertEqual(fields['total']['string'], "Итого к оплате")
        self.assertEqual(
            fields['total_without_discount']['string'], "Итого без скидок")

    @with_transaction(context=RU)
    def test_message(self):
        "ir.message texts are Russian"
        self.assertEqual(
            gettext('order_hub.msg_promo_code_unknown', code='ABC'),
            "Промокод «ABC» не существует.")

    @with_transaction(context=RU)
    def test_overridden_labels(self):
        "Labels of Tryton's own modules are overridden in Russian"
        pool = Pool()
        Party = pool.get('party.party')
        Product = pool.get('product.product')
        Location = pool.get('stock.location')
        User = pool.get('res.user')
        party = Party.fields_get(['name', 'tax_identifier', 'mobile'])
        self.assertEqual(party['name']['string'], "Наименование")
        self.assertEqual(party['tax_identifier']['string'], "ИНН")
        self.assertEqual(party['mobile']['string'], "Мобильный телефон")
        # Same text as party's fuzzy guess: needs translation.Translation
        self.assertEqual(
            Product.fields_get(['name'])['name']['string'], "Наименование")
        location = Location.fields_get(['type'])['type']
        self.assertEqual(location['string'], "Тип")
        self.assertEqual(dict(location['selection'])['warehouse'], "Склад")
        self.assertEqual(
            User.fields_get(['language'])['language']['string'], "Язык")

    @with_transaction(context=RU)
    def test_overridden_menus(self):
        "Menus of Tryton's own modules are Russian"
        pool = Pool()
        Menu = pool.get('ir.ui.menu')
        ModelData = pool.get('ir.model.data')
        for module, fs_id, name in [
                ('party', 'menu_party', "Контрагенты"),
                ('product', 'menu_main_product', "Товары"),
                ('stock', 'menu_stock', "Склад"),
                ('stock', 'menu_warehouse_list', "Склады"),
                ('ir', 'menu_administration', "Администрирование"),
                ('res', 'menu_user_form', "Пользователи"),
                ('company', 'menu_company', "Организация"),
                ]:
            with self.subTest(menu=fs_id):
                menu = Menu(ModelData.get_id(module, fs_id))
                self.assertEqual(menu.name, name)

    @with_transaction()
    def test_every_override_used(self):
        "Every entry of locale/override/ru.po is stored and not fuzzy"
        pool = Pool()
        Translation = pool.get('ir.translation')
        ModelData = pool.get('ir.model.data')
        for entry in polib.pofile(OVERRIDE_PO):
            ttype, name, res_id = entry.msgctxt.split(':')
            module, fs_id = res_id.split('.', 1)
            domain = [
                ('lang', '=', 'ru'),
                ('type', '=', ttype),
                ('name', '=', name),
                ('module', '=', module),
                ('res_id', '=',
                    ModelData.get_id(module, fs_id) if fs_id else -1),
                ]
            if ttype in SOURCE_TYPES:
                domain.append(('src', '=', entry.msgid))
            with self.subTest(msgctxt=entry.msgctxt, msgid=entry.msgid):
                translation, = Translation.search(domain)
                self.assertEqual(translation.value, entry.msgstr)
                self.assertFalse(translation.fuzzy,
                    "still fuzzy: register translation.Translation "
                    "in tryton.cfg")


del _DBTestCase
