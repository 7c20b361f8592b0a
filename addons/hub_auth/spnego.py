"""The acceptor of Kerberos tickets sent through SPNEGO ("Negotiate"), on
python-gssapi (MIT Kerberos).  Plain Python, no Tryton: the keytab and
the service principal come in explicitly."""
import base64
import binascii
from dataclasses import dataclass

try:
    import gssapi
except ImportError:  # Debian libkrb5-dev to build it: no Kerberos login
    gssapi = None


class NegotiateError(Exception):
    "The token was refused (forged, expired, for another service or realm)"


@dataclass
class Accepted:
    principal: str          # ivan@CORP.EXAMPLE.RU
    token: str = ''         # base64 answer for WWW-Authenticate (mutual)

    @property
    def name(self):
        return self.principal.rpartition('@')[0] or self.principal

    @property
    def realm(self):
        return self.principal.rpartition('@')[2] if '@' in self.principal \
            else ''


def available():
    return gssapi is not None


def negotiate_token(header):
    "The token of an 'Authorization: Negotiate <base64>' header, else None"
    scheme, _, value = (header or '').strip().partition(' ')
    if scheme.lower() != 'negotiate' or not value.strip():
        return None
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return b''


class Acceptor:

    def __init__(self, keytab, principal=None):
        self.keytab = keytab
        self.principal = principal or None

    def credentials(self):
        name = None
        if self.principal:
            name = gssapi.Name(self.principal,
                gssapi.NameType.kerberos_principal)
        return gssapi.Credentials(name=name, usage='accept',
            store={'keytab': self.keytab})

    def accept(self, token):
        """The client's principal of a one-round-trip Kerberos token (SPNEGO
        or raw krb5); NegotiateError when refused"""
        if not token:
            raise NegotiateError('empty token')
        try:
            context = gssapi.SecurityContext(creds=self.credentials(),
                usage='accept')
            answer = context.step(token)
            # python-gssapi raises a failed step's error here (a replay)
            if not context.complete:
                # NTLM or a multi-leg mechanism: not offered
                raise NegotiateError('the security context is not complete')
            principal = str(context.initiator_name)
        except gssapi.exceptions.GSSError as exception:
            raise NegotiateError(str(exception)) from exception
        return Accepted(principal=principal,
            token=base64.b64encode(answer).decode() if answer else '')
