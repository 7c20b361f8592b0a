"""A real Active Directory for the tests: a Samba AD DC (Debian packages
``samba-ad-dc``, ``samba-ad-provision``) provisioned in a temporary folder
and started on 127.0.0.1 (its LDAP ports 389/636 are fixed: one run at
a time on a machine), LDAPS with a certificate made here.  Provisioning
and the users take 30-100 s on a loaded 2-core machine."""
import os
import signal
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from .slapd import make_certificates, wait_listening

SAMBA = '/usr/sbin/samba'
SAMBA_TOOL = '/usr/bin/samba-tool'
REALM = 'SHOP.TEST'
BASE = 'DC=shop,DC=test'
ADMIN_PASSWORD = 'Adm1n!Passw0rd'
SERVICE = 'svc-hub'
SERVICE_PASSWORD = 'Serv1ce!Passw0rd'
USERS = {'ivan': ('Ivan!Passw0rd1', "Иван", "Петров"),
    'olga': ('Olga!Passw0rd1', "Ольга", "Смирнова")}
# hub-msk nests in hub-shops; ivan is in hub-msk only
GROUPS = [('hub-shops', []), ('hub-msk', ['ivan']),
    ('hub-managers', ['olga'])]


def available():
    return os.path.exists(SAMBA) and os.path.exists(
        '/usr/share/samba/setup/ad-schema')


class SambaDC:
    "A running Samba AD DC; ``with SambaDC() as dc:``"

    def __init__(self):
        self.process = None
        self.address = '127.0.0.1'

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def conf(self):
        return str(self.dir / 'etc' / 'smb.conf')

    def tool(self, *args):
        subprocess.run([SAMBA_TOOL, *args, '-s', self.conf], check=True,
            capture_output=True, timeout=120)

    def start(self):
        self.dir = Path(tempfile.mkdtemp(prefix='hub_auth_samba_'))
        make_certificates(self.dir, self.address)
        subprocess.run([SAMBA_TOOL, 'domain', 'provision',
                f'--targetdir={self.dir}', f'--realm={REALM}',
                '--domain=SHOP', '--host-name=dc1', '--server-role=dc',
                '--dns-backend=NONE', f'--adminpass={ADMIN_PASSWORD}',
                f'--option=interfaces={self.address}',
                '--option=bind interfaces only=yes',
                '--option=server services=ldap',
                '--option=tls enabled=yes',
                f'--option=tls keyfile={self.dir}/server.key',
                f'--option=tls certfile={self.dir}/server.pem',
                f'--option=tls cafile={self.dir}/ca.pem'],
            check=True, capture_output=True, timeout=300)
        self.tool('user', 'create', SERVICE, SERVICE_PASSWORD)
        for login, (password, given, surname) in USERS.items():
            self.tool('user', 'create', login, password,
                f'--given-name={given}', f'--surname={surname}',
                f'--mail-address={login}@shop.test',
                '--telephone-number=+7 495 000-00-00')
        for group, members in GROUPS:
            self.tool('group', 'add', group)
            if members:
                self.tool('group', 'addmembers', group, ','.join(members))
        self.tool('group', 'addmembers', 'hub-shops', 'hub-msk')
        for port in (389, 636):
            with socket.socket() as probe:
                if probe.connect_ex((self.address, port)) == 0:
                    raise RuntimeError(f'port {port} is taken: another DC?')
        # its own process group: samba forks workers, stop() ends them all
        self.process = subprocess.Popen([SAMBA, '-i', '-s', self.conf],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        self._wait()

    def _wait(self, timeout=60):
        wait_listening(self.process, 'samba', self.address, 636, timeout,
            pause=0.2)

    def stop(self):
        if self.process:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(20)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.process:
            self.process.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def ca_file(self):
        return str(self.dir / 'ca.pem')
