"""Browser test: a manager logs in to the real web client and finds Russian.

Builds a throw-away SQLite database with the demo data (starting from the
test suite's cached database), starts trytond with the web client on a free
port, and runs check_russian.js in headless Chromium (playwright-core).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'tools'))
DB = 'browser'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def build_database(folder, env):
    "The activated module database from the test cache, plus demo data"
    # through unittest_main: the caches keyed by their sources, in layers
    code = ('import unittest_main; '
        'from trytond.tests import test_tryton; '
        "test_tryton.activate_module(['order_hub'], lang='ru')")
    subprocess.run([sys.executable, '-c', code], check=True, cwd=ROOT,
        env=dict(env, TRYTOND_DATABASE_URI='sqlite://', DB_NAME=DB,
            PYTHONPATH=str(ROOT / 'tools')))
    subprocess.run([sys.executable, 'scripts/demo_data.py', '-d', DB,
            '-c', str(ROOT / 'trytond.conf')], check=True, cwd=ROOT, env=env)


def wait_for(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f'{url} did not answer')


def main():
    folder = Path(tempfile.mkdtemp(prefix='hub-browser-'))
    port = free_port()
    env = dict(os.environ,
        TRYTOND_DATABASE__PATH=str(folder),
        TRYTOND_WEB__ROOT=str(ROOT / 'web/node_modules/tryton-sao'),
        DB_CACHE=str(ROOT / 'var' / 'dbcache' / 'sqlite'))
    server = None
    try:
        build_database(folder, env)
        server = subprocess.Popen([str(ROOT / '.venv/bin/trytond'),
                '-c', str(ROOT / 'trytond.conf'), '-d', DB],
            cwd=ROOT, env=dict(env, TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}'),
            stdout=subprocess.DEVNULL, stderr=open(folder / 'server.log', 'w'))
        url = f'http://127.0.0.1:{port}/'
        wait_for(url)
        result = subprocess.run(['node', str(ROOT / 'tests/browser/check_russian.js'),
                url, DB, str(ROOT / 'var' / 'screenshots')], cwd=ROOT / 'web')
        return result.returncode
    finally:
        if server:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
