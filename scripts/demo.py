"""The demo: the simulators of the external systems, a hub database with
every module wired to them, the server with the web client and Tryton's
cron, until Ctrl+C.

    .venv/bin/python scripts/demo.py        (bin/demo runs it after bin/setup)

Each start builds the database afresh, because the simulators keep their
state in memory: from a copy of the activated modules (built once per
version of the modules' sources, var/db-templates/) plus the demo data
(scripts/demo_data.py: the catalogue through the full load from 1C UT11,
orders through the site's exchange).  The browser test starts the demo
through the same class, on free ports in a folder of its own.

SQLite has no task worker (trytond-worker needs PostgreSQL): queued tasks
run in the server right after each commit, and trytond-cron runs the
schedules in one process, so at most two processes write at once; SQLite in
WAL mode makes the second wait, and Tryton retries a writer that waited too
long.
"""
import argparse
import configparser
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / '.venv' / 'bin'
CONFIG = ROOT / 'trytond.conf'
TEMPLATES = ROOT / 'var' / 'db-templates'
ADMIN_PASSWORD = 'admin'

# how the banner names the simulators and what to try on each first
SIMULATORS = [
    ('bitrix_site', "Сайт (1С-Битрикс)",
        "«Разместить заказ» — заказ покупателя; хаб заберёт его в течение "
        "минуты"),
    ('ut11', "1С: Управление торговлей 11",
        "остатки по складам, заказы клиентов и перемещения, созданные хабом"),
    ('bitrix24', "Битрикс24", None),
    ('yookassa', "ЮKassa", None),
    ('cdek', "СДЭК", None),
    ('russian_post', "Почта России", None),
    ('chestny_znak', "Честный знак", None),
    ]
USERS = [
    ('manager', "менеджер интернет-магазина"),
    ('shop.tverskaya', "сотрудник магазина на Тверской (Москва)"),
    ('shop.nevsky', "сотрудник магазина на Невском (Санкт-Петербург)"),
    ('warehouse', "склад (Центральный склад)"),
    ('accountant', "бухгалтер"),
    ('hubadmin', "администратор хаба"),
    ]


def modules():
    """Every module of the project: each folder of addons/ with a tryton.cfg,
    but the test-only ones (named *_test)"""
    return sorted(p.parent.name for p in (ROOT / 'addons').glob('*/tryton.cfg')
        if not p.parent.name.endswith('_test'))


def sources_hash():
    "Changes whenever a module's models, views, data or translations do"
    digest = hashlib.sha1(' '.join(modules()).encode())
    for path in sorted((ROOT / 'addons').rglob('*')):
        if path.is_file() and path.suffix in {'.py', '.xml', '.cfg', '.po'} \
                and 'tests' not in path.relative_to(ROOT / 'addons').parts:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def listen_address(environ):
    """Where the server will listen: trytond.conf wins over the
    environment (TRYTOND_WEB__LISTEN), trytond's default last"""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(CONFIG)
    return (parser.get('web', 'listen', fallback=None)
        or environ.get('TRYTOND_WEB__LISTEN') or 'localhost:8000')


def browser_url(listen):
    host, _, port = listen.rpartition(':')
    host = host.strip('[]')
    if host in ('', '0.0.0.0', '::'):
        host = '127.0.0.1'
    elif ':' in host:
        host = f'[{host}]'
    return f'http://{host}:{port}/'


def control(url, action, **kwargs):
    "Call a simulator's control action; None when it has no such action"
    request = urllib.request.Request(f'{url}/__sandbox__/{action}',
        data=json.dumps(kwargs).encode(), method='POST',
        headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b'null')
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def place_site_order(url, paid=False):
    """A customer orders on the site: the simulator's own random order when
    it has one (python -m sandbox --demo), else one made up here; paid:
    then pays it online"""
    placed = control(url, 'place_random_order')
    if placed is None:
        placed = control(url, 'place_order', **random_order(url))
    if paid and placed.get('payed') != 'Y':
        control(url, 'edit_order', id=placed['id'], paid=True)
    return placed


def random_order(url, rng=random):
    "place_order arguments: a customer of demo_data, 1-3 offers of the site"
    from demo_data import CUSTOMERS, SITE_DELIVERIES, site_customer
    catalog = control(url, 'catalog')
    offers = [o['xml_id'] for o in catalog['offers'].values()
        if o.get('prices') and catalog['products'].get(
            o['xml_id'].split('#')[0], {}).get('active')]
    pay_system = rng.choice([2, 2, 4, 1])
    return {**site_customer(rng.choice(CUSTOMERS)),
        **SITE_DELIVERIES[rng.choice([3, 3, 4, 5, 2])],
        'lines': [{'product_xml_id': o, 'quantity': rng.choice([1, 1, 2])}
            for o in rng.sample(offers, rng.randint(1, min(3, len(offers))))],
        'promo_code': rng.choice([None, None, None, 'ВЕСНА10']),
        'pay_system_id': pay_system,
        # paid online at checkout, or not yet
        'paid': pay_system != 1 and rng.random() < 0.6}


class Demo:
    """The demo's processes.  var: its folder (logs, database, the
    simulators' URLs); listen: the server's address; free_ports: the
    simulators on ports the system chooses (tests) instead of their own"""

    def __init__(self, var=ROOT / 'var', database='hub', listen=None,
            free_ports=False, ticker=True, out=sys.stdout):
        self.var = Path(var)
        self.ticker = ticker
        self.database = database
        self.free_ports = free_ports
        self.out = out
        self.env = dict(os.environ,
            PATH=f'{BIN}{os.pathsep}{os.environ.get("PATH", "")}',
            TRYTOND_DATABASE__PATH=str(self.var / 'db'),
            # «Создать резервную копию сейчас»: sets under var/backups,
            # encrypted with a key made once (scripts/demo.py, backup_key)
            TRYTOND_HUB_BACKUP__FOLDER=str(self.var / 'backups'),
            TRYTOND_HUB_BACKUP__KEY_FILE=str(self.var / 'backup.key'),
            TRYTOND_WEB__ROOT=str(ROOT / 'web/node_modules/tryton-sao'),
            TRYTOND_WEB__LISTEN=listen or os.environ.get(
                'TRYTOND_WEB__LISTEN', '127.0.0.1:8000'),
            PYTHONUNBUFFERED='1')
        self.url = browser_url(listen_address(self.env))
        self.processes = []
        self.urls = {}
        self.sandbox_demo = False
        self.first_order = None
        self._stop = threading.Event()
        self._ticker = None

    def say(self, text):
        print(text, file=self.out, flush=True)

    @property
    def portal_url(self):
        "The shop's portal (hub_portal), for a phone at the counter"
        return f'{self.url}{self.database}/hub/shop/'

    # -- life cycle ----------------------------------------------------------
    def start(self):
        """The simulators, the database, the server; a customer orders on
        the site before the cron's first exchange, so that the order is in
        the hub at once; then the cron"""
        (self.var / 'log').mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        self.check_address()
        self.backup_key()
        try:
            self.start_sandbox()
            self.create_database()
            self.start_server()
            self.connect_notifications()
            self.first_order = place_site_order(self.urls['bitrix_site'],
                paid=True)
            self.start_cron()
            self.start_ticker()
        except BaseException:
            self.stop()
            raise
        self.say(f"Демо готово за {time.monotonic() - started:.0f} с.")

    def stop(self):
        self._stop.set()
        # each process leads a group of its own (trytond-cron's workers)
        for name, process in reversed(self.processes):
            self.signal(process, signal.SIGTERM)
        for name, process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            self.signal(process, signal.SIGKILL)
            process.wait()
        self.processes.clear()

    @staticmethod
    def signal(process, signum):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass

    def wait(self):
        "Until Ctrl+C, or until a process of the demo dies"
        while not self._stop.is_set():
            for name, process in self.processes:
                if process.poll() is not None:
                    self.say(f"Процесс {name} завершился (код "
                        f"{process.returncode}), см. {self.log(name)}")
                    return process.returncode or 1
            self._stop.wait(1)
        return 0

    def log(self, name):
        return self.var / 'log' / f'{name}.log'

    def spawn(self, name, args):
        "A process of the demo, in a group of its own (Ctrl+C is ours)"
        with open(self.log(name), 'ab') as log:
            process = subprocess.Popen(args, cwd=ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes.append((name, process))
        return process

    def run(self, name, args, env=None):
        "Run a step to its end, its output in var/log/<name>.log"
        with open(self.log(name), 'ab') as log:
            result = subprocess.run(args, cwd=ROOT, env=env or self.env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if result.returncode:
            tail = self.log(name).read_text(errors='replace').splitlines()
            raise SystemExit('\n'.join(tail[-30:]) + f"\n\nНе удалось: "
                f"{name} (код {result.returncode}), журнал: {self.log(name)}")

    # -- the simulators ------------------------------------------------------
    def start_sandbox(self):
        python = str(BIN / 'python')
        usage = subprocess.run([python, '-m', 'sandbox', '--help'], cwd=ROOT,
            env=self.env, capture_output=True, text=True).stdout
        self.sandbox_demo = '--demo' in usage
        urls_file = self.var / 'sandbox.json'
        urls_file.unlink(missing_ok=True)
        args = [python, '-m', 'sandbox', '--urls-file', str(urls_file)]
        args += ['--demo'] if self.sandbox_demo else []
        args += ['--free-ports'] if self.free_ports else []
        process = self.spawn('sandbox', args)
        deadline = time.monotonic() + 60
        while not urls_file.exists() or not urls_file.read_text().strip():
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("Симуляторы не запустились (заняты порты "
                    f"8101–8107?), журнал: {self.log('sandbox')}")
            time.sleep(0.2)
        time.sleep(0.1)   # the file is written at once: read it whole
        self.urls = json.loads(urls_file.read_text())

    # -- the database --------------------------------------------------------
    def template(self):
        "The database with every module activated, built once per sources"
        path = TEMPLATES / f'{sources_hash()}.sqlite'
        if path.exists():
            return path
        self.say("Создаю базу с модулями хаба (один раз, около минуты)…")
        TEMPLATES.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=TEMPLATES))
        try:
            (folder / 'template.sqlite').touch()
            password = folder / 'adminpass'
            password.write_text(ADMIN_PASSWORD)
            env = dict(self.env, TRYTOND_DATABASE__PATH=str(folder),
                TRYTONPASSFILE=str(password))
            self.run('admin', [str(BIN / 'trytond-admin'), '-c', str(CONFIG),
                    '-d', 'template', '-u', *modules(),
                    '--activate-dependencies', '--email', 'admin@example.ru',
                    '-l', 'ru', '-vv'], env=env)
            for old in TEMPLATES.glob('*.sqlite'):
                old.unlink()
            os.replace(folder / 'template.sqlite', path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return path

    def create_database(self):
        template = self.template()
        folder = self.var / 'db'
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f'{self.database}.sqlite'
        for suffix in ('', '-wal', '-shm'):
            Path(f'{target}{suffix}').unlink(missing_ok=True)
        with sqlite3.connect(template) as source, \
                sqlite3.connect(target) as copy:
            source.backup(copy)
        self.say("Загружаю демо-данные: каталог и остатки из 1С, заказы "
            "с сайта…")
        self.run('demo_data', [str(BIN / 'python'), 'scripts/demo_data.py',
                '-c', str(CONFIG), '-d', self.database,
                '--sandbox', str(self.var / 'sandbox.json')])

    # -- the server and the cron ---------------------------------------------
    def check_address(self):
        "Nothing else answers where the server is to listen"
        address = urllib.parse.urlsplit(self.url)
        try:
            socket.create_connection((address.hostname, address.port),
                timeout=1).close()
        except OSError:
            pass   # free
        else:
            raise SystemExit(f"Адрес {address.netloc} уже занят. Укажите "
                "другой, например: TRYTOND_WEB__LISTEN=127.0.0.1:8010 bin/demo")

    def backup_key(self):
        "The demo's backup key (production keeps its own off the database)"
        key = self.var / 'backup.key'
        if not key.exists():
            import base64
            key.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
            key.chmod(0o600)

    def start_server(self):
        process = self.spawn('trytond', [str(BIN / 'trytond'),
                '-c', str(CONFIG), '-d', self.database, '-v'])
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    return
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"Сервер не ответил на {self.url}, "
                        f"журнал: {self.log('trytond')}")
                time.sleep(0.3)

    def connect_notifications(self):
        "YooKassa's notifications go to the hub's route, as set in its profile"
        if 'yookassa' not in self.urls:
            return
        base = self.url.split('#', 1)[0].rstrip('/')
        control(self.urls['yookassa'], 'configure', notification_url=(
                f'{base}/{self.database}/payment_yookassa/notifications'))

    def start_cron(self):
        # one process: the schedules write to SQLite one after the other
        self.spawn('cron', [str(BIN / 'trytond-cron'), '-c', str(CONFIG),
                '-d', self.database, '-n', '1', '-vv'])

    # -- orders on the site, stock in 1C -------------------------------------
    def start_ticker(self):
        """Without the simulators' own demo mode: an order on the site and
        a stock change in 1C every minute, from here"""
        if self.sandbox_demo or not self.ticker:
            return
        self._ticker = threading.Thread(target=self._tick, daemon=True,
            name='demo-ticker')
        self._ticker.start()

    def _tick(self):
        rng = random.Random()
        while not self._stop.wait(60):
            try:
                place_site_order(self.urls['bitrix_site'])
                self.change_stock(rng)
            except Exception as error:  # the demo goes on
                with open(self.log('sandbox'), 'a') as log:
                    print(f'demo ticker: {error!r}', file=log)

    def change_stock(self, rng):
        "Someone sells or receives a few pieces in 1C"
        rows = control(self.urls['ut11'], 'stock') or []
        if rows:
            row = rng.choice(rows)
            control(self.urls['ut11'], 'set_stock',
                product=row['Номенклатура_Key'], warehouse=row['Склад_Key'],
                characteristic=row['Характеристика_Key'] if row[
                    'Характеристика_Key'] != '00000000-0000-0000-0000-'
                '000000000000' else None,
                quantity=max(0, row['on_hand'] + rng.choice([-2, -1, 1, 3])))

    # -- what the user reads -------------------------------------------------
    def banner(self):
        url = f'{self.url}#{self.database}'
        width = max(len(label) for _, label, _ in SIMULATORS)
        lines = ['', f"  Хаб заказов: {url}   (веб-клиент, на русском)",
            f"  Портал магазина (с телефона): {self.portal_url}   "
            "(shop.tverskaya, shop.nevsky)", '',
            "  Пользователи (пароль у всех: demo-2026; у admin — admin)"]
        lines += [f"    {login:16} {who}" for login, who in USERS]
        lines += ['', "  Внешние системы — симуляторы, страницы управления:"]
        for code, label, hint in SIMULATORS:
            if code in self.urls:
                lines.append(f"    {label:{width}}  "
                    f"{self.urls[code]}/__sandbox__/")
                if hint:
                    lines.append(f"    {'':{width}}  {hint}")
        lines += ['', "  С чего начать:",
            "    1. Войдите как manager → «Хаб заказов → Заказы»: каждую "
            "минуту с сайта приходит новый заказ.",
            "    2. Откройте оплаченный заказ (вкладка «Оплачен») и его строку: "
            "остатки по складам из 1С.",
            "       «Зарезервировать товар» — заказ уйдёт в 1С.",
            "    3. Измените количество в строке и сохраните: цену пересчитает "
            "сайт,",
            "       изменение видно на страницах управления сайта и 1С.",
            "    4. Вкладка «Журнал действий» заказа: кто что сделал — "
            "менеджер, сайт, 1С.",
            "    5. «Обмен»: журнал обмена и загрузки из 1С УТ11.",
            '', f"  Журналы: {self.var / 'log'}/    Остановить: Ctrl+C", '']
        return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--var', default=str(ROOT / 'var'),
        help="folder for the database, logs and the simulators' URLs")
    parser.add_argument('--free-ports', action='store_true',
        help="simulators on ports the system chooses")
    args = parser.parse_args()
    demo = Demo(var=args.var, free_ports=args.free_ports)

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    try:
        demo.start()
        demo.say(demo.banner())
        code = demo.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        demo.say("Останавливаю демо…")
        demo.stop()
    return code


if __name__ == '__main__':
    sys.exit(main())
