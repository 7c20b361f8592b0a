"""python -m unittest, with PostgreSQL template caches named per sources.

Tryton names a cached test database ``test-<hash of the module list>``: two
checkouts of different sources on one PostgreSQL cluster (a second worktree,
a helper's branch) would restore each other's schema.  HUB_SOURCES_KEY (the
hash of the modules' sources, set by run_tests.py) goes into the name.
"""
import os
import sys
import unittest
from pathlib import Path

# as with python -m: the working directory (the repository) on the path
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from trytond.tests import test_tryton  # noqa: E402

_cache_file = test_tryton._db_cache_file


def _keyed_cache_file(path, name):
    return _cache_file(path, f"{name}@{os.environ.get('HUB_SOURCES_KEY', '')}")


test_tryton._db_cache_file = _keyed_cache_file

if __name__ == '__main__':
    sys.argv[0] = 'python -m unittest'
    unittest.main(module=None)
