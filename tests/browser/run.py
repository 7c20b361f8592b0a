"""Browser test: the demo as a manager walks it, in headless Chromium.

Starts the demo exactly as bin/demo does (scripts/demo.py: the simulators,
the database with every module wired to them, the server, Tryton's cron),
on free ports under var/browser-demo/, with a paid order placed on the site
before the cron's first exchange; then demo_walk.js (playwright-core) walks
it and saves one screenshot per step in var/screenshots/demo-*.png.
Needs Chromium (`apt-get install chromium`; CHROMIUM=<path> for another).
"""
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'scripts'))
from demo import Demo  # noqa: E402

VAR = ROOT / 'var' / 'browser-demo'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def main():
    shutil.rmtree(VAR, ignore_errors=True)
    demo = Demo(var=VAR, listen=f'127.0.0.1:{free_port()}', free_ports=True,
        ticker=False)
    try:
        demo.start()
        result = subprocess.run(['node',
                str(ROOT / 'tests/browser/demo_walk.js'), demo.url,
                demo.database, str(ROOT / 'var' / 'screenshots'),
                demo.urls['bitrix_site'], demo.urls['ut11'],
                str(demo.first_order['account_number'])],
            cwd=ROOT / 'web')
        if result.returncode:
            print(f"Logs of the demo: {VAR / 'log'}")
        return result.returncode
    finally:
        demo.stop()


if __name__ == '__main__':
    sys.exit(main())
