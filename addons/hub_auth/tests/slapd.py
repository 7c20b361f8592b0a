"""A real OpenLDAP server for the tests: a private slapd (Debian package
``slapd``) on free loopback ports, LDAPS and StartTLS with a certificate
made here, nested ``memberOf`` computed by the dynlist overlay."""
import contextlib
import datetime
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SLAPD = '/usr/sbin/slapd'
SLAPADD = '/usr/sbin/slapadd'
BASE = 'dc=shop,dc=test'
ADMIN_DN = f'cn=admin,{BASE}'
ADMIN_PASSWORD = 'Adm1n-secret'
SERVICE_DN = f'cn=hub-service,ou=service,{BASE}'
SERVICE_PASSWORD = 'Serv1ce-secret'

CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/dyngroup.schema
# AD's userAccountControl, for accounts disabled the AD way (flag 2)
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
    EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.9.1 NAME 'hubTestAdAccount'
    AUXILIARY MAY userAccountControl )
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload dynlist
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key
TLSCACertificateFile {dir}/ca.pem
database mdb
suffix "{base}"
rootdn "{admin}"
rootpw {password}
directory {dir}/data
maxsize 10485760
access to attrs=userPassword
    by dn.exact="{service}" none
    by anonymous auth
    by self write
    by * none
access to *
    by dn.exact="{service}" read
    by self read
    by * none
overlay dynlist
dynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames*
"""


def available():
    return os.path.exists(SLAPD)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_listening(process, name, address, port, timeout, pause=0.05):
    "Until the server process listens on the port; its errors if it stops"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError('%s stopped: %s' % (name,
                    process.stderr.read().decode(errors='replace')))
        try:
            with socket.create_connection((address, port), 1):
                return
        except OSError:
            time.sleep(pause)
    raise RuntimeError('%s did not start' % name)


def make_certificates(folder, address='127.0.0.1'):
    "A CA and a server certificate for address and localhost"
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'Hub test CA')])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress
    cert = (x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'localhost')]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost'),
                    x509.IPAddress(ipaddress.ip_address(address))]), False)
        .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (folder / 'ca.pem').write_bytes(ca.public_bytes(pem))
    (folder / 'server.pem').write_bytes(cert.public_bytes(pem))
    (folder / 'server.key').write_bytes(key.private_bytes(pem,
            serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (folder / 'server.key').chmod(0o600)


def entry(dn, **attributes):
    lines = [f'dn: {dn}']
    for name, values in attributes.items():
        for value in (values if isinstance(values, list) else [values]):
            lines.append(f'{name}: {value}')
    return '\n'.join(lines) + '\n'


def person(uid, name, password, ou='people', **extra):
    return entry(f'uid={uid},ou={ou},{BASE}', objectClass='inetOrgPerson',
        uid=uid, cn=name, sn=name.split()[-1], userPassword=password, **extra)


def group(cn, *members):
    return entry(f'cn={cn},ou=groups,{BASE}', objectClass='groupOfNames',
        cn=cn, member=list(members))


def default_ldif():
    "People and groups of the tests; hub-msk nests in hub-shops"
    people = f'ou=people,{BASE}'
    return '\n'.join([
        entry(BASE, objectClass=['dcObject', 'organization'], dc='shop',
            o='Shop'),
        entry(f'ou=people,{BASE}', objectClass='organizationalUnit', ou='people'),
        entry(f'ou=groups,{BASE}', objectClass='organizationalUnit', ou='groups'),
        entry(f'ou=service,{BASE}', objectClass='organizationalUnit', ou='service'),
        entry(SERVICE_DN, objectClass=['organizationalRole', 'simpleSecurityObject'],
            cn='hub-service', userPassword=SERVICE_PASSWORD),
        person('ivan', 'Иван Петров', 'Ivan-passw0rd', mail='ivan@shop.test',
            telephoneNumber='+7 912 000-11-22'),
        person('olga', 'Ольга Смирнова', 'Olga-passw0rd', mail='olga@shop.test'),
        person('maria', 'Мария Кузнецова', 'Maria-passw0rd'),
        group('hub-msk', f'uid=ivan,{people}'),
        group('hub-shops', f'cn=hub-msk,ou=groups,{BASE}'),
        group('hub-managers', f'uid=olga,{people}'),
        ])


class Slapd:
    "A running private slapd; ``with Slapd() as server:``"

    def __init__(self, ldif=None):
        self.ldif = ldif or default_ldif()
        self.process = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.dir = Path(tempfile.mkdtemp(prefix='hub_auth_slapd_'))
        (self.dir / 'data').mkdir()
        make_certificates(self.dir)
        conf = self.dir / 'slapd.conf'
        conf.write_text(CONF.format(dir=self.dir, base=BASE, admin=ADMIN_DN,
                password=ADMIN_PASSWORD, service=SERVICE_DN))
        (self.dir / 'init.ldif').write_text(self.ldif)
        subprocess.run([SLAPADD, '-f', str(conf), '-l',
                str(self.dir / 'init.ldif')], check=True, capture_output=True)
        self.port, self.tls_port = free_port(), free_port()
        urls = (f'ldap://127.0.0.1:{self.port}/ '
            f'ldaps://127.0.0.1:{self.tls_port}/')
        # -d 0: stay in the foreground, so the test owns the process
        self.process = subprocess.Popen([SLAPD, '-f', str(conf), '-h', urls,
                '-d', '0'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait()

    def _wait(self, timeout=30):
        wait_listening(self.process, 'slapd', '127.0.0.1', self.tls_port,
            timeout)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self.process.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def ca_file(self):
        return str(self.dir / 'ca.pem')

    @contextlib.contextmanager
    def admin(self):
        "An ldap3 connection as the directory's administrator (to change it)"
        import ssl
        import ldap3
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.ca_file)
        server = ldap3.Server('127.0.0.1', port=self.tls_port, use_ssl=True,
            tls=tls)
        conn = ldap3.Connection(server, ADMIN_DN, ADMIN_PASSWORD,
            auto_bind=True)
        try:
            yield conn
        finally:
            conn.unbind()
