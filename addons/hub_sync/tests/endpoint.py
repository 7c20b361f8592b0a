"""A real HTTP endpoint for the hub's routes in tests: a server whose
thread hands each request to the test's thread, which runs it through
Tryton's WSGI app (the routes unchanged) — Tryton's SQLite database in
memory lives in one thread.  Used by the bridges whose remote calls back
(YooKassa notifications, CDEK webhooks)."""
import queue
import threading

from werkzeug.serving import make_server
from werkzeug.test import Client


class HubEndpoint:
    "A real HTTP endpoint for the hub's routes, served from the test thread"

    def __init__(self):
        self.requests = queue.Queue()
        self.server = make_server('127.0.0.1', 0, self.wsgi, threaded=True)
        self.url = f'http://127.0.0.1:{self.server.server_port}'
        self.thread = threading.Thread(target=self.server.serve_forever,
            kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def wsgi(self, environ, start_response):
        length = int(environ.get('CONTENT_LENGTH') or 0)
        item = {'path': environ['PATH_INFO'], 'method': environ[
                'REQUEST_METHOD'], 'body': environ['wsgi.input'].read(length),
            'content_type': environ.get('CONTENT_TYPE'),
            'remote': environ['REMOTE_ADDR'], 'done': threading.Event()}
        self.requests.put(item)
        if not item['done'].wait(20):
            start_response('503 Service Unavailable', [])
            return [b'']
        start_response(f"{item['status']} -", [])
        return [item['response']]

    def pump(self, idle=0.5):
        "Serve what arrives until nothing came for idle seconds"
        from trytond.wsgi import app
        client = Client(app)
        served = 0
        while True:
            try:
                item = self.requests.get(timeout=idle)
            except queue.Empty:
                return served
            response = client.open(item['path'], method=item['method'],
                data=item['body'], content_type=item['content_type'],
                environ_base={'REMOTE_ADDR': item['remote']})
            item['status'] = response.status_code
            item['response'] = response.get_data()
            item['done'].set()
            served += 1
