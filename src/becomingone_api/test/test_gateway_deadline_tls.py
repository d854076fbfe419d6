"""A memory service that never answers costs a request its deadline only; TLS is real TLS."""

import datetime
import ipaddress
import ssl
import time

from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.srv import QueryMemory
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from gateway_fixture import client, env, Gateway, write_tokens
import httpx


def test_a_hung_service_answers_504_within_the_deadline_and_a_missing_one_503(tmp_path):
    tokens_file, tokens = write_tokens(str(tmp_path))
    ros_env = env()
    with RosProbe(ros_env) as probe:
        # A service that is discovered but never answers: the probe never spins.
        probe.node.create_service(QueryMemory, '/hung/memory/query', lambda q, r: r)
        gateway = Gateway(ros_env, tokens_file, ['-p', 'namespaces:=[/hung, /absent]',
                                                 '-p', 'service_timeout_s:=0.5'])
        try:
            with client(gateway.url, tokens['read']) as http:
                start = time.monotonic()
                response = None
                while time.monotonic() - start < 15:
                    response = http.get('/api/v1/cells/hung/history', params={'last': 5})
                    if response.status_code == 504:
                        break
                    time.sleep(0.2)
                assert response.status_code == 504, response.text
                begun = time.monotonic()
                assert http.get('/api/v1/cells/hung/history').status_code == 504
                assert time.monotonic() - begun < 1.5
                absent = http.get('/api/v1/cells/absent/reconstruct', params={'t': 1})
                assert absent.status_code == 503 and 'not available' in absent.json()['error']
                # Meanwhile everything else answers at once.
                assert http.get('/api/v1/cells').status_code == 200
        finally:
            assert gateway.stop() == 0, gateway.process.output()


def _certificate(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'becomingone gateway test')])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                  critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / 'gateway.crt', directory / 'gateway.key'
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def test_tls_handshake_and_plain_http_refused(tmp_path):
    tokens_file, tokens = write_tokens(str(tmp_path))
    cert, key = _certificate(tmp_path)
    gateway = Gateway(env(), tokens_file, ['-p', f'tls_certfile:={cert}',
                                           '-p', f'tls_keyfile:={key}'])
    try:
        assert gateway.url.startswith('https://127.0.0.1:')
        trust = ssl.create_default_context(cafile=str(cert))
        with client(gateway.url, tokens['read'], verify=trust) as https:
            response = https.get('/api/v1/cells')
            assert response.status_code == 200
            assert response.extensions['network_stream'].get_extra_info(
                'ssl_object').version() in ('TLSv1.2', 'TLSv1.3')
        try:
            with client(gateway.url, tokens['read']) as untrusting:
                untrusting.get('/api/v1/cells')
            raise AssertionError('a client that does not trust the certificate got through')
        except httpx.ConnectError as error:
            assert 'CERTIFICATE_VERIFY_FAILED' in str(error)
        with client(gateway.url.replace('https', 'http'), tokens['read']) as plain:
            try:
                plain.get('/api/v1/cells')
                raise AssertionError('plain HTTP was served')
            except (httpx.RemoteProtocolError, httpx.ReadError):
                pass
    finally:
        assert gateway.stop() == 0, gateway.process.output()


def test_refuses_a_world_readable_token_file_and_a_public_address(tmp_path):
    tokens_file, _ = write_tokens(str(tmp_path))
    import os
    os.chmod(tokens_file, 0o644)
    from becomingone_core.testing.processes import NodeProcess
    ros_env = env()
    with NodeProcess.run('becomingone_api', 'gateway', ros_env,
                         ros_arguments=['-p', f'tokens_file:={tokens_file}']) as process:
        assert process.process.wait(20) == 2
        assert 'chmod 600' in process.output()
    os.chmod(tokens_file, 0o600)
    with NodeProcess.run('becomingone_api', 'gateway', ros_env, ros_arguments=[
            '-p', f'tokens_file:={tokens_file}', '-p', 'host:=0.0.0.0']) as process:
        assert process.process.wait(20) == 2
        assert 'not loopback' in process.output()
