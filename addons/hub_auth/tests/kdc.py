"""A real MIT Kerberos realm for the tests: PyPI ``k5test`` runs the Debian
``krb5-kdc`` (``kdb5_util``, ``kadmin.local``, ``kinit`` of
``krb5-admin-server``, ``krb5-user``; ``krb5-config`` of ``libkrb5-dev``)
on free loopback ports, in a temporary folder removed at the end.  The
hub's service principal gets a keytab; each person kinit's into a ticket
cache of their own, and a browser's SPNEGO token is made from it with
python-gssapi."""
import os
import random
import shutil
import socket

try:
    import gssapi
    import k5test
except ImportError:
    gssapi = k5test = None

REALM = 'SHOP.TEST'
SERVICE = f'HTTP/hub.shop.test@{REALM}'
SPNEGO = '1.3.6.1.5.5.2'
PROGRAMS = ['krb5kdc', 'kdb5_util', 'kadmin.local', 'kinit', 'krb5-config']


def available():
    return bool(gssapi and k5test) and all(
        shutil.which(p) or os.path.exists(f'/usr/sbin/{p}')
        for p in PROGRAMS)


def free_portbase(tries=50):
    "A base of 3 free loopback ports (TCP and UDP): the KDC's, kadmind's…"
    for _ in range(tries):
        base = random.randrange(20000, 60000, 10)
        try:
            for port in range(base, base + 3):
                for kind in [socket.SOCK_STREAM, socket.SOCK_DGRAM]:
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind(('127.0.0.1', port))
        except OSError:
            continue
        return base
    raise RuntimeError('no free ports for the KDC')


class KDC:
    "A running realm SHOP.TEST: start(), person(), token(), stop()"

    def __init__(self, realm=REALM, service=SERVICE):
        self.realm_name = realm
        self.service = service
        self.realm = None
        self.saved_env = {}

    def start(self):
        self.realm = k5test.K5Realm(realm=self.realm_name,
            portbase=free_portbase(), create_user=False, get_creds=False,
            create_host=False)
        try:
            for name, value in self.realm.env.items():
                self.saved_env[name] = os.environ.get(name)
                os.environ[name] = value
            self.keytab = os.path.join(self.realm.tmpdir, 'http.keytab')
            self.realm.addprinc(self.service)
            self.realm.extract_keytab(self.service, self.keytab)
        except Exception:
            self.stop()
            raise

    def stop(self):
        for name, value in self.saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.saved_env = {}
        if self.realm is not None:
            self.realm.stop()
            self.realm = None

    def person(self, name, password):
        "A principal with a ticket of its own: the path of its cache"
        principal = f'{name}@{self.realm_name}'
        self.realm.addprinc(principal, password)
        ccache = os.path.join(self.realm.tmpdir, f'{name}.ccache')
        self.realm.kinit(principal, password, flags=['-c', ccache])
        return ccache

    def token(self, ccache, service=None):
        "What a domain PC's browser sends: a SPNEGO token for the service"
        creds = gssapi.Credentials(usage='initiate', store={'ccache': ccache})
        context = gssapi.SecurityContext(
            name=gssapi.Name(service or self.service,
                gssapi.NameType.kerberos_principal),
            creds=creds, usage='initiate',
            mech=gssapi.OID.from_int_seq(SPNEGO))
        return context.step()
