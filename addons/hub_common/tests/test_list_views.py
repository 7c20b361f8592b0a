"""Every list view of every module of the hub, as the web client shows it.

sao 8.0 builds a list column from the column's widget, by default the
field's type, through ``Sao.View.TreeXMLViewParser.WIDGETS``; a widget that
is not there fails with «ColumnFactory is not a constructor» and the page
(or the form holding the list) does not open.  A DateTime field needs
``widget="date"`` (or ``"time"``) in a list, for instance.

This test activates every module next to hub_common (test modules too: the
glue of extras_depend comes with them) and checks each list view with the
inherited views applied, as ``fields_view_get`` gives it to the client."""
import unittest

from lxml import etree

from trytond.pool import Pool
from trytond.tests import test_tryton
from trytond.tests.test_tryton import drop_db, with_transaction

from .tools import all_hub_modules

# the keys of Sao.View.TreeXMLViewParser.WIDGETS in tryton-sao 8.0
# (web/node_modules/tryton-sao/dist/tryton-sao.js): a column's widget is
# its "widget" attribute, else the field's type.  No 'datetime',
# 'timestamp', 'password', 'html'… in a list.
SAO_LIST_WIDGETS = {
    'binary', 'boolean', 'callto', 'char', 'date', 'dict', 'email', 'float',
    'image', 'integer', 'many2many', 'many2one', 'numeric', 'one2many',
    'one2one', 'progressbar', 'reference', 'selection', 'multiselection',
    'sip', 'text', 'time', 'timedelta', 'url',
    }


class ListViewsTestCase(unittest.TestCase):
    "No list view uses a column the web client cannot build"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        cls.modules = all_hub_modules()
        test_tryton.activate_module(cls.modules, lang='ru')

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    def list_views(self):
        View = Pool().get('ir.ui.view')
        for view in View.search([('type', '=', 'tree')]):
            if view.inherit and view.inherit.model == view.model:
                continue            # merged into the view it extends
            try:
                Pool().get(view.model)
            except KeyError:
                continue
            yield view

    @staticmethod
    def unknown_columns(arch, fields):
        "(name, widget) of the columns of arch sao cannot build"
        for node in etree.fromstring(arch).iter('field'):
            name = node.get('name')
            field = fields.get(name)
            if field is None:
                continue
            widget = node.get('widget') or field['type']
            yield name, widget if widget not in SAO_LIST_WIDGETS else None

    @with_transaction()
    def test_list_columns_known_to_sao(self):
        pool = Pool()
        problems, checked = [], 0
        for view in self.list_views():
            Model = pool.get(view.model)
            result = Model.fields_view_get(view.id, 'tree')
            for name, widget in self.unknown_columns(
                    result['arch'], result['fields']):
                checked += 1
                if widget:
                    problems.append(f'{view.module}: {view.name} '
                        f'({view.model}) field {name}: {widget}')
        self.assertGreater(checked, 100)
        self.assertFalse(problems, 'list columns sao 8.0 cannot build '
            '(give them widget="date", or another list widget):\n'
            + '\n'.join(problems))

    @with_transaction()
    def test_the_defect_is_caught(self):
        "The shipment form's defect: a DateTime column without a widget"
        fields = Pool().get('ir.ui.view').fields_get(['create_date', 'name'])
        self.assertEqual(list(self.unknown_columns('<tree>'
                    '<field name="create_date"/><field name="name"/>'
                    '<field name="create_date" widget="date"/></tree>',
                    fields)),
            [('create_date', 'timestamp'), ('name', None),
                ('create_date', None)])


if __name__ == '__main__':
    unittest.main()
