"""Drive a running simulator over its control API (for tests and the demo)."""
import requests


class SandboxControl:
    def __init__(self, base_url, timeout=10):
        self.base_url = base_url.rstrip('/') + '/__sandbox__'
        self.timeout = timeout

    def _call(self, method, path, **kwargs):
        response = requests.request(method, self.base_url + path,
            timeout=self.timeout, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def requests(self, path=None, method=None):
        params = {k: v for k, v in (('path', path), ('method', method)) if v}
        return self._call('GET', '/requests', params=params)

    def clear_requests(self):
        self._call('DELETE', '/requests')

    def fault(self, kind, endpoint='*', **kwargs):
        "Inject a fault; see core.FaultRule for the arguments"
        return self._call('POST', '/faults',
            json={'kind': kind, 'endpoint': endpoint, **kwargs})

    def clear_faults(self):
        self._call('DELETE', '/faults')

    def reset(self):
        self._call('POST', '/reset')

    def webhooks(self, wait=0):
        return self._call('GET', '/webhooks', params={'wait': wait})

    def flush_webhooks(self):
        self._call('POST', '/webhooks/flush')

    def clock(self):
        "{now, fake}: the simulator's time"
        return self._call('GET', '/clock')

    def advance(self, seconds):
        "Move the simulator's fake clock on (timers due meanwhile run)"
        return self._call('POST', '/clock', json={'advance': seconds})

    def action(self, name, **kwargs):
        "Run a simulator-specific control action (seed data, move a parcel…)"
        return self._call('POST', f'/{name}', json=kwargs)
