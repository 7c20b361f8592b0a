"""A 1C-Bitrix site that answers prepared bytes, over real HTTP.

For what the sandbox simulator does not answer: a byte-order mark before
any answer (a PHP file of the site saved with one), windows-1251 behind a
BOM, a captured exchange file as the mode=query answer.  It speaks just
enough of the exchange (checkauth, init, query, success), of the sale.*
REST and of the pricing endpoint, and records what it was asked.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

BOM = b'\xef\xbb\xbf'
EXCHANGE = '/bitrix/admin/1c_exchange.php'
TEXT = 'text/html; charset=windows-1251'
XML = 'application/xml; charset=windows-1251'
JSON = 'application/json; charset=utf-8'


class FakeSite:
    login, password = 'exchange_1c', 'secret'
    webhook = '1/hookcode'

    def __init__(self, query=b'', bom=False, query_type=XML):
        self.query = query              # the mode=query answer's bytes
        self.query_type = query_type
        self.bom = bom                  # a BOM before every answer
        self.rest = {}                  # REST method -> result
        self.price = None               # the pricing endpoint's answer
        self.calls = []                 # (method, path, mode)
        self.lock = threading.Lock()

    def start(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.handle(self)

            do_POST = do_GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.server.serve_forever,
            daemon=True).start()
        return self.base_url

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def base_url(self):
        return f'http://127.0.0.1:{self.server.server_address[1]}'

    def modes(self):
        "The exchange modes asked, in order"
        with self.lock:
            return [mode for _, path, mode in self.calls if path == EXCHANGE]

    # -- answers ------------------------------------------------------------
    def handle(self, request):
        url = urlparse(request.path)
        length = int(request.headers.get('Content-Length') or 0)
        body = request.rfile.read(length) if length else b''
        mode = parse_qs(url.query).get('mode', [None])[0]
        with self.lock:
            self.calls.append((request.command, url.path, mode))
        if url.path == EXCHANGE:
            data, content_type = self.exchange(mode)
        elif url.path.startswith('/rest/'):
            method = url.path.rsplit('/', 1)[1].removesuffix('.json')
            data, content_type = json.dumps(
                {'result': self.rest[method]}).encode(), JSON
        else:
            data, content_type = json.dumps(
                self.price or {'echo': json.loads(body or b'{}')}).encode(), JSON
        data = (BOM if self.bom else b'') + data
        request.send_response(200)
        request.send_header('Content-Type', content_type)
        request.send_header('Content-Length', str(len(data)))
        if mode == 'checkauth':
            request.send_header('Set-Cookie', 'PHPSESSID=fake; path=/')
        request.end_headers()
        request.wfile.write(data)

    def exchange(self, mode):
        lines = {
            'checkauth': ['success', 'PHPSESSID', 'fake', 'sessid=token'],
            'init': ['zip=no', 'file_limit=204800'],
            'success': ['success'],
            }.get(mode)
        if mode == 'query':
            return self.query, self.query_type
        if lines is None:
            lines = ['failure', 'Неизвестная команда.']
        return '\n'.join(lines).encode('cp1251'), TEXT
