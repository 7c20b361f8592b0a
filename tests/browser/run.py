"""Browser test: the demo as a manager walks it, in headless Chromium.

Starts the demo exactly as bin/demo does (scripts/demo.py: the simulators,
the database with every module wired to them, the server, Tryton's cron),
on free ports under var/browser-demo/, with a paid order placed on the site
before the cron's first exchange; then demo_walk.js (playwright-core) walks
it and saves one screenshot per step in var/screenshots/demo-*.png;
portal_walk.js then walks the shop's portal on a phone-sized screen
(portal-*.png: login, scanning, «Выдача», a pickup slip's QR code,
«Доставлено» and «Выдан»; `run.py portal` runs this walk alone).
Needs Chromium (`apt-get install chromium`; CHROMIUM=<path> for another).
"""
import html
import re
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


def pickup_path(demo, login='shop.tverskaya', password='demo-2026'):
    """The portal path of the first pickup waiting in the shop of login, as
    its «Выдача» page lists it (the pickup slip's QR code holds this page)"""
    import requests
    base = demo.portal_url.rstrip('/')
    with requests.Session() as session:
        page = session.get(f'{base}/login', timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
        session.post(f'{base}/login', timeout=30, data={'login': login,
                'password': password, 'csrf_token': token.group(1)})
        page = session.get(f'{base}/pickups', timeout=30)
        found = re.search(r'href="([^"]*/shipment/[^"]+)"', page.text)
        if not found:
            raise SystemExit(f"No pickup waits for {login} in the demo")
        return html.unescape(found.group(1))


def portal_walk(demo):
    """The shop's portal on a phone, QR codes photographed (PNG from
    qrcode): a portal page, another site's, and a pickup slip's"""
    import qrcode
    target = f'/{demo.database}/hub/shop/?from=qr'
    shipment = pickup_path(demo)
    codes = {'portal': demo.url.rstrip('/') + target,
        'foreign': 'https://example.com/shipment/1',
        'shipment': demo.url.rstrip('/') + shipment}
    for name, text in codes.items():
        qrcode.make(text, border=6).save(VAR / f'qr-{name}.png')
    return subprocess.run(['node', str(ROOT / 'tests/browser/portal_walk.js'),
            demo.portal_url, str(ROOT / 'var' / 'screenshots'),
            str(VAR / 'qr-portal.png'), target, str(VAR / 'qr-foreign.png'),
            str(VAR / 'qr-shipment.png'), shipment],
        cwd=ROOT / 'web').returncode


def main(only_portal=False):
    shutil.rmtree(VAR, ignore_errors=True)
    demo = Demo(var=VAR, listen=f'127.0.0.1:{free_port()}', free_ports=True,
        ticker=False)
    try:
        demo.start()
        if only_portal:
            return portal_walk(demo)
        result = subprocess.run(['node',
                str(ROOT / 'tests/browser/demo_walk.js'), demo.url,
                demo.database, str(ROOT / 'var' / 'screenshots'),
                demo.urls['bitrix_site'], demo.urls['ut11'],
                str(demo.first_order['account_number']),
                demo.urls.get('bitrix24', '')],
            cwd=ROOT / 'web')
        returncode = result.returncode or portal_walk(demo)
        if returncode:
            print(f"Logs of the demo: {VAR / 'log'}")
        return returncode
    finally:
        demo.stop()


if __name__ == '__main__':
    sys.exit(main(only_portal=sys.argv[1:] == ['portal']))
