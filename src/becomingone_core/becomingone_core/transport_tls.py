r"""
Fast DDS profiles for a mesh whose hosts talk only over mutually authenticated TLS (no rclpy).

Each host's graph stays on the host: the cell's nodes run with
``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` and :func:`cell_profile` (UDP bound to 127.0.0.1,
shared memory), so nothing on the LAN can reach them (:func:`cell_environment`). The host's
``mesh`` node is its only participant on the LAN. :func:`tls_profile` builds its Fast DDS
profile: UDP on 127.0.0.1 to this host's nodes and TCPv4 + TLS 1.3 to the other hosts, with
the host's TLS files from the mesh PKI and the host list. :func:`openssl_config` builds the
OpenSSL configuration the same process needs, and :func:`mesh_environment` the environment
that puts both into the mesh process only.

Why an OpenSSL configuration: Fast DDS 2.14 applies the profile's ``verify_mode`` to the sockets
it *connects* but never to the ones it *accepts* (the handshake runs before the mode is set),
so from the profile alone a listening host accepts clients with no certificate, a self-signed
one or one from another CA. OpenSSL's ``VerifyMode = Peer,Require`` (``OPENSSL_CONF``) sets
the mode on the TLS context itself, so accepted connections must present a certificate that
chains to ``verify_file`` and is within its validity period, too.

Why TLS files of their own (``tls-ca.pem``, ``tls.pem``, ``tls.key`` from
``becomingone-pki export``) and not the mesh CA and host certificate: the OpenSSL 1.1.1k that
the wheels' Fast DDS loads checks a CRL only with ``X509_V_FLAG_CRL_CHECK``, which neither Fast
DDS's TLS settings nor any ``SSL_CONF`` command of that OpenSSL sets, so with the mesh CA as
``verify_file`` a revoked certificate completes the handshake. A TLS generation's CA signs a
leaf for each host when it is exported; revoking a host that holds one starts a new generation
(:class:`~becomingone_core.security.pki.MeshPki`), the remaining hosts are re-exported and
restart their mesh node, and the revoked host's leaf chains to a CA no host trusts any more:
its handshakes fail both ways. :func:`credentials_from_export` checks the files first
(:func:`~becomingone_core.security.pki.check_tls_files`).

One TCP connection per pair of hosts: a host connects to the hosts whose node id sorts before
its own (:func:`connect_to`) and accepts the others. Fast DDS 2.14 drops both connections when
two hosts list each other as initial peers, so every pair has exactly one initiator.

Run as a program to write one host's files::

    python -m becomingone_core.transport_tls --host pi2 --peer pi1=192.168.50.11 \\
        --peer pi2=192.168.50.12 --peer pi3=192.168.50.13 \\
        --credentials /etc/becomingone/pki --out /etc/becomingone/tls

It prints the environment for the mesh process (``FASTRTPS_DEFAULT_PROFILES_FILE``,
``OPENSSL_CONF``, ``ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET``).
"""

import argparse
import ipaddress
import json
import os
import pathlib
import re
import sys
import time
from xml.etree import ElementTree

from becomingone_core.tls_admission import (
    GATE_PORT_OFFSET, MAX_TLS_PORT, Settings, SETTINGS_FILE)

#: The namespace of Fast DDS XML profiles.
FASTDDS_NS = 'http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles'
#: The TCP port every host listens on for TLS unless told otherwise.
DEFAULT_PORT = 7700
#: Names of the participant profile and transports the generated XML defines.
PROFILE_NAME = 'becomingone_mesh_tls'
TLS_TRANSPORT = 'becomingone_tls'
SHM_TRANSPORT = 'becomingone_shm'
UDP_TRANSPORT = 'becomingone_loopback'
#: Node ids the generator accepts: what a certificate CN and a DDS name can both hold.
NODE_ID = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$')
MAX_HOSTS = 1000
#: TLS options: no compression, nothing older than TLS 1.3 (our hosts all speak it).
TLS_OPTIONS = ('DEFAULT_WORKAROUNDS', 'NO_COMPRESSION', 'NO_SSLV2', 'NO_SSLV3', 'NO_TLSV1',
               'NO_TLSV1_1', 'NO_TLSV1_2')
VERIFY_MODES = ('VERIFY_PEER', 'VERIFY_FAIL_IF_NO_PEER_CERT')


class TlsProfileError(ValueError):
    """A host list, address, port or path the generator refuses."""


def _check_node_id(node_id):
    if not isinstance(node_id, str) or not NODE_ID.match(node_id):
        raise TlsProfileError(
            f'a node id is 1..64 of A-Z a-z 0-9 _ . - (not starting with . or -): '
            f'{node_id!r:.80}')
    return node_id


def _check_port(port):
    # The admission gate listens on the port after it (tls_admission.GATE_PORT_OFFSET).
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= MAX_TLS_PORT:
        raise TlsProfileError(f'a port is an integer in 1..{MAX_TLS_PORT}: {port!r:.40}')
    return port


def parse_address(value, default_port=DEFAULT_PORT):
    """Return ``(IPv4 text, port)`` from ``'a.b.c.d'`` or ``'a.b.c.d:port'``."""
    if not isinstance(value, str):
        raise TlsProfileError(f'an address is a string: {value!r:.40}')
    text, _, port = value.partition(':')
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise TlsProfileError(f'not an IPv4 address: {value!r:.60}') from None
    if address.is_unspecified or address.is_multicast or address.is_loopback:
        raise TlsProfileError(f'a host address must be a unicast LAN address: {value!r:.60}')
    if port:
        if not port.isdigit():
            raise TlsProfileError(f'not a port: {value!r:.60}')
        return str(address), _check_port(int(port))
    return str(address), _check_port(default_port)


def check_hosts(this_host, hosts, port=DEFAULT_PORT):
    """Return ``hosts`` as ``{node_id: (address, port)}``, refusing anything ambiguous."""
    if not isinstance(hosts, dict) or not 1 <= len(hosts) <= MAX_HOSTS:
        raise TlsProfileError(f'hosts maps 1..{MAX_HOSTS} node ids to IPv4 addresses')
    checked = {_check_node_id(n): parse_address(a, port) for n, a in hosts.items()}
    if _check_node_id(this_host) not in checked:
        raise TlsProfileError(f'this host {this_host!r} is not in the host list')
    taken = [(a, p + d) for a, p in checked.values() for d in (0, GATE_PORT_OFFSET)]
    if len(set(taken)) != len(taken):
        raise TlsProfileError("two hosts share one address and port (or one host's port is "
                              "the port after another's: its admission gate)")
    return checked


def connect_to(this_host, hosts):
    """
    Return the node ids ``this_host`` connects to: those sorting before it.

    Every pair of hosts gets exactly one TCP connection, opened by the host whose id sorts
    later; the first host only listens. A host that restarts is reconnected by the later ones
    and reconnects to the earlier ones.
    """
    return sorted(n for n in hosts if n < this_host)


def _file(path, what):
    path = os.fspath(path)
    if not path or '\0' in path or not os.path.isabs(path):
        raise TlsProfileError(f'{what} must be an absolute path: {path!r:.80}')
    return path


def _sub(parent, tag, text=None):
    element = ElementTree.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def tls_profile(this_host, hosts, *, ca_file, cert_file, key_file, port=DEFAULT_PORT,
                domain_id=None, local='udp', lease_s=10, announce_s=2):
    """
    Return the Fast DDS XML profile for ``this_host``'s mesh process.

    ``hosts`` maps every mesh host's node id (this one's too) to its IPv4 address, optionally
    with ``:port`` when it listens on another port than ``port``. The participant listens on
    its own port for TLS and connects to :func:`connect_to`'s hosts; ``verify_file`` is the
    current TLS generation's CA (``tls-ca.pem``), ``cert_chain_file``/``private_key_file`` this
    host's TLS leaf and key (``tls.pem``, ``tls.key``: Ed25519, which TLS 1.3 signs with; see
    the module for why not the mesh CA). ``local`` is how it reaches this host's
    nodes: ``'udp'`` (UDP bound to 127.0.0.1, probing 32 participant ids: what works with
    LOCALHOST-range nodes), ``'shm'`` (shared memory only: in Fast DDS 2.14 it did not
    discover the cell's nodes) or ``'both'``. ``domain_id`` is written as the profile's
    ``domainId`` (ROS 2 takes the domain from ``ROS_DOMAIN_ID``, which must match).
    """
    checked = check_hosts(this_host, hosts, port)
    if local not in ('shm', 'udp', 'both'):
        raise TlsProfileError(f"local is 'shm', 'udp' or 'both': {local!r:.20}")
    if domain_id is not None and (isinstance(domain_id, bool) or not isinstance(domain_id, int)
                                  or not 0 <= domain_id <= 232):
        raise TlsProfileError(f'a domain id is an integer in 0..232: {domain_id!r:.20}')
    for value in (lease_s, announce_s):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3600:
            raise TlsProfileError(f'lease and announcement periods are 1..3600 s: {value!r}')
    files = {'verify_file': _file(ca_file, 'ca_file'),
             'cert_chain_file': _file(cert_file, 'cert_file'),
             'private_key_file': _file(key_file, 'key_file')}
    own_address, own_port = checked[this_host]

    root = ElementTree.Element('dds', xmlns=FASTDDS_NS)
    root.append(ElementTree.Comment(
        f' BecomingONE mesh over TLS: the profile of host {this_host} ({own_address}), for its '
        f'mesh process only. Generated by becomingone_core.transport_tls from its TLS files '
        f'(a TLS generation of the mesh PKI: re-export after a revocation) and the host list '
        f'({len(checked)} hosts); use with OPENSSL_CONF (see the module). '))
    profiles = _sub(root, 'profiles')
    descriptors = _sub(profiles, 'transport_descriptors')

    tls = _sub(descriptors, 'transport_descriptor')
    _sub(tls, 'transport_id', TLS_TRANSPORT)
    _sub(tls, 'type', 'TCPv4')
    # Only this host's LAN address: the TLS port is not offered on other interfaces.
    whitelist = _sub(tls, 'interfaceWhiteList')
    _sub(whitelist, 'address', own_address)
    _sub(tls, 'keep_alive_frequency_ms', 5000)
    _sub(tls, 'keep_alive_timeout_ms', 15000)
    _sub(_sub(tls, 'listening_ports'), 'port', own_port)
    _sub(tls, 'calculate_crc', 'false')
    _sub(tls, 'check_crc', 'false')  # TLS authenticates every record already
    _sub(tls, 'enable_tcp_nodelay', 'true')
    config = _sub(tls, 'tls')
    for tag in ('private_key_file', 'cert_chain_file', 'verify_file'):
        _sub(config, tag, files[tag])
    modes = _sub(config, 'verify_mode')
    for mode in VERIFY_MODES:
        _sub(modes, 'verify', mode)
    _sub(config, 'verify_depth', 1)  # host certificate, then the mesh CA: nothing longer
    options = _sub(config, 'options')
    for option in TLS_OPTIONS:
        _sub(options, 'option', option)
    _sub(config, 'handshake_role', 'DEFAULT')  # the side that connects is the TLS client

    transports = [TLS_TRANSPORT]
    if local in ('shm', 'both'):
        shm = _sub(descriptors, 'transport_descriptor')
        _sub(shm, 'transport_id', SHM_TRANSPORT)
        _sub(shm, 'type', 'SHM')
        transports.append(SHM_TRANSPORT)
    if local in ('udp', 'both'):
        udp = _sub(descriptors, 'transport_descriptor')
        _sub(udp, 'transport_id', UDP_TRANSPORT)
        _sub(udp, 'type', 'UDPv4')
        _sub(udp, 'maxInitialPeersRange', 32)
        _sub(_sub(udp, 'interfaceWhiteList'), 'address', '127.0.0.1')
        transports.append(UDP_TRANSPORT)

    participant = _sub(profiles, 'participant', None)
    participant.set('profile_name', PROFILE_NAME)
    participant.set('is_default_profile', 'true')
    if domain_id is not None:
        _sub(participant, 'domainId', domain_id)
    rtps = _sub(participant, 'rtps')
    builtin = _sub(rtps, 'builtin')
    discovery = _sub(builtin, 'discovery_config')
    _sub(_sub(discovery, 'leaseDuration'), 'sec', lease_s)
    _sub(_sub(discovery, 'leaseAnnouncement'), 'sec', announce_s)
    peers = connect_to(this_host, checked)
    if peers or local in ('udp', 'both'):
        initial = _sub(builtin, 'initialPeersList')
        for node_id in peers:
            address, peer_port = checked[node_id]
            tcp = _sub(_sub(initial, 'locator'), 'tcpv4')
            _sub(tcp, 'address', address)
            _sub(tcp, 'physical_port', peer_port)
        if local in ('udp', 'both'):
            _sub(_sub(_sub(initial, 'locator'), 'udpv4'), 'address', '127.0.0.1')
    _sub(rtps, 'useBuiltinTransports', 'false')
    user = _sub(rtps, 'userTransports')
    for transport_id in transports:
        _sub(user, 'transport_id', transport_id)

    ElementTree.indent(root, space='  ')
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + \
        ElementTree.tostring(root, encoding='unicode') + '\n'


def openssl_config(min_protocol='TLSv1.3'):
    """
    Return the OpenSSL configuration (``OPENSSL_CONF``) for the mesh process.

    ``VerifyMode = Peer,Require`` makes every TLS context Fast DDS creates verify its peer and
    require a certificate from clients, which Fast DDS 2.14 does not do on accepted sockets.
    It applies to every OpenSSL user in that process, so give it to the mesh process only.
    """
    if min_protocol not in ('TLSv1.2', 'TLSv1.3'):
        raise TlsProfileError(f'min_protocol is TLSv1.2 or TLSv1.3: {min_protocol!r:.20}')
    return '\n'.join([
        '# BecomingONE mesh: OpenSSL settings for the mesh process (OPENSSL_CONF).',
        '# Fast DDS 2.14 does not verify clients on the sockets it accepts; this does.',
        'openssl_conf = becomingone_openssl',
        '',
        '[becomingone_openssl]',
        'ssl_conf = becomingone_ssl',
        '',
        '[becomingone_ssl]',
        'system_default = becomingone_tls',
        '',
        '[becomingone_tls]',
        f'MinProtocol = {min_protocol}',
        'VerifyMode = Peer,Require',
        '']) + '\n'


#: The host-only profile :func:`write_host_files` writes beside the TLS profile.
CELL_PROFILE = 'fastdds_cell.xml'


def cell_profile():
    """
    Return the Fast DDS profile for a cell's nodes: UDP bound to 127.0.0.1, and shared memory.

    ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` alone only changes where a node *sends*
    discovery: its UDP sockets still listen on every interface, so a process on the LAN that
    sends to the host's address reaches the cell. This profile binds UDP to loopback.
    """
    root = ElementTree.Element('dds', xmlns=FASTDDS_NS)
    root.append(ElementTree.Comment(
        ' BecomingONE cell nodes: this host only (UDP on 127.0.0.1, shared memory). '))
    profiles = _sub(root, 'profiles')
    descriptors = _sub(profiles, 'transport_descriptors')
    udp = _sub(descriptors, 'transport_descriptor')
    _sub(udp, 'transport_id', UDP_TRANSPORT)
    _sub(udp, 'type', 'UDPv4')
    _sub(udp, 'maxInitialPeersRange', 32)
    _sub(_sub(udp, 'interfaceWhiteList'), 'address', '127.0.0.1')
    shm = _sub(descriptors, 'transport_descriptor')
    _sub(shm, 'transport_id', SHM_TRANSPORT)
    _sub(shm, 'type', 'SHM')
    participant = _sub(profiles, 'participant')
    participant.set('profile_name', 'becomingone_cell_local')
    participant.set('is_default_profile', 'true')
    rtps = _sub(participant, 'rtps')
    builtin = _sub(rtps, 'builtin')
    _sub(_sub(_sub(_sub(builtin, 'initialPeersList'), 'locator'), 'udpv4'), 'address',
         '127.0.0.1')
    _sub(rtps, 'useBuiltinTransports', 'false')
    user = _sub(rtps, 'userTransports')
    _sub(user, 'transport_id', UDP_TRANSPORT)
    _sub(user, 'transport_id', SHM_TRANSPORT)
    ElementTree.indent(root, space='  ')
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + \
        ElementTree.tostring(root, encoding='unicode') + '\n'


def cell_environment(profile_path=None, base=None):
    """Return the environment for a cell's nodes: this host only (with :func:`cell_profile`)."""
    env = dict(os.environ if base is None else base)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env.pop('FASTDDS_BUILTIN_TRANSPORTS', None)
    if profile_path is None:
        env.pop('FASTRTPS_DEFAULT_PROFILES_FILE', None)
    else:
        env['FASTRTPS_DEFAULT_PROFILES_FILE'] = os.fspath(profile_path)
    env.pop('ROS_STATIC_PEERS', None)
    return env


def mesh_environment(profile_path, openssl_path, base=None):
    """Return the environment for the mesh process: the TLS profile and OpenSSL settings."""
    env = dict(os.environ if base is None else base)
    env['FASTRTPS_DEFAULT_PROFILES_FILE'] = os.fspath(profile_path)
    env['OPENSSL_CONF'] = os.fspath(openssl_path)
    # LOCALHOST/OFF would make the middleware rewrite the profile's discovery settings.
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'SUBNET'
    for name in ('FASTDDS_BUILTIN_TRANSPORTS', 'ROS_STATIC_PEERS', 'ROS_DISCOVERY_SERVER'):
        env.pop(name, None)
    return env


def write_host_files(directory, this_host, hosts, *, ca_file, cert_file, key_file,
                     port=DEFAULT_PORT, domain_id=None, local='udp'):
    """
    Write the files of ``this_host``'s mesh process and cell into ``directory``.

    They are ``fastdds_tls_<host>.xml``, ``openssl_tls.cnf``, ``fastdds_cell.xml`` and
    ``tls_admission.json``.

    Return ``(profile_path, openssl_path)``; :func:`mesh_environment` turns them into the mesh
    process's environment, ``fastdds_cell.xml`` (:func:`cell_profile`) keeps every other
    process of the host on the host, and ``tls_admission.json`` is the mesh node's
    ``tls_admission_file`` (:mod:`becomingone_core.tls_admission`; ``pi_node.launch.py
    tls_dir:=DIRECTORY`` uses all four).
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    profile = directory / f'fastdds_tls_{_check_node_id(this_host)}.xml'
    profile.write_text(tls_profile(this_host, hosts, ca_file=ca_file, cert_file=cert_file,
                                   key_file=key_file, port=port, domain_id=domain_id,
                                   local=local))
    openssl = directory / 'openssl_tls.cnf'
    openssl.write_text(openssl_config())
    (directory / CELL_PROFILE).write_text(cell_profile())
    (directory / SETTINGS_FILE).write_text(admission_settings(
        this_host, hosts, ca_file=ca_file, cert_file=cert_file, key_file=key_file,
        port=port).to_json())
    return profile, openssl


def admission_settings(this_host, hosts, *, ca_file, cert_file, key_file, port=DEFAULT_PORT):
    """Return the :class:`~becomingone_core.tls_admission.Settings` of ``this_host``."""
    return Settings(this_host, check_hosts(this_host, hosts, port), os.fspath(ca_file),
                    os.fspath(cert_file), os.fspath(key_file))


def credentials_from_export(directory, this_host, now_s=None):
    """
    Return ``(ca, cert, key)``: the TLS files in an export directory, checked for ``this_host``.

    ``directory`` is what ``becomingone-pki export`` wrote (``tls-ca.pem``, ``tls.pem``,
    ``tls.key``). Refused (:class:`TlsProfileError`) unless the leaf is this host's, signed by
    that TLS CA, within its validity, and the key is its own and private.
    """
    from becomingone_core.security import pki
    directory = pathlib.Path(directory)
    files = tuple(directory / name for name in (
        pki.EXPORT_TLS_CA, pki.EXPORT_TLS_CERT, pki.EXPORT_TLS_KEY))
    return _checked(files, this_host, now_s)


def _checked(files, this_host, now_s=None):
    from becomingone_core.security import pki
    try:
        info = pki.check_tls_files(*files, time.time() if now_s is None else now_s)
    except pki.PkiError as error:
        raise TlsProfileError(str(error)) from None
    if info.node_id != this_host:
        raise TlsProfileError(f'{files[1]} is the TLS certificate of {info.node_id!r:.80}, '
                              f'not of {this_host!r:.80}')
    return tuple(path.resolve() for path in files)


def _parse_peer(text):
    node_id, sep, address = text.partition('=')
    if not sep:
        raise argparse.ArgumentTypeError(f'expected NODE_ID=ADDRESS[:PORT], got {text!r:.60}')
    return node_id, address


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='becomingone-tls',
        description="Write one host's Fast DDS TLS profile and OpenSSL settings for its mesh "
                    'process, and print the environment that uses them.')
    parser.add_argument('--host', required=True, help="this host's node id")
    parser.add_argument('--peer', action='append', type=_parse_peer, default=[],
                        metavar='NODE_ID=ADDRESS[:PORT]',
                        help='a mesh host (repeat; this one too)')
    parser.add_argument('--hosts', type=pathlib.Path,
                        help='a JSON file {node_id: "address[:port]"} (instead of --peer)')
    parser.add_argument('--credentials', type=pathlib.Path, metavar='DIR',
                        help="this host's files from becomingone-pki export (tls-ca.pem, "
                             'tls.pem, tls.key)')
    parser.add_argument('--pki', type=pathlib.Path,
                        help="the operator's mesh PKI directory: this host's TLS files of the "
                             'current generation (issued if it has none)')
    parser.add_argument('--ca', type=pathlib.Path,
                        help="the TLS generation's CA (tls-ca.pem; never the mesh CA ca.pem)")
    parser.add_argument('--cert', type=pathlib.Path, help="this host's TLS certificate (PEM)")
    parser.add_argument('--key', type=pathlib.Path, help="this host's TLS private key (PEM)")
    parser.add_argument('--port', type=int, default=DEFAULT_PORT)
    parser.add_argument('--domain-id', type=int)
    parser.add_argument('--local', choices=('shm', 'udp', 'both'), default='udp')
    parser.add_argument('--out', type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    try:
        hosts = dict(args.peer)
        if args.hosts is not None:
            hosts.update(json.loads(args.hosts.read_text()))
        given = [args.credentials is not None, args.pki is not None,
                 None not in (args.ca, args.cert, args.key)]
        if given.count(True) != 1 or (not given[2] and (args.ca or args.cert or args.key)):
            raise TlsProfileError('give one of --credentials, --pki, or --ca, --cert and --key')
        _check_node_id(args.host)
        if args.credentials is not None:
            ca, cert, key = credentials_from_export(args.credentials, args.host)
        elif args.pki is not None:
            from becomingone_core.security import pki
            try:
                paths = pki.MeshPki(args.pki).tls_credentials(args.host)
            except pki.PkiError as error:
                raise TlsProfileError(str(error)) from None
            ca, cert, key = _checked(paths[:3], args.host)
        else:
            ca, cert, key = _checked((args.ca, args.cert, args.key), args.host)
        profile, openssl = write_host_files(
            args.out, args.host, hosts, ca_file=ca, cert_file=cert, key_file=key,
            port=args.port, domain_id=args.domain_id, local=args.local)
    except (TlsProfileError, OSError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(f'# mesh process of {args.host} only (cells: ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST '
          f'FASTDDS_BUILTIN_TRANSPORTS=SHM)')
    print(f'export FASTRTPS_DEFAULT_PROFILES_FILE={profile}')
    print(f'export OPENSSL_CONF={openssl}')
    print('export ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET')
    return 0


if __name__ == '__main__':
    sys.exit(main())
