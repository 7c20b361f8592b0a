"""Every import of a Tryton module is a declared, direct dependency.

A module of addons/ may import ``trytond.modules.X`` (``import``, ``from …
import``, ``from trytond.modules import X``, a relative ``from ..X import``,
``importlib.import_module('trytond.modules.X')``) only when X is the module
itself or listed under ``depends`` in its tryton.cfg: a dependency of a
dependency is not enough, since the module in between may drop it.  Its
``extras_depend`` count for its tests, and, for a package from outside the
project (imported under ``try``/``except ImportError``), for its code.  The
files under a module's tests/ count for that module; a test-only module kept
under tests/ with its own tryton.cfg counts for itself.

Run by tools/run_tests.py with the sandbox tests (pytest).
"""
import ast
import configparser
from pathlib import Path

import pytest

ADDONS = Path(__file__).resolve().parents[2] / 'addons'
BASE = ['ir', 'res']        # trytond's own packages, always there


def tryton_modules(addons=ADDONS):
    """{folder: (name, depends)} of every module, test-only ones included;
    depends of files under tests/ also hold the optional ``extras_depend``
    (a module's tests run with the modules it integrates with)"""
    found = {}
    for cfg in sorted(addons.glob('*/tryton.cfg')) + sorted(
            addons.glob('*/tests/**/tryton.cfg')):
        config = configparser.ConfigParser()
        config.read_string(cfg.read_text(encoding='utf-8'))
        depends = config.get('tryton', 'depends', fallback='').split()
        extras = config.get('tryton', 'extras_depend', fallback='').split()
        found[cfg.parent] = (cfg.parent.name, depends)
        EXTRAS[cfg.parent] = extras
    return found


EXTRAS = {}


def owner(path, modules):
    "The module a file belongs to: the closest folder with a tryton.cfg"
    for folder in path.parents:
        if folder in modules:
            return folder
    return None


def package_of(path, folder, name):
    "The dotted package of a file: trytond.modules.<name>[.sub…]"
    relative = path.parent.relative_to(folder).parts
    return ['trytond', 'modules', name, *relative]


def imported_modules(path, package):
    "[(line, dotted name imported)] of a source file"
    tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                if node.level > len(package):
                    continue
                module = '.'.join(base + ([node.module] if node.module
                        else []))
            else:
                module = node.module or ''
            if module == 'trytond.modules':
                # from trytond.modules import X
                found.extend((node.lineno, f'{module}.{a.name}')
                    for a in node.names)
            else:
                found.append((node.lineno, module))
        elif (isinstance(node, ast.Call) and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and getattr(node.func, 'attr', getattr(node.func, 'id', None))
                == 'import_module'):
            found.append((node.lineno, node.args[0].value))
    return found


def violations(addons=ADDONS):
    "[(file, line, module, imported module, dotted name)] not declared"
    modules = tryton_modules(addons)
    project = {name for name, _ in modules.values()}
    found = []
    for path in sorted(addons.rglob('*.py')):
        if '__pycache__' in path.parts:
            continue
        folder = owner(path, modules)
        if folder is None:
            continue
        name, depends = modules[folder]
        allowed = {name, *depends, *BASE}
        if 'tests' in path.relative_to(folder).parts:
            allowed.update(EXTRAS.get(folder, ()))
        else:
            # an optional package from outside the project (Tryton's own
            # authentication_saml…), imported under try/except ImportError
            allowed.update(set(EXTRAS.get(folder, ())) - project)
        package = package_of(path, folder, name)
        for line, module in imported_modules(path, package):
            parts = module.split('.')
            if parts[:2] != ['trytond', 'modules'] or len(parts) < 3:
                continue
            if parts[2] not in allowed:
                found.append((path.relative_to(addons.parent), line, name,
                        parts[2], module))
    return found


def test_modules_found():
    names = [name for name, _ in tryton_modules().values()]
    assert 'order_hub' in names, names


def test_imports_are_declared_dependencies():
    found = violations()
    for path, line, name, target, module in found:
        print(f'{path}:{line}: {name} imports {module}, '
            f'but {target} is not in its tryton.cfg depends')
    assert not found, (
        f'{len(found)} import(s) of modules that are not direct '
        'dependencies:\n' + '\n'.join(
            f'  {path}:{line}: {name} imports {module} ({target} not in '
            f'{name}/tryton.cfg depends)'
            for path, line, name, target, module in found))


@pytest.mark.parametrize('source, expected', [
        ('import trytond.modules.stock.move', ['stock']),
        ('from trytond.modules.stock import move', ['stock']),
        ('from trytond.modules import stock, party', ['stock', 'party']),
        ('from ..stock import move', ['stock']),
        ('from .order import Order', []),
        ('from ...stock.tests import tools', ['stock']),
        ('importlib.import_module("trytond.modules.stock")', ['stock']),
        ])
def test_import_forms(tmp_path, source, expected):
    "The forms of import the check understands (from a tests/ file too)"
    folder = tmp_path / 'mod'
    (folder / 'tests').mkdir(parents=True)
    path = folder / ('tests' if '...' in source else '') / 'a.py'
    path.write_text(source)
    found = [m.split('.')[2] for _, m in imported_modules(
            path, package_of(path, folder, 'mod'))
        if m.startswith('trytond.modules.')]
    assert [m for m in found if m != 'mod'] == expected


def test_undeclared_imports_found(tmp_path):
    """A transitive dependency is not enough; tests count for their module,
    a test-only module under tests/ for itself"""
    def module(folder, depends, **files):
        folder.mkdir(parents=True)
        (folder / 'tryton.cfg').write_text(
            '[tryton]\ndepends:\n' + ''.join(f'    {d}\n' for d in depends))
        for name, source in files.items():
            path = folder / name.replace('__', '/') / 'x.py' \
                if '__' in name else folder / f'{name}.py'
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source)
    addons = tmp_path / 'addons'
    module(addons / 'a', ['ir', 'stock'], a='from trytond.modules import stock')
    module(addons / 'b', ['ir', 'a'], b='from ..a import a\n',
        tests__='from trytond.modules.stock.tests import tools\n')
    module(addons / 'b' / 'tests' / 'b_test', ['b', 'stock'],
        ext='from trytond.modules.stock import move\n'
        'from trytond.modules.a import a\n')
    found = [(str(path), name, target)
        for path, _, name, target, _ in violations(addons)]
    assert found == [
        ('addons/b/tests/b_test/ext.py', 'b_test', 'a'),
        ('addons/b/tests/x.py', 'b', 'stock'),
        ], found


def test_dependencies_point_one_way():
    "Infrastructure knows no business model; the order knows no integration"
    depends = {name: set(deps) for name, deps in tryton_modules().values()}
    integrations = {'hub_sync', 'order_sync', 'ut11_bridge', 'site_bridge',
        'payment_yookassa', 'hub_notify'}
    assert depends['hub_sync'] <= {'ir', 'res', 'hub_common'}, depends[
        'hub_sync']
    assert not depends['order_hub'] & integrations, depends['order_hub']
    assert 'ut11_bridge' not in depends['site_bridge']
    assert 'site_bridge' not in depends['ut11_bridge']


def test_optional_packages_from_outside_the_project(tmp_path):
    """extras_depend: any for the tests; for the code, only packages from
    outside the project (a bridge never imports another project module)"""
    addons = tmp_path / 'addons'
    for name, extras, source in [
            ('a', [], ''),
            ('c', ['a', 'saml'], 'from trytond.modules.saml import routes\n'
                'from trytond.modules.a import a\n')]:
        folder = addons / name
        (folder / 'tests').mkdir(parents=True)
        (folder / 'tryton.cfg').write_text('[tryton]\ndepends:\n    ir\n'
            'extras_depend:\n' + ''.join(f'    {e}\n' for e in extras))
        (folder / f'{name}.py').write_text(source)
        (folder / 'tests' / 'x.py').write_text(source)
    found = [(str(path), target) for path, _, _, target, _ in violations(
            addons)]
    assert found == [('addons/c/c.py', 'a')], found
