"""HTTP base of the bridges' clients (plain Python + requests, no Tryton).

One ``request`` method: it applies the timeout and the credentials and turns
failures into the errors of :mod:`.errors` so that the outbox can classify
them.  A bridge's client subclasses ``HttpClient``, adds one method per
remote call and may override ``reason`` to extract the remote's error text.
"""
import datetime
import email.utils
import logging

import requests

from .errors import ConfigurationError, PermanentError, TransientError

logger = logging.getLogger(__name__)

EXCERPT = 2000      # characters of a body kept in the journal
# Plain Python, no Tryton translations: the texts are Russian here
MSG_TIMEOUT = ('Сервер не ответил за отведённое время ({timeout} с): '
    '{method} {url}')
MSG_UNREACHABLE = 'Не удалось соединиться с сервером: {method} {url} ({error})'


def excerpt(text, size=EXCERPT):
    text = text or ''
    return text if len(text) <= size else text[:size] + '…'


def retry_after(response):
    "Seconds from a Retry-After header (seconds or HTTP date), or None"
    value = response.headers.get('Retry-After')
    if not value:
        return None
    if value.strip().isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = datetime.datetime.now(datetime.UTC)
    return max((when - now).total_seconds(), 0)


class HttpClient:

    def __init__(self, base_url, timeout, auth=None, headers=None,
            session=None):
        self.base_url = base_url.rstrip('/')
        self.timeout = timeout
        self.auth = auth
        self.headers = dict(headers or {})
        self.session = session or requests.Session()

    def url(self, path):
        return f'{self.base_url}/{path.lstrip("/")}'

    def request(self, method, path, **kwargs):
        "Send the request; return the response of a 1xx–3xx answer"
        url = self.url(path)
        kwargs.setdefault('timeout', self.timeout)
        kwargs['headers'] = {**self.headers, **(kwargs.get('headers') or {})}
        if self.auth is not None:
            kwargs.setdefault('auth', self.auth)
        try:
            response = self.session.request(method, url, **kwargs)
        except (requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL) as error:
            raise ConfigurationError(f'{method} {url}: {error}') from error
        except requests.RequestException as error:
            logger.debug('%s %s: %s', method, url, error)
            raise TransientError(self.unreachable(error, method, url,
                    kwargs['timeout']),
                detail=f'{method} {url}\n{error}') from error
        logger.debug('%s %s -> %s', method, url, response.status_code)
        self.check(response)
        return response

    @staticmethod
    def unreachable(error, method, url, timeout):
        "What the journal says when no answer came (administrators read it)"
        if isinstance(error, requests.Timeout) and not isinstance(
                error, requests.exceptions.ConnectTimeout):
            return MSG_TIMEOUT.format(timeout=timeout, method=method, url=url)
        return MSG_UNREACHABLE.format(method=method, url=url,
            error=excerpt(str(error), 200))

    def check(self, response):
        status = response.status_code
        if status < 400:
            return
        values = {'status': status, 'body': response.text,
            'detail': self.describe(response)}
        if status == 429 or status >= 500:
            raise TransientError(self.reason(response),
                retry_after=retry_after(response), **values)
        raise PermanentError(self.reason(response), **values)

    def reason(self, response):
        "The remote's reason as a user may read it (override to parse)"
        return f'HTTP {response.status_code}: {excerpt(response.text, 300)}'

    @staticmethod
    def describe(response):
        "Request and response excerpts for the sync journal"
        request = response.request
        body = request.body or ''
        if isinstance(body, bytes):
            body = body.decode('utf-8', 'replace')
        return (f'{request.method} {request.url}\n{excerpt(body)}\n'
            f'-> {response.status_code}\n{excerpt(response.text)}')
