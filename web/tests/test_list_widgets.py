"""The list widgets of the installed sao equal the ones the hub's check of
every list view allows (addons/hub_common/tests/test_list_views.py).

Run with: .venv/bin/python -m pytest -q web/tests/test_list_widgets.py
"""
import ast
import os
import re
import unittest

WEB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAO = os.path.join(WEB, 'node_modules', 'tryton-sao', 'dist',
    'tryton-sao.js')
CHECK = os.path.join(WEB, '..', 'addons', 'hub_common', 'tests',
    'test_list_views.py')


def sao_list_widgets():
    with open(SAO, encoding='utf-8') as f:
        source = f.read()
    block = re.search(r'Sao\.View\.TreeXMLViewParser\.WIDGETS = \{(.*?)\};',
        source, re.S).group(1)
    return set(re.findall(r"'(\w+)'\s*:", block))


def allowed_widgets():
    "SAO_LIST_WIDGETS of the check, read without importing Tryton"
    with open(CHECK, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == 'SAO_LIST_WIDGETS'
                for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError('SAO_LIST_WIDGETS not found')


@unittest.skipUnless(os.path.exists(SAO), 'the web client is not installed')
class ListWidgetsTestCase(unittest.TestCase):

    def test_same_widgets(self):
        self.assertEqual(allowed_widgets(), sao_list_widgets())


if __name__ == '__main__':
    unittest.main()
