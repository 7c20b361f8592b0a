"""Keys and names of the test database caches.

Tryton caches an activated test database under a hash of the activated
modules' names only: a schema change would restore a stale database.  Here
each cached database is keyed by what it is built from, and nothing else:

* the versions of Python and of every installed ``trytond*`` distribution
  (Tryton itself, company, stock…);
* the sources of the activated modules of ``addons/`` and of the modules of
  ``addons/`` they depend on, transitively (their ``tests/`` folders left
  out, except test-only modules kept there with their own tryton.cfg).

Editing site_bridge therefore keeps order_hub's cache; editing order_hub
rebuilds every cache built on it.  Templates on a shared PostgreSQL cluster
carry the checkout's prefix (a hash of its path), so that one checkout never
drops or restores another's.

Used by run_tests.py and unittest_main.py; imports nothing of Tryton.
"""
import configparser
import functools
import hashlib
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDONS = ROOT / 'addons'
# files that never change a database: documentation, caches, scenarios
IGNORED_SUFFIXES = {'.pyc', '.pyo', '.md', '.rst', '.orig', '.rej', '.swp'}


def read_cfg(path):
    "tryton.cfg's [tryton] depends as a list"
    config = configparser.ConfigParser()
    config.read_string(Path(path).read_text(encoding='utf-8'))
    if not config.has_section('tryton'):
        return []
    return config.get('tryton', 'depends', fallback='').split()


@functools.cache
def modules():
    """{name: folder} of the project's Tryton modules: addons/*/ and the
    test-only modules under their tests/ (a folder with a tryton.cfg)"""
    found = {}
    for cfg in sorted(ADDONS.glob('*/tryton.cfg')):
        found[cfg.parent.name] = cfg.parent
    for cfg in sorted(ADDONS.glob('*/tests/**/tryton.cfg')):
        found.setdefault(cfg.parent.name, cfg.parent)
    return found


def depends(name):
    return read_cfg(modules()[name] / 'tryton.cfg')


def closure(names):
    "The project's modules among names and their dependencies, transitively"
    seen = set()
    todo = [n for n in names if n in modules()]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(d for d in depends(name) if d in modules())
    return seen


@functools.cache
def environment_key():
    "Python and the installed Tryton distributions"
    versions = sorted(
        f'{d.metadata["Name"].lower()}=={d.version}'
        for d in metadata.distributions()
        if (d.metadata['Name'] or '').lower().replace('_', '-')
        .startswith('trytond'))
    return f'{sys.version_info[:2]}:' + ','.join(versions)


def _files(folder):
    "The files of a module that may change its database, tests/ left out"
    for path in sorted(folder.rglob('*')):
        relative = path.relative_to(folder)
        if (path.is_file() and relative.parts[0] != 'tests'
                and '__pycache__' not in relative.parts
                and path.suffix not in IGNORED_SUFFIXES
                and not path.name.startswith('.')):
            yield relative, path


@functools.cache
def module_digest(name):
    "Hash of one module's own sources (tests left out)"
    folder = modules()[name]
    digest = hashlib.sha1(name.encode())
    for relative, path in _files(folder):
        digest.update(str(relative).encode() + b'\0')
        digest.update(path.read_bytes() + b'\0')
    return digest.hexdigest()


@functools.cache
def cache_key(names):
    """The key of a database with the modules names (a tuple) activated:
    changes with their sources, their dependencies' and Tryton's version"""
    digest = hashlib.sha1(environment_key().encode())
    for name in sorted(closure(names)):
        digest.update(f'{name}:{module_digest(name)};'.encode())
    return digest.hexdigest()[:16]


def names_of_cache(name):
    """Module names of a Tryton cache name: 'site_bridge--ru' from
    activate_module, 'a-b' or 'a-b--setup' from proteus' activate_modules"""
    return tuple(name.split('--')[0].split('-'))


def checkout_prefix(root=ROOT):
    "8 hex digits that tell this checkout's PostgreSQL databases apart"
    return hashlib.sha1(str(root).encode()).hexdigest()[:8]
