"""
A real Mosquitto broker for tests: free ports, TLS with fresh certificates, a password file.

:class:`Mosquitto` writes a configuration into a directory, starts the ``mosquitto`` binary
(the Debian package, installed by ``make setup``) and waits until it accepts connections. It
listens on 127.0.0.1 twice: ``port`` (plain, anonymous) and ``tls_port`` (TLS with a
certificate for ``localhost``/127.0.0.1 signed by a test CA; a client certificate from the
same CA and the user name and password of :attr:`username`/:attr:`password_file` required).
:meth:`kill` and :meth:`start` restart it on the same ports, as a broker that crashes and
comes back. Certificates are made with ``cryptography`` (imported only here).
"""

import datetime
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import time


def mosquitto_binary():
    """Return the path of ``mosquitto`` (it lives in /usr/sbin), or None."""
    return shutil.which('mosquitto') or next(
        (p for p in ('/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto') if os.access(p, os.X_OK)),
        None)


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _accepts(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.2):
            return True
    except OSError:
        return False


class TestPki:
    """A CA, a server certificate for localhost/127.0.0.1 and a client certificate, as files."""

    def __init__(self, directory):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        def name(common_name):
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

        def write(path, data):
            with open(path, 'wb') as handle:
                handle.write(data)
            return str(path)

        def key_file(key, path):
            return write(path, key.private_bytes(serialization.Encoding.PEM,
                                                 serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))

        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(name('becomingone test CA'))
              .issuer_name(name('becomingone test CA')).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5))
              .not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                           False), critical=True)
              .sign(ca_key, hashes.SHA256()))

        def issue(common_name, sans, usage):
            key = ec.generate_private_key(ec.SECP256R1())
            builder = (x509.CertificateBuilder().subject_name(name(common_name))
                       .issuer_name(ca.subject).public_key(key.public_key())
                       .serial_number(x509.random_serial_number())
                       .not_valid_before(now - datetime.timedelta(minutes=5))
                       .not_valid_after(now + datetime.timedelta(days=1))
                       .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
            if sans:
                builder = builder.add_extension(x509.SubjectAlternativeName(sans),
                                                critical=False)
            return key, builder.sign(ca_key, hashes.SHA256())

        pem = serialization.Encoding.PEM
        server_key, server = issue('localhost', [
            x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1'))],
            x509.oid.ExtendedKeyUsageOID.SERVER_AUTH)
        client_key, client = issue('becomingone test client', [],
                                   x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH)
        self.ca_file = write(directory / 'ca.pem', ca.public_bytes(pem))
        self.server_cert = write(directory / 'server.pem', server.public_bytes(pem))
        self.server_key = key_file(server_key, directory / 'server.key')
        self.client_cert = write(directory / 'client.pem', client.public_bytes(pem))
        self.client_key = key_file(client_key, directory / 'client.key')


class Mosquitto:
    """One mosquitto process on two free loopback ports (plain and TLS + password)."""

    username = 'leaf'

    def __init__(self, directory, password='not-a-real-secret-7f3a'):
        self.directory = directory
        self.binary = mosquitto_binary()
        if self.binary is None:
            raise FileNotFoundError('mosquitto is not installed (Debian package mosquitto)')
        self.port = free_port()
        self.tls_port = free_port()
        self.pki = TestPki(directory)
        self.password = password
        self.password_file = str(directory / 'password.txt')  # for clients: the secret alone
        with open(self.password_file, 'w') as handle:
            handle.write(password + '\n')
        self._broker_passwords = str(directory / 'mosquitto.passwd')
        subprocess.run(['mosquitto_passwd', '-b', '-c', self._broker_passwords,
                        self.username, password], check=True, capture_output=True, timeout=30)
        self.config = directory / 'mosquitto.conf'
        self.config.write_text('\n'.join([
            'per_listener_settings true',
            'persistence false',
            f'user {pwd.getpwuid(os.getuid()).pw_name}',  # as root it would switch users
            'log_dest stdout',
            f'listener {self.port} 127.0.0.1',
            'allow_anonymous true',
            f'listener {self.tls_port} 127.0.0.1',
            'allow_anonymous false',
            f'password_file {self._broker_passwords}',
            f'cafile {self.pki.ca_file}',
            f'certfile {self.pki.server_cert}',
            f'keyfile {self.pki.server_key}',
            'require_certificate true',
            '']))
        self.log_path = directory / 'mosquitto.log'
        self.process = None
        self.starts = 0

    def start(self, timeout_s=20.0):
        """Start the broker and wait until both ports accept connections."""
        log = open(self.log_path, 'a')
        self.process = subprocess.Popen([self.binary, '-c', str(self.config)], stdout=log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        while not (_accepts(self.port) and _accepts(self.tls_port)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f'mosquitto did not start:\n{self.log()}')
            time.sleep(0.02)
        return self

    def kill(self):
        """SIGKILL the broker (a crash: clients see their connections drop)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def log(self):
        return self.log_path.read_text() if self.log_path.exists() else ''

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
