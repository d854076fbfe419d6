"""
The TLS profile generator and the TLS files it is given (no DDS).

The handshakes here are real TLS 1.3 handshakes over a local socket pair (Python's ``ssl``,
the system's OpenSSL) with the files ``becomingone-pki export`` writes; the same files in Fast
DDS's own TLS between network namespaces are ``becomingone_bringup/test/test_mesh_tls.py``.
"""

import os
import pathlib
import socket
import ssl
import threading

from becomingone_core import transport_tls
from becomingone_core.security import pki
from becomingone_core.transport_tls import TlsProfileError
from lxml import etree
import pytest

NS = '{http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles}'
HOSTS = {'pi1': '192.168.50.11', 'pi2': '192.168.50.12', 'pi3': '192.168.50.13:7800'}
FILES = {'ca_file': '/etc/bo/ca.pem', 'cert_file': '/etc/bo/pi2.pem',
         'key_file': '/etc/bo/pi2.key'}


def _schema():
    for prefix in filter(None, os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep)):
        path = pathlib.Path(prefix, 'share', 'fastRTPS_profiles.xsd')
        if path.exists():
            return etree.XMLSchema(etree.parse(str(path)))
    pytest.skip('Fast DDS profile schema (share/fastRTPS_profiles.xsd) not found')


def _parse(text):
    return etree.fromstring(text.encode())


@pytest.mark.parametrize('local', ['udp', 'shm', 'both'])
def test_every_profile_validates_against_fast_dds_schema(local):
    schema = _schema()
    for host in HOSTS:
        document = _parse(transport_tls.tls_profile(host, HOSTS, local=local, domain_id=7,
                                                    **FILES))
        assert schema.validate(document), schema.error_log
    assert schema.validate(_parse(transport_tls.cell_profile())), schema.error_log


def test_each_pair_of_hosts_has_exactly_one_initiator():
    hosts = {f'h{i:02d}': f'10.0.0.{i + 1}' for i in range(12)}
    pairs = [(a, b) for a in hosts for b in transport_tls.connect_to(a, hosts)]
    assert len(pairs) == len(set(pairs)) == 12 * 11 // 2
    assert all((b, a) not in pairs for a, b in pairs)
    assert transport_tls.connect_to('h00', hosts) == []


def test_profile_connects_to_earlier_hosts_with_tls_required_both_ways():
    document = _parse(transport_tls.tls_profile('pi3', HOSTS, **dict(
        FILES, cert_file='/etc/bo/pi3.pem', key_file='/etc/bo/pi3.key')))
    peers = [(t.find(f'{NS}address').text, t.find(f'{NS}physical_port').text)
             for t in document.iter(f'{NS}tcpv4')]
    assert peers == [('192.168.50.11', '7700'), ('192.168.50.12', '7700')]
    assert [p.text for p in document.iter(f'{NS}port')] == ['7800']  # its own listening port
    tls = document.find(f'.//{NS}tls')
    assert tls.find(f'{NS}verify_file').text == '/etc/bo/ca.pem'
    assert tls.find(f'{NS}cert_chain_file').text == '/etc/bo/pi3.pem'
    assert tls.find(f'{NS}private_key_file').text == '/etc/bo/pi3.key'
    assert [v.text for v in tls.iter(f'{NS}verify')] == [
        'VERIFY_PEER', 'VERIFY_FAIL_IF_NO_PEER_CERT']
    options = {o.text for o in tls.iter(f'{NS}option')}
    assert {'NO_TLSV1', 'NO_TLSV1_1', 'NO_TLSV1_2', 'NO_COMPRESSION'} <= options
    assert document.find(f'.//{NS}useBuiltinTransports').text == 'false'
    participant = document.find(f'.//{NS}participant')
    assert participant.get('is_default_profile') == 'true'
    # TLS only on the LAN address; local nodes by UDP bound to loopback.
    whitelists = [[a.text for a in w] for w in document.iter(f'{NS}interfaceWhiteList')]
    assert whitelists == [['192.168.50.13'], ['127.0.0.1']]


def test_the_first_host_only_listens_and_shm_only_has_no_initial_peers():
    document = _parse(transport_tls.tls_profile('pi1', HOSTS, local='shm', **FILES))
    assert document.find(f'.//{NS}initialPeersList') is None
    types = [t.text for t in document.iter(f'{NS}type')]
    assert types == ['TCPv4', 'SHM']


def test_paths_are_escaped_not_interpreted():
    document = _parse(transport_tls.tls_profile(
        'pi2', HOSTS, ca_file='/k/a&b<c>.pem', cert_file='/k/"x".pem', key_file="/k/'y'.key"))
    assert document.find(f'.//{NS}verify_file').text == '/k/a&b<c>.pem'
    assert document.find(f'.//{NS}cert_chain_file').text == '/k/"x".pem'


@pytest.mark.parametrize('this_host, hosts, files, why', [
    ('pi9', HOSTS, FILES, 'not in the host list'),
    ('pi1', {}, FILES, 'maps 1..'),
    ('pi1', {'pi1': 'pi1.local'}, FILES, 'not an IPv4'),
    ('pi1', {'pi1': '127.0.0.1'}, FILES, 'unicast LAN'),
    ('pi1', {'pi1': '239.255.0.1'}, FILES, 'unicast LAN'),
    ('pi1', {'pi1': '0.0.0.0'}, FILES, 'unicast LAN'),
    ('pi1', {'pi1': '10.0.0.1:0'}, FILES, 'port'),
    ('pi1', {'pi1': '10.0.0.1:70000'}, FILES, 'port'),
    ('pi1', {'pi1': '10.0.0.1:x'}, FILES, 'not a port'),
    ('pi1', {'pi1': '10.0.0.1', 'pi2': '10.0.0.1'}, FILES, 'share one address'),
    ('-pi', {'-pi': '10.0.0.1'}, FILES, 'node id'),
    ('a<b', {'a<b': '10.0.0.1'}, FILES, 'node id'),
    ('pi1', {'pi1': '10.0.0.1'}, dict(FILES, ca_file='ca.pem'), 'absolute'),
    ('pi1', {'pi1': '10.0.0.1'}, dict(FILES, key_file='/k\0'), 'absolute'),
])
def test_refuses_what_it_cannot_make_safe(this_host, hosts, files, why):
    with pytest.raises(TlsProfileError, match=why):
        transport_tls.tls_profile(this_host, hosts, **files)


@pytest.mark.parametrize('keyword, value', [
    ('port', 0), ('port', True), ('domain_id', 233), ('domain_id', -1), ('local', 'tcp'),
    ('lease_s', 0)])
def test_refuses_bad_options(keyword, value):
    with pytest.raises(TlsProfileError):
        transport_tls.tls_profile('pi2', HOSTS, **FILES, **{keyword: value})


def test_openssl_config_requires_client_certificates():
    text = transport_tls.openssl_config()
    assert 'VerifyMode = Peer,Require' in text and 'MinProtocol = TLSv1.3' in text
    assert text.startswith('#') and 'openssl_conf = ' in text
    with pytest.raises(TlsProfileError):
        transport_tls.openssl_config('SSLv3')


def test_environments_put_the_profile_into_the_mesh_process_only():
    base = {'FASTRTPS_DEFAULT_PROFILES_FILE': '/old.xml', 'ROS_STATIC_PEERS': '10.0.0.9',
            'FASTDDS_BUILTIN_TRANSPORTS': 'UDPv4', 'ROS_DOMAIN_ID': '3'}
    mesh = transport_tls.mesh_environment('/t/p.xml', '/t/o.cnf', base)
    assert mesh['FASTRTPS_DEFAULT_PROFILES_FILE'] == '/t/p.xml'
    assert mesh['OPENSSL_CONF'] == '/t/o.cnf'
    assert mesh['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'SUBNET' and mesh['ROS_DOMAIN_ID'] == '3'
    assert 'ROS_STATIC_PEERS' not in mesh and 'FASTDDS_BUILTIN_TRANSPORTS' not in mesh
    cell = transport_tls.cell_environment('/t/cell.xml', base)
    assert cell['ROS_AUTOMATIC_DISCOVERY_RANGE'] == 'LOCALHOST'
    assert cell['FASTRTPS_DEFAULT_PROFILES_FILE'] == '/t/cell.xml'
    assert 'OPENSSL_CONF' not in cell and 'ROS_STATIC_PEERS' not in cell
    assert 'FASTRTPS_DEFAULT_PROFILES_FILE' not in transport_tls.cell_environment(None, base)
    assert base['FASTRTPS_DEFAULT_PROFILES_FILE'] == '/old.xml'  # the caller's is untouched


def _main(*argv):
    return transport_tls.main([str(a) for a in argv])


PEERS = ('--peer', 'pi1=192.168.50.11', '--peer', 'pi2=192.168.50.12')


def test_cli_writes_the_files_from_a_pki(tmp_path, capsys):
    authority = pki.MeshPki(tmp_path / 'pki')
    authority.init('cli-mesh')
    authority.issue('pi2')
    out = tmp_path / 'tls'
    assert _main('--host', 'pi2', *PEERS, '--pki', tmp_path / 'pki', '--out', out) == 0
    printed = capsys.readouterr().out
    profile = out / 'fastdds_tls_pi2.xml'
    assert f'FASTRTPS_DEFAULT_PROFILES_FILE={profile}' in printed
    assert f'OPENSSL_CONF={out / "openssl_tls.cnf"}' in printed
    document = _parse(profile.read_text())
    # The TLS generation's CA and the host's TLS leaf: never the mesh CA (revocation).
    assert document.find(f'.//{NS}verify_file').text == str(authority.tls_ca_path.resolve())
    assert document.find(f'.//{NS}cert_chain_file').text == str(
        authority.tls_paths('pi2').cert_path.resolve())
    assert document.find(f'.//{NS}private_key_file').text == str(
        authority.tls_paths('pi2').key_path.resolve())
    # Refusals are one line and exit 2: a host the PKI never certified, a bad address.
    assert _main('--host', 'pi1', '--peer', 'pi1=192.168.50.11', '--pki', tmp_path / 'pki',
                 '--out', out) == 2
    assert _main('--host', 'pi2', '--peer', 'pi2=nowhere', '--pki', tmp_path / 'pki',
                 '--out', out) == 2
    assert 'error:' in capsys.readouterr().err


def test_cli_takes_an_export_and_refuses_files_that_would_let_revoked_hosts_in(tmp_path,
                                                                               capsys):
    authority = pki.MeshPki(tmp_path / 'pki')
    authority.init('cli-mesh')
    for node_id in ('pi1', 'pi2'):
        authority.issue(node_id)
        authority.export(node_id, tmp_path / node_id)
    out = tmp_path / 'tls'
    assert _main('--host', 'pi2', *PEERS, '--credentials', tmp_path / 'pi2', '--out', out) == 0
    tls = _parse((out / 'fastdds_tls_pi2.xml').read_text()).find(f'.//{NS}tls')
    pi2 = tmp_path / 'pi2'
    assert tls.find(f'{NS}verify_file').text == str((pi2 / 'tls-ca.pem').resolve())
    assert tls.find(f'{NS}cert_chain_file').text == str((pi2 / 'tls.pem').resolve())
    capsys.readouterr()
    refused = {
        # The mesh CA and identity certificate, as before TLS generations.
        'is the mesh CA': ('--ca', pi2 / 'ca.pem', '--cert', pi2 / 'host.pem', '--key',
                           pi2 / 'host.key'),
        # Another host's files; two sources at once, or none.
        "TLS certificate of 'pi1'": ('--credentials', tmp_path / 'pi1'),
        'one of --credentials': ('--credentials', pi2, '--ca', pi2 / 'tls-ca.pem'),
        'give one of': (),
        'cannot read': ('--credentials', tmp_path / 'nowhere'),
    }
    for says, argv in refused.items():
        assert _main('--host', 'pi2', *PEERS, *argv, '--out', out) == 2, says
        err = capsys.readouterr().err
        assert says in err and err.count('\n') == 1, err
    # Revoked, and a new generation: the files exported before are refused, re-exported pass.
    authority.revoke('pi1')
    assert _main('--host', 'pi2', *PEERS, '--ca', tmp_path / 'pi2-new' / 'tls-ca.pem', '--cert',
                 pi2 / 'tls.pem', '--key', pi2 / 'tls.key', '--out', out) == 2
    authority.export('pi2', tmp_path / 'pi2-new')
    assert _main('--host', 'pi2', *PEERS, '--ca', tmp_path / 'pi2-new' / 'tls-ca.pem', '--cert',
                 pi2 / 'tls.pem', '--key', pi2 / 'tls.key', '--out', out) == 2
    assert 'not issued by' in capsys.readouterr().err
    assert _main('--host', 'pi2', *PEERS, '--credentials', tmp_path / 'pi2-new',
                 '--out', out) == 0
    assert _main('--host', 'pi1', *PEERS, '--pki', tmp_path / 'pki', '--out', out) == 2
    assert 'is revoked' in capsys.readouterr().err


# --- real TLS 1.3 handshakes with the exported files ----------------------------------------

def _context(files, server, verify=True):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    # What the mesh process gets: verify the peer, require a certificate (OPENSSL_CONF).
    context.verify_mode = ssl.CERT_REQUIRED if verify else ssl.CERT_NONE
    context.load_verify_locations(files / pki.EXPORT_TLS_CA)
    context.load_cert_chain(files / pki.EXPORT_TLS_CERT, files / pki.EXPORT_TLS_KEY)
    return context


def _handshake(client, server):
    """Return ``(client outcome, server outcome)``: 'ok' or the TLS error's reason."""
    near, far = socket.socketpair()
    for end in (near, far):
        end.settimeout(10)
    outcome = {}

    def serve():
        try:
            with server.wrap_socket(far, server_side=True) as tls:
                tls.sendall(b'ok')
                tls.recv(1)  # the client's answer: its certificate was accepted
            outcome['server'] = 'ok'
        except (ssl.SSLError, OSError) as error:
            outcome['server'] = getattr(error, 'reason', None) or type(error).__name__
    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with client.wrap_socket(near) as tls:
            received = tls.recv(2)
            tls.sendall(b'x')
            outcome['client'] = 'ok' if received == b'ok' else 'closed'
    except (ssl.SSLError, OSError) as error:
        outcome['client'] = getattr(error, 'reason', None) or type(error).__name__
    thread.join(10)
    near.close()
    far.close()
    return outcome['client'], outcome['server']


def test_a_revoked_host_fails_the_handshake_both_ways(tmp_path):
    authority = pki.MeshPki(tmp_path / 'pki')
    authority.init('handshakes')
    for node_id in ('pi1', 'pi2', 'pi3'):
        authority.issue(node_id)
        authority.export(node_id, tmp_path / f'{node_id}-1')
    assert _handshake(_context(tmp_path / 'pi3-1', False),
                      _context(tmp_path / 'pi1-1', True)) == ('ok', 'ok')  # the control
    authority.revoke('pi3', reason='key_compromise')
    for node_id in ('pi1', 'pi2'):
        authority.export(node_id, tmp_path / f'{node_id}-2')
    pi1, pi2, pi3 = tmp_path / 'pi1-2', tmp_path / 'pi2-2', tmp_path / 'pi3-1'
    assert _handshake(_context(pi2, False), _context(pi1, True)) == ('ok', 'ok')
    # The revoked host as client and as server, even when it checks nothing itself.
    for verify in (True, False):
        client, server = _handshake(_context(pi3, False, verify), _context(pi1, True))
        assert server != 'ok' and client != 'ok', (verify, client, server)
        client, server = _handshake(_context(pi1, False), _context(pi3, True, verify))
        assert client == 'CERTIFICATE_VERIFY_FAILED' and server != 'ok', (verify, server)
    client, server = _handshake(_context(pi3, False, False), _context(pi1, True))
    assert server == 'CERTIFICATE_VERIFY_FAILED'  # the certified host refused pi3's leaf
    # A certified host not yet re-exported cannot reach the new generation either: every
    # remaining host restarts its mesh node with its new files.
    assert _handshake(_context(tmp_path / 'pi2-1', False), _context(pi1, True))[1] != 'ok'
