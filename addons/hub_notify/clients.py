"""E-mail and SMS clients (plain Python, no Tryton).

``SmsClient`` speaks the hub's provider-neutral SMS contract: ``POST
/v1/messages`` with ``{"to", "text", "sender"}``, a bearer token and an
``Idempotency-Key`` → ``{"id", "status"}``; errors ``{"error": {"code",
"message"}}``.  A gateway with another API gets a subclass with the same
``send``.  ``send_email`` delivers through an SMTP server given as
``smtp://host:port`` (``smtps://`` for TLS, ``smtp+starttls://``)."""
import smtplib
import socket
from urllib.parse import urlsplit

from trytond.modules.hub_sync.errors import (
    ConfigurationError, PermanentError, TransientError)
from trytond.modules.hub_sync.http import HttpClient


class SmsClient(HttpClient):

    def __init__(self, base_url, token, timeout=10, session=None):
        super().__init__(base_url, timeout, session=session,
            headers={'Authorization': f'Bearer {token}'})

    def reason(self, response):
        try:
            return response.json()['error']['message']
        except (ValueError, KeyError, TypeError):
            return super().reason(response)

    def send(self, key, to, text, sender=None):
        "Send one SMS; return the gateway's message id"
        body = {'to': to, 'text': text}
        if sender:
            body['sender'] = sender
        return self.request('POST', '/v1/messages', json=body,
            headers={'Idempotency-Key': key}).json()['id']


def send_email(url, message, login=None, password=None, timeout=10):
    "Deliver an email.message.EmailMessage; raise hub_sync errors"
    parts = urlsplit(url or '')
    if parts.scheme not in {'smtp', 'smtps', 'smtp+starttls'} or not (
            parts.hostname):
        raise ConfigurationError(f'Bad SMTP server address: {url!r}')
    factory = smtplib.SMTP_SSL if parts.scheme == 'smtps' else smtplib.SMTP
    try:
        with factory(parts.hostname, parts.port or 0,
                timeout=timeout) as server:
            if parts.scheme == 'smtp+starttls':
                server.starttls()
            if login:
                server.login(login, password or '')
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        text = f'Адрес отвергнут почтовым сервером: {error.recipients}'
        if all(400 <= c < 500 for c in codes):
            raise TransientError(text) from error
        raise PermanentError(text) from error
    except smtplib.SMTPResponseException as error:
        text = f'Почтовый сервер: {error.smtp_code} {error.smtp_error!r}'
        if 400 <= error.smtp_code < 500:
            raise TransientError(text) from error
        raise PermanentError(text) from error
    except (OSError, smtplib.SMTPException, socket.timeout) as error:
        raise TransientError(
            f'Почтовый сервер недоступен: {url} ({error})') from error
