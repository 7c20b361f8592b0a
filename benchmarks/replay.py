"""Record a remote system's HTTP answers once, then serve them again.

Transport adapters of ``requests``: mounted on a client's session, they sit
under the client's own code (URLs, paging, error checks, JSON decoding all
run as usual).  ``Recorder`` passes each request on and keeps the answer;
``Replayer`` answers from what was kept, without a network or a server, so
that a benchmark times the hub's own part of an exchange apart from the
remote system's.

Answers are kept in files of one folder (a full 1C load is hundreds of MB
of JSON: in the page cache rather than in the benchmark's own memory),
keyed by method and full URL.
"""
import json
import threading
from pathlib import Path

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict

INDEX = 'index.json'
KEPT_HEADERS = ('Content-Type',)


def key(request):
    return f'{request.method} {request.url}'


class Recorder(HTTPAdapter):
    "Sends requests as usual and writes every answer into folder"

    def __init__(self, folder):
        super().__init__()
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.index = {}
        self.lock = threading.Lock()   # the 1C client reads in a thread

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        content = response.content
        with self.lock:
            name = f'{len(self.index):06d}'
            self.index[key(request)] = {'file': name,
                'status': response.status_code,
                'headers': {h: response.headers[h] for h in KEPT_HEADERS
                    if h in response.headers}}
        (self.folder / name).write_bytes(content)
        return response

    def save(self):
        (self.folder / INDEX).write_text(json.dumps(self.index))
        return len(self.index)


class Replayer(BaseAdapter):
    "Answers each request with the recorded answer to the same URL"

    def __init__(self, folder):
        super().__init__()
        self.folder = Path(folder)
        self.index = json.loads((self.folder / INDEX).read_text())

    def send(self, request, **kwargs):
        recorded = self.index.get(key(request))
        if recorded is None:
            raise requests.ConnectionError(
                f'not recorded: {key(request)}', request=request)
        response = requests.Response()
        response.status_code = recorded['status']
        response.headers = CaseInsensitiveDict(recorded['headers'])
        response._content = (self.folder / recorded['file']).read_bytes()
        response.encoding = 'utf-8'
        response.url = request.url
        response.request = request
        response.reason = 'OK' if response.status_code < 400 else 'Error'
        return response

    def close(self):
        pass
