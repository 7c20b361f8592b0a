"""Packaging of the hub's Tryton modules: every folder here with a
tryton.cfg is a module, installed as ``trytond.modules.<folder>`` with its
sub-folders (views, translations, tests and their data) and registered
for trytond under the ``trytond.modules`` entry point.  A new module needs
no change here: ``bin/setup`` re-installs when the set of folders changes.
"""
import os
from pathlib import Path

from setuptools import find_namespace_packages, setup

HERE = Path(__file__).resolve().parent
MODULES = sorted(cfg.parent.name for cfg in HERE.glob('*/tryton.cfg'))
# the modules that exist for the tests only (``*_test``) stay out of a
# production build: HUB_TEST_MODULES=0 (docker/Dockerfile sets it)
if os.environ.get('HUB_TEST_MODULES', '1') == '0':
    MODULES = [m for m in MODULES if not m.endswith('_test')]
DATA = ['tryton.cfg', '*.xml', '*.po', '*.rst', '*.json', '*.xsd', '*.txt',
    '*.html', '*.js', '*.css',
    '*.csv', '*.odt', '*.fodt', '*.svg', '*.png']


def packages(module):
    "The module and every sub-folder of it (data folders are packages too)"
    subpackages = find_namespace_packages(HERE / module,
        exclude=['*__pycache__*'])
    return [f'trytond.modules.{module}'] + [
        f'trytond.modules.{module}.{p}' for p in subpackages]


setup(
    packages=[p for m in MODULES for p in packages(m)],
    package_dir={f'trytond.modules.{m}': m for m in MODULES},
    package_data={'': DATA},
    entry_points={'trytond.modules': [
            f'{m} = trytond.modules.{m}' for m in MODULES]},
    )
