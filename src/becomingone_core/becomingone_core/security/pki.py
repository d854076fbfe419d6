"""
The mesh PKI: one Ed25519 certificate authority per mesh and a certificate per host.

A host certificate binds a ``node_id`` -- the subject CN and, authoritatively, the SAN URI
``urn:becomingone:node:<percent-encoded node_id>`` -- and, optionally, what the host is granted:
its weight, its role and whether it is a human operator, as UTF-8 JSON in a non-critical X.509
extension (:data:`GRANT_OID`). Revocations are published as a real X.509 CRL signed by the CA.

The TLS links between hosts (:mod:`becomingone_core.transport_tls`) use certificates of their
own, from a *TLS generation*: a self-signed Ed25519 TLS CA and one leaf per host, issued when a
host is exported and valid no longer than its mesh certificate. Fast DDS's TLS checks no CRL, so
revoking a certificate whose host holds a leaf of the current generation starts a new one (a
new TLS CA): every remaining host is re-exported, the revoked one never is, and its old leaf
chains to a CA nobody trusts any more (see ``SECURITY.md``, "Keys, rotation, revocation").

On disk (:class:`MeshPki`, the operator's machine)::

    ca.pem  ca.key (0600)  crl.pem  index.json  hosts/<node_id>.pem  hosts/<node_id>.key (0600)
    tls/ca.pem  tls/ca.key (0600)  tls/hosts/<node_id>.pem  tls/hosts/<node_id>.key (0600)

On a host, :class:`TrustStore` (CA + CRL) turns a presented certificate into an
:class:`Identity` or raises :class:`Untrusted` with one of :data:`REASONS`;
:class:`HostCredentials` holds the host's own certificate and key and signs with it.
"""

from collections import OrderedDict
from dataclasses import asdict, dataclass, field
import datetime
import fcntl
import hashlib
import json
import math
import os
import pathlib
import threading
import time
from typing import NamedTuple, Optional
import urllib.parse
import warnings

from becomingone_core.mesh import ROLES
import cryptography
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

# cryptography < 42 (e.g. Ubuntu 24.04's python3-cryptography 41) parses no OID arc wider than
# 32 bits, so it could read none of our certificates, and it lacks the *_utc accessors.
if int(cryptography.__version__.split('.')[0]) < 42:
    raise ImportError(f'becomingone_core.security needs cryptography >= 42, found '
                      f'{cryptography.__version__}: pip install -r docker/requirements/python.txt')

#: The grant extension: 2.25.<integer of UUID 8cc409ca-5678-4270-888f-18fc5aa9a407> (X.667),
#: an arc nobody else allocates. Its value is a DER UTF8String holding compact JSON.
GRANT_OID = x509.ObjectIdentifier('2.25.187109808166697404863207723387224433671')
NODE_URI_PREFIX = 'urn:becomingone:node:'
MAX_NODE_ID_LENGTH = 256
#: Larger "certificates" are refused unparsed (ours are about 600 bytes).
MAX_CERTIFICATE_BYTES = 16384
#: Why :meth:`TrustStore.identify` refuses a certificate.
MALFORMED = 'malformed'
UNTRUSTED = 'untrusted'
EXPIRED = 'expired'
NOT_YET_VALID = 'not_yet_valid'
REVOKED = 'revoked'
NO_NODE_ID = 'no_node_id'
WRONG_KEY_TYPE = 'wrong_key_type'
REASONS = (MALFORMED, UNTRUSTED, EXPIRED, NOT_YET_VALID, REVOKED, NO_NODE_ID, WRONG_KEY_TYPE)
# Certificates start a little in the past: a host whose clock is behind the operator's by a few
# minutes must not see a freshly issued certificate as not yet valid.
BACKDATE_S = 600
DEFAULT_CACHE_SIZE = 1024
CRL_DAYS = 365
SIGNATURE_BYTES = 64
# Names of the files `export` writes for one host (what the host's configuration points at).
EXPORT_CA, EXPORT_CRL, EXPORT_CERT, EXPORT_KEY = 'ca.pem', 'crl.pem', 'host.pem', 'host.key'
# ...and the TLS files: what the host's Fast DDS profile points at (verify, chain, key).
EXPORT_TLS_CA, EXPORT_TLS_CERT, EXPORT_TLS_KEY = 'tls-ca.pem', 'tls.pem', 'tls.key'
#: The subject organisation of the mesh CA and of a TLS generation's CA (told apart by it).
MESH_ORGANIZATION = 'BecomingONE mesh'
TLS_ORGANIZATION = 'BecomingONE mesh TLS'
_GENERATION_PREFIX = 'generation '
_DAY_S = 86400


class PkiError(ValueError):
    """A PKI operation or file that cannot be used; the message is one line for an operator."""


class CrlError(PkiError):
    """A CRL that is not this CA's, is malformed, or is older than the one already loaded."""


class CredentialsError(PkiError):
    """A host certificate or key that cannot be used (unsafe mode, mismatch, wrong type)."""


class Untrusted(Exception):
    """A certificate refused by :meth:`TrustStore.identify`; ``reason`` is one of REASONS."""

    def __init__(self, reason, detail):
        super().__init__(f'{reason}: {detail}')
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Identity:
    """Who a trusted certificate names, and what the mesh CA granted it."""

    node_id: str
    weight: Optional[float]
    role: Optional[str]
    operator: bool
    not_after_s: float
    fingerprint: str
    public_key: ed25519.Ed25519PublicKey = field(compare=False, repr=False)


@dataclass(frozen=True)
class IssuedCertificate:
    node_id: str
    cert_path: pathlib.Path
    key_path: pathlib.Path
    serial: int
    not_after: datetime.datetime


@dataclass(frozen=True)
class CertificateInfo:
    """One certificate as ``index.json`` records it."""

    node_id: str
    serial: int
    role: Optional[str]
    weight: Optional[float]
    operator: bool
    not_before_s: float
    not_after_s: float
    fingerprint: str
    revoked: bool
    revoked_at_s: Optional[float] = None
    revocation_reason: Optional[str] = None
    #: The TLS generation of the TLS leaf last exported for it (None: never exported).
    tls_generation: Optional[int] = None

    def status(self, now_s):
        if self.revoked:
            return 'revoked'
        if now_s > self.not_after_s:
            return 'expired'
        if now_s < self.not_before_s:
            return 'not_yet_valid'
        return 'valid'

    def to_json(self, now_s=None):
        out = asdict(self)
        out['serial_hex'] = f'{self.serial:x}'
        out['not_before'] = _iso(self.not_before_s)
        out['not_after'] = _iso(self.not_after_s)
        out['revoked_at'] = _iso(self.revoked_at_s)
        if now_s is not None:
            out['status'] = self.status(now_s)
        return out


class HostPaths(NamedTuple):
    cert_path: pathlib.Path
    key_path: pathlib.Path


class TlsPaths(NamedTuple):
    """One host's TLS files of one generation: Fast DDS's verify, chain and key files."""

    ca_path: pathlib.Path
    cert_path: pathlib.Path
    key_path: pathlib.Path
    generation: int


class TlsInfo(NamedTuple):
    """What :func:`check_tls_files` found: whose leaf, of which generation, until when."""

    node_id: str
    generation: int
    not_after_s: float


# --- names and the grant extension -----------------------------------------------------------

def check_node_id(node_id):
    """Raise :class:`PkiError` unless ``node_id`` is a string of 1..256 encodable characters."""
    if not isinstance(node_id, str) or not 1 <= len(node_id) <= MAX_NODE_ID_LENGTH:
        raise PkiError(f'a node id is a string of 1..{MAX_NODE_ID_LENGTH} characters')
    try:
        node_id.encode('utf-8')
    except UnicodeEncodeError:
        raise PkiError('a node id must be encodable as UTF-8') from None


def node_uri(node_id):
    """Return the SAN URI naming ``node_id`` (every byte but RFC 3986 unreserved ones escaped)."""
    check_node_id(node_id)
    return NODE_URI_PREFIX + urllib.parse.quote(node_id, safe='')


def node_id_from_uri(uri):
    """Return the node id of a node URI, or None unless it is exactly the canonical encoding."""
    if not uri.startswith(NODE_URI_PREFIX):
        return None
    encoded = uri[len(NODE_URI_PREFIX):]
    try:
        node_id = urllib.parse.unquote(encoded, errors='strict')
    except UnicodeDecodeError:
        return None
    # One id, one spelling: '%41' and 'A' must not both name node 'A'.
    if not 1 <= len(node_id) <= MAX_NODE_ID_LENGTH or \
            urllib.parse.quote(node_id, safe='') != encoded:
        return None
    return node_id


def _der_utf8_string(text):
    body = text.encode('utf-8')
    if len(body) < 0x80:
        return bytes([0x0C, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, 'big')
    return bytes([0x0C, 0x80 | len(size)]) + size + body


def _parse_der_utf8_string(data):
    if len(data) < 2 or data[0] != 0x0C:
        raise ValueError('grant extension is not a UTF8String')
    if data[1] < 0x80:
        size, start = data[1], 2
    else:
        count = data[1] & 0x7F
        if not 1 <= count <= 4 or len(data) < 2 + count or data[2] == 0:
            raise ValueError('grant extension has a bad length')
        size, start = int.from_bytes(data[2:2 + count], 'big'), 2 + count
        if size < 0x80:
            raise ValueError('grant extension length is not minimal DER')
    if start + size != len(data):
        raise ValueError('grant extension length does not match its content')
    return data[start:].decode('utf-8')


def _check_weight(weight):
    if weight is None:
        return None
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or \
            not math.isfinite(weight) or weight < 0:
        raise PkiError('a granted weight is a finite number >= 0')
    return float(weight)


def _check_role(role):
    if role is not None and role not in ROLES:
        raise PkiError(f'a granted role is one of {", ".join(ROLES)}')
    return role


def grant_extension(weight=None, role=None, operator=False):
    """Return the grant extension's value for ``weight``, ``role`` and ``operator``."""
    grant = {'operator': bool(operator), 'role': _check_role(role),
             'weight': _check_weight(weight)}
    text = json.dumps(grant, sort_keys=True, separators=(',', ':'), allow_nan=False)
    return x509.UnrecognizedExtension(GRANT_OID, _der_utf8_string(text))


def read_grant(certificate):
    """Return ``(weight, role, operator)`` from a certificate; raise ValueError if malformed."""
    try:
        extension = certificate.extensions.get_extension_for_oid(GRANT_OID)
    except x509.ExtensionNotFound:
        return None, None, False
    grant = json.loads(_parse_der_utf8_string(extension.value.value))
    if not isinstance(grant, dict) or set(grant) != {'operator', 'role', 'weight'} or \
            not isinstance(grant['operator'], bool):
        raise ValueError('grant extension has unexpected content')
    try:
        return _check_weight(grant['weight']), _check_role(grant['role']), grant['operator']
    except PkiError as error:
        raise ValueError(str(error)) from None


def certificate_node_id(certificate):
    """Return the node id of the one node URI in the certificate's SAN, or raise Untrusted."""
    try:
        names = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        raise Untrusted(NO_NODE_ID, 'no subject alternative name') from None
    ids = [node_id_from_uri(uri) for uri in names if uri.startswith(NODE_URI_PREFIX)]
    if len(ids) != 1 or ids[0] is None:
        raise Untrusted(NO_NODE_ID, f'{len(ids)} node URIs, need exactly one well-formed one')
    return ids[0]


def fingerprint(certificate_der):
    """SHA-256 of a certificate's DER, hex: what logs and caches name a certificate by."""
    return hashlib.sha256(certificate_der).hexdigest()


def _host_paths(directory, node_id):
    """Return the certificate and key paths of ``node_id`` in ``directory``."""
    check_node_id(node_id)
    stem = _file_stem(node_id)
    return HostPaths(directory / f'{stem}.pem', directory / f'{stem}.key')


def _self_signed_ca(name, now, not_after):
    """Return a new Ed25519 key and a self-signed CA named ``name`` (issues hosts only)."""
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key()
    return key, (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(now - BACKDATE_S)).not_valid_after(_utc(not_after))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, None))


def _issue_leaf(issuer_key, issuer, node_id, now, not_after, extra=None):
    """
    Return a new Ed25519 key and a host certificate for ``node_id`` signed by ``issuer``.

    The same profile for a mesh certificate and a TLS leaf: not a CA, signing only, server and
    client authentication, the node id in the SAN URI (the CN holds at most 64 characters,
    RFC 5280), and ``extra`` (the mesh grant) where given.
    """
    key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key()
    common_name = node_id if len(node_id) <= 64 else node_id[:61] + '...'
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(issuer.subject).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_utc(now - BACKDATE_S)).not_valid_after(_utc(not_after))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(node_uri(node_id))]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False))
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    return key, builder.sign(issuer_key, None)


def _utc(seconds):
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.timezone.utc)


def _iso(seconds):
    return None if seconds is None else _utc(seconds).isoformat(timespec='seconds')


def _window(certificate):
    """Return the validity window as (not_before_s, not_after_s)."""
    return (certificate.not_valid_before_utc.timestamp(),
            certificate.not_valid_after_utc.timestamp())


def _next_update(crl):
    return None if crl.next_update_utc is None else crl.next_update_utc.timestamp()


def _from_iso(text):
    return None if text is None else datetime.datetime.fromisoformat(text).timestamp()


# --- files -----------------------------------------------------------------------------------

def _write_atomically(path, data, mode):
    """Write ``data`` to ``path`` via a temporary file created with ``mode`` (never wider)."""
    path = pathlib.Path(path)
    temporary = path.with_name(f'.{path.name}.tmp-{os.getpid()}')
    try:
        temporary.unlink()
    except FileNotFoundError:
        pass
    # The mode is set at creation: a private key is never readable by others, not even briefly.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            temporary.unlink()
        except FileNotFoundError:
            pass
        raise


def _read_private_file(path):
    """Return a private key file's bytes; refuse one readable by group or others."""
    try:
        # Symlinks are followed (secret mounts use them); the mode checked is the target's.
        fd = os.open(path, os.O_RDONLY)
    except OSError as error:
        raise CredentialsError(f'{path}: cannot open the private key ({error.strerror})') from None
    with os.fdopen(fd, 'rb') as stream:
        status = os.fstat(stream.fileno())
        if status.st_mode & 0o077:
            raise CredentialsError(
                f'{path}: the private key is accessible to group or others (mode '
                f'{status.st_mode & 0o777:03o}); run chmod 600 on it')
        return stream.read(1 << 16)


def _private_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _file_stem(node_id):
    # Percent-encoding keeps '/' and '..' out of file names; very long ids get a digest.
    stem = urllib.parse.quote(node_id, safe='')
    if len(stem) > 120:
        stem = 'id-' + hashlib.sha256(node_id.encode('utf-8')).hexdigest()[:40]
    return stem


def _load_certificate(data, what):
    try:
        if data.lstrip().startswith(b'-----BEGIN'):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as error:
        raise PkiError(f'{what} is not a certificate ({error})') from None


def _check_ca(ca):
    try:
        constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
        key = ca.public_key()
    except (x509.ExtensionNotFound, ValueError):
        raise PkiError('the CA certificate has no CA basic constraints or no usable key') from None
    if not constraints.ca or not isinstance(key, ed25519.Ed25519PublicKey):
        raise PkiError('the CA certificate is not an Ed25519 certificate authority')
    try:
        key.verify(ca.signature, ca.tbs_certificate_bytes)
    except InvalidSignature:
        raise PkiError('the CA certificate is not self-signed by its own key') from None
    return key


# --- the operator's side ---------------------------------------------------------------------

class MeshPki:
    """A mesh's certificate authority on disk: init, issue, revoke, list, export."""

    def __init__(self, directory, clock=time.time):
        self.directory = pathlib.Path(directory)
        self._clock = clock

    @property
    def ca_path(self):
        return self.directory / 'ca.pem'

    @property
    def ca_key_path(self):
        return self.directory / 'ca.key'

    @property
    def crl_path(self):
        return self.directory / 'crl.pem'

    @property
    def index_path(self):
        return self.directory / 'index.json'

    @property
    def hosts_directory(self):
        return self.directory / 'hosts'

    def host_paths(self, node_id):
        return _host_paths(self.hosts_directory, node_id)

    @property
    def tls_directory(self):
        return self.directory / 'tls'

    @property
    def tls_ca_path(self):
        return self.tls_directory / 'ca.pem'

    @property
    def tls_ca_key_path(self):
        return self.tls_directory / 'ca.key'

    def tls_paths(self, node_id):
        """Where ``node_id``'s TLS leaf and key of the current generation are kept."""
        return _host_paths(self.tls_directory / 'hosts', node_id)

    @property
    def tls_generation(self):
        """Return the current TLS generation (0: none yet, a PKI from before them)."""
        return self._read_index().get('tls_generation', 0)

    @property
    def mesh_name(self):
        return self._read_index()['mesh']

    # The CLI may run twice at once; one lock serialises every change of the index and CRL.
    def _locked(self, create=False):
        if create:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        elif not self.index_path.exists():
            raise PkiError(f'no mesh CA in {self.directory}: run init first')
        fd = os.open(self.directory / '.lock', os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return _Lock(fd)

    def init(self, mesh_name, days=3650):
        """Create the mesh CA and an empty CRL; refuse to overwrite an existing PKI."""
        if not isinstance(mesh_name, str) or not 1 <= len(mesh_name) <= 64:
            raise PkiError('a mesh name is a string of 1..64 characters')
        days = _check_days(days)
        with self._locked(create=True):
            existing = [p for p in (self.ca_path, self.ca_key_path, self.index_path)
                        if p.exists()]
            if existing:
                raise PkiError(f'{existing[0]} exists: refusing to overwrite a mesh CA')
            self.hosts_directory.mkdir(mode=0o700, exist_ok=True)
            now = self._clock()
            key, ca = _self_signed_ca(x509.Name([
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, MESH_ORGANIZATION),
                x509.NameAttribute(NameOID.COMMON_NAME, mesh_name)]), now, now + days * _DAY_S)
            _write_atomically(self.ca_key_path, _private_pem(key), 0o600)
            _write_atomically(self.ca_path, ca.public_bytes(serialization.Encoding.PEM), 0o644)
            index = {'mesh': mesh_name, 'crl_number': 0, 'certificates': [],
                     'tls_generation': 0}
            self._write_crl(key, ca, index, now)
            self._new_tls_generation(ca, index, now)
            self._write_index(index)
        return self.ca_path

    def issue(self, node_id, *, weight=None, role=None, operator=False, days=365,
              replace=False):
        """
        Issue a certificate (and a new Ed25519 key) for ``node_id``.

        A node id that still holds a valid certificate is refused unless ``replace``; then the
        old certificate is revoked (superseded) and the CRL regenerated.
        """
        check_node_id(node_id)
        weight, role, days = _check_weight(weight), _check_role(role), _check_days(days)
        with self._locked():
            ca_key, ca = self._load_ca()
            index = self._read_index()
            now = self._clock()
            ca_after = _window(ca)[1]
            if now >= ca_after:
                raise PkiError('the mesh CA has expired: create a new mesh CA')
            current = [c for c in index['certificates'] if c['node_id'] == node_id
                       and not c['revoked'] and _from_iso(c['not_after']) > now]
            if current and not replace:
                raise PkiError(f'{node_id!r} holds certificate {current[0]["serial"]:x} until '
                               f'{current[0]["not_after"]}: revoke it first, or replace it')
            for entry in current:
                entry.update(revoked=True, revoked_at=_iso(now), reason='superseded')
            not_after = min(now + days * _DAY_S, ca_after)
            key, certificate = _issue_leaf(
                ca_key, ca, node_id, now, not_after,
                extra=grant_extension(weight, role, operator))
            paths = self.host_paths(node_id)
            self.hosts_directory.mkdir(mode=0o700, exist_ok=True)
            _write_atomically(paths.key_path, _private_pem(key), 0o600)
            _write_atomically(paths.cert_path,
                              certificate.public_bytes(serialization.Encoding.PEM), 0o644)
            index['certificates'].append({
                'serial': certificate.serial_number, 'node_id': node_id, 'role': role,
                'weight': weight, 'operator': bool(operator),
                'not_before': _iso(now - BACKDATE_S), 'not_after': _iso(not_after),
                'fingerprint': fingerprint(certificate.public_bytes(serialization.Encoding.DER)),
                'revoked': False, 'revoked_at': None, 'reason': None})
            if current:
                self._write_crl(ca_key, ca, index, now)
                self._retire_tls_leaves(ca, index, current, now)
            self._write_index(index)
        return IssuedCertificate(node_id, paths.cert_path, paths.key_path,
                                 certificate.serial_number, _utc(_window(certificate)[1]))

    def revoke(self, node_id, serial=None, reason='unspecified'):
        """Revoke ``node_id``'s certificates (or only ``serial``) and regenerate the CRL."""
        check_node_id(node_id)
        flag = _reason_flag(reason)
        with self._locked():
            ca_key, ca = self._load_ca()
            index = self._read_index()
            now = self._clock()
            chosen = [c for c in index['certificates'] if c['node_id'] == node_id
                      and not c['revoked'] and (serial is None or c['serial'] == serial)]
            if not chosen:
                if not any(c['node_id'] == node_id for c in index['certificates']):
                    raise PkiError(f'no certificate was issued for {node_id!r}')
                which = '' if serial is None else f' with serial {serial:x}'
                raise PkiError(f'{node_id!r} has no unrevoked certificate{which}')
            for entry in chosen:
                entry.update(revoked=True, revoked_at=_iso(now), reason=flag.name)
            self._write_crl(ca_key, ca, index, now)
            self._retire_tls_leaves(ca, index, chosen, now)
            self._write_index(index)
        return [_info(entry) for entry in chosen]

    def list(self):  # noqa: A003 -- the CLI's verb, as the API names it
        """Return every certificate ever issued, by node id and then issue time."""
        entries = self._read_index()['certificates']
        return sorted((_info(e) for e in entries), key=lambda c: (c.node_id, c.not_before_s))

    def info(self, node_id):
        """Return the newest certificate of ``node_id`` (the one in ``hosts/``)."""
        check_node_id(node_id)
        mine = [c for c in self.list() if c.node_id == node_id]
        if not mine:
            raise PkiError(f'no certificate was issued for {node_id!r}')
        return mine[-1]

    def export(self, node_id, to_directory):
        """
        Copy what one host needs: CA, CRL, its certificate and key (0600), and its TLS files.

        The TLS files are the current generation's CA (``tls-ca.pem``) and this host's leaf and
        key (``tls.pem``, ``tls.key``), issued now if the host has none of this generation.
        """
        check_node_id(node_id)
        with self._locked():
            index = self._read_index()
            now = self._clock()
            entry = self._newest(index, node_id)
            status = _info(entry).status(now)
            if status != 'valid':
                raise PkiError(f'the newest certificate of {node_id!r} is {status}')
            paths = self.host_paths(node_id)
            certificate_pem = paths.cert_path.read_bytes()
            if fingerprint(_load_certificate(certificate_pem, str(paths.cert_path)).public_bytes(
                    serialization.Encoding.DER)) != entry['fingerprint']:
                raise PkiError(f'{paths.cert_path} is not the certificate index.json lists')
            key_pem = _read_private_file(paths.key_path)
            tls = self._tls_leaf(index, entry, now)
            written = {
                EXPORT_CA: (self.ca_path.read_bytes(), 0o644),
                EXPORT_CRL: (self.crl_path.read_bytes(), 0o644),
                EXPORT_CERT: (certificate_pem, 0o644),
                EXPORT_KEY: (key_pem, 0o600),
                EXPORT_TLS_CA: (tls.ca_path.read_bytes(), 0o644),
                EXPORT_TLS_CERT: (tls.cert_path.read_bytes(), 0o644),
                EXPORT_TLS_KEY: (_read_private_file(tls.key_path), 0o600),
            }
        target = pathlib.Path(to_directory)
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        for name, (data, mode) in written.items():
            _write_atomically(target / name, data, mode)
        return {name: target / name for name in written}

    def tls_credentials(self, node_id):
        """
        Return ``node_id``'s :class:`TlsPaths` of the current generation, issuing them if needed.

        Refused unless the newest certificate of ``node_id`` is valid: a revoked or expired host
        gets no TLS leaf. What :meth:`export` copies; ``becomingone-tls --pki`` uses it directly.
        """
        check_node_id(node_id)
        with self._locked():
            index = self._read_index()
            now = self._clock()
            entry = self._newest(index, node_id)
            status = _info(entry).status(now)
            if status != 'valid':
                raise PkiError(f'the newest certificate of {node_id!r} is {status}')
            return self._tls_leaf(index, entry, now)

    @staticmethod
    def _newest(index, node_id):
        mine = [e for e in index['certificates'] if e['node_id'] == node_id]
        if not mine:
            raise PkiError(f'no certificate was issued for {node_id!r}')
        # The same order as list()/info(): issue time, ties in the order issued.
        return sorted(mine, key=lambda e: _from_iso(e['not_before']))[-1]

    # --- the TLS generation (all under the lock) --------------------------------------------

    def _tls_leaf(self, index, entry, now):
        """Return ``entry``'s TLS files of the current generation; issue them if they are not."""
        ca = _load_certificate(self.ca_path.read_bytes(), str(self.ca_path))
        generation = index.get('tls_generation', 0)
        tls_ca = self._current_tls_ca(generation)
        if tls_ca is None:  # a PKI from before TLS generations, or a half-written rotation
            self._new_tls_generation(ca, index, now)
            generation, tls_ca = index['tls_generation'], self._current_tls_ca(
                index['tls_generation'])
        paths = self.tls_paths(entry['node_id'])
        if entry.get('tls_generation') == generation and paths.cert_path.exists():
            leaf = _load_certificate(paths.cert_path.read_bytes(), str(paths.cert_path))
            if fingerprint(leaf.public_bytes(serialization.Encoding.DER)) == \
                    entry.get('tls_fingerprint'):
                return TlsPaths(self.tls_ca_path, paths.cert_path, paths.key_path, generation)
        tls_key = serialization.load_pem_private_key(_read_private_file(self.tls_ca_key_path),
                                                     None)
        # Never valid longer than the mesh certificate it stands for, nor than its TLS CA.
        not_after = min(_from_iso(entry['not_after']), _window(tls_ca)[1])
        key, leaf = _issue_leaf(tls_key, tls_ca, entry['node_id'], now, not_after)
        paths.cert_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_atomically(paths.key_path, _private_pem(key), 0o600)
        _write_atomically(paths.cert_path, leaf.public_bytes(serialization.Encoding.PEM), 0o644)
        entry.update(tls_generation=generation, tls_fingerprint=fingerprint(
            leaf.public_bytes(serialization.Encoding.DER)))
        self._write_index(index)
        return TlsPaths(self.tls_ca_path, paths.cert_path, paths.key_path, generation)

    def _current_tls_ca(self, generation):
        """Return the TLS CA on disk if it is of ``generation`` and has its key, else None."""
        if generation < 1 or not self.tls_ca_path.exists() or \
                not self.tls_ca_key_path.exists():
            return None
        tls_ca = _load_certificate(self.tls_ca_path.read_bytes(), str(self.tls_ca_path))
        try:
            return tls_ca if tls_generation_of(tls_ca) == generation else None
        except PkiError:
            return None

    def _new_tls_generation(self, ca, index, now):
        """
        Start TLS generation ``index['tls_generation'] + 1``: a new TLS CA, no leaves.

        Every leaf of the old generation is deleted: hosts get new ones at their next export,
        and a host whose certificate was revoked gets none.
        """
        generation = index.get('tls_generation', 0) + 1
        key, tls_ca = _self_signed_ca(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TLS_ORGANIZATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME,
                               f'{_GENERATION_PREFIX}{generation}'),
            x509.NameAttribute(NameOID.COMMON_NAME, index['mesh'])]),
            now, max(_window(ca)[1], now + 1))
        hosts = self.tls_directory / 'hosts'
        hosts.mkdir(mode=0o700, parents=True, exist_ok=True)
        for old in hosts.iterdir():
            old.unlink()
        _write_atomically(self.tls_ca_key_path, _private_pem(key), 0o600)
        _write_atomically(self.tls_ca_path, tls_ca.public_bytes(serialization.Encoding.PEM),
                          0o644)
        index['tls_generation'] = generation
        for entry in index['certificates']:
            entry.pop('tls_fingerprint', None)

    def _retire_tls_leaves(self, ca, index, revoked_entries, now):
        """After revoking ``revoked_entries``: a new generation if one holds a current leaf."""
        current = index.get('tls_generation', 0)
        if any(e.get('tls_generation') == current for e in revoked_entries):
            self._new_tls_generation(ca, index, now)

    def _load_ca(self):
        if not self.ca_path.exists() or not self.index_path.exists():
            raise PkiError(f'no mesh CA in {self.directory}: run init first')
        ca = _load_certificate(self.ca_path.read_bytes(), str(self.ca_path))
        key = serialization.load_pem_private_key(_read_private_file(self.ca_key_path), None)
        if not isinstance(key, ed25519.Ed25519PrivateKey) or \
                key.public_key().public_bytes_raw() != _check_ca(ca).public_bytes_raw():
            raise PkiError(f'{self.ca_key_path} is not the key of {self.ca_path}')
        return key, ca

    def _read_index(self):
        try:
            return json.loads(self.index_path.read_text(encoding='utf-8'))
        except FileNotFoundError:
            raise PkiError(f'no mesh CA in {self.directory}: run init first') from None
        except ValueError as error:
            raise PkiError(f'{self.index_path} is not valid JSON ({error})') from None

    def _write_index(self, index):
        text = json.dumps(index, indent=2, sort_keys=True) + '\n'
        _write_atomically(self.index_path, text.encode('utf-8'), 0o644)

    def _write_crl(self, ca_key, ca, index, now):
        index['crl_number'] += 1
        builder = (x509.CertificateRevocationListBuilder()
                   .issuer_name(ca.subject)
                   .last_update(_utc(now - BACKDATE_S))
                   .next_update(_utc(min(now + CRL_DAYS * _DAY_S,
                                         _window(ca)[1])))
                   .add_extension(x509.CRLNumber(index['crl_number']), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       ca_key.public_key()), critical=False))
        for entry in index['certificates']:
            if entry['revoked']:
                revoked = (x509.RevokedCertificateBuilder()
                           .serial_number(entry['serial'])
                           .revocation_date(_utc(_from_iso(entry['revoked_at']))))
                flag = _reason_flag(entry['reason'] or 'unspecified')
                if flag != x509.ReasonFlags.unspecified:  # RFC 5280: omit 'unspecified'
                    revoked = revoked.add_extension(x509.CRLReason(flag), critical=False)
                builder = builder.add_revoked_certificate(revoked.build())
        crl = builder.sign(ca_key, None)
        _write_atomically(self.crl_path, crl.public_bytes(serialization.Encoding.PEM), 0o644)


class _Lock:
    def __init__(self, fd):
        self._fd = fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)


def _check_days(days):
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 36500:
        raise PkiError('validity is a whole number of days in 1..36500')
    return days


def _reason_flag(reason):
    try:
        return x509.ReasonFlags[reason]
    except KeyError:
        names = ', '.join(flag.name for flag in x509.ReasonFlags)
        raise PkiError(f'revocation reason {reason!r} is not one of {names}') from None


def _info(entry):
    return CertificateInfo(
        node_id=entry['node_id'], serial=entry['serial'], role=entry['role'],
        weight=entry['weight'], operator=entry['operator'],
        not_before_s=_from_iso(entry['not_before']), not_after_s=_from_iso(entry['not_after']),
        fingerprint=entry['fingerprint'], revoked=entry['revoked'],
        revoked_at_s=_from_iso(entry.get('revoked_at')),
        revocation_reason=entry.get('reason'), tls_generation=entry.get('tls_generation'))


def tls_generation_of(certificate):
    """Return the generation of a TLS generation's CA certificate; raise PkiError if none."""
    subject = certificate.subject
    organizations = [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    units = [a.value for a in subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    number = units[0][len(_GENERATION_PREFIX):] if len(units) == 1 and \
        units[0].startswith(_GENERATION_PREFIX) else ''
    if organizations != [TLS_ORGANIZATION] or not (number.isascii() and number.isdigit()) or \
            len(number) > 9:
        raise PkiError('not the CA of a TLS generation (tls-ca.pem from becomingone-pki export)')
    return int(number)


def check_tls_files(ca_path, cert_path, key_path, now_s):
    """
    Check one host's TLS files before Fast DDS gets them; return a :class:`TlsInfo`.

    Fast DDS shows a wrong file only as handshakes that fail; this names what is wrong: a
    verify file that is the mesh CA (it would let revoked hosts complete the handshake) or not
    a TLS generation's CA, a leaf that CA did not sign or that is outside its validity, a key
    that is not the leaf's or that group or others can read. Every refusal is a
    :class:`PkiError` (:class:`CredentialsError` for the key) with a one-line reason.
    """
    try:
        return _check_tls_files(ca_path, cert_path, key_path, now_s)
    except PkiError:
        raise
    except (ValueError, TypeError) as error:  # e.g. an extension cryptography cannot parse
        raise PkiError(f'{cert_path}: not a usable TLS certificate ({error})'[:300]) from None


def _check_tls_files(ca_path, cert_path, key_path, now_s):
    try:
        ca_pem = pathlib.Path(ca_path).read_bytes()
        leaf_pem = pathlib.Path(cert_path).read_bytes()
    except OSError as error:
        raise PkiError(f'{error.filename}: cannot read ({error.strerror})') from None
    ca = _load_certificate(ca_pem, str(ca_path))
    organizations = [a.value for a in ca.subject.get_attributes_for_oid(
        NameOID.ORGANIZATION_NAME)]
    if organizations == [MESH_ORGANIZATION]:
        raise PkiError(f'{ca_path} is the mesh CA: as the TLS verify file it lets revoked hosts '
                       f'complete the handshake; give tls-ca.pem from becomingone-pki export')
    try:
        generation = tls_generation_of(ca)
        ca_key = _check_ca(ca)
    except PkiError as error:
        raise PkiError(f'{ca_path}: {error}') from None
    leaf = _load_certificate(leaf_pem, str(cert_path))
    try:
        # One encoding, as TrustStore wants it: the plain 64-byte signature BIT STRING.
        issued = leaf.issuer == ca.subject and \
            leaf.signature_algorithm_oid == SignatureAlgorithmOID.ED25519 and \
            leaf.public_bytes(serialization.Encoding.DER).endswith(
                b'\x03\x41\x00' + leaf.signature)
        if issued:
            ca_key.verify(leaf.signature, leaf.tbs_certificate_bytes)
    except InvalidSignature:
        issued = False
    if not issued:
        raise PkiError(f'{cert_path} was not issued by {ca_path} (TLS generation {generation}): '
                       f'export this host again')
    not_before_s, not_after_s = _window(leaf)
    not_after_s = min(not_after_s, _window(ca)[1])
    if not math.isfinite(now_s) or now_s > not_after_s:
        raise PkiError(f'{cert_path} expired {_iso(not_after_s)}: export this host again')
    if now_s < not_before_s:
        raise PkiError(f'{cert_path} is valid only from {_iso(not_before_s)}: check the clock')
    try:
        node_id = certificate_node_id(leaf)
    except Untrusted as error:
        raise PkiError(f'{cert_path} names no node ({error.detail})') from None
    key_pem = _read_private_file(key_path)  # refuses a key group or others can read
    try:
        key = serialization.load_pem_private_key(key_pem, None)
    except (ValueError, TypeError):
        raise CredentialsError(f'{key_path} is not an unencrypted PEM private key') from None
    try:
        leaf_key = leaf.public_key()
    except ValueError:
        leaf_key = None
    if not isinstance(key, ed25519.Ed25519PrivateKey) or \
            not isinstance(leaf_key, ed25519.Ed25519PublicKey) or \
            key.public_key().public_bytes_raw() != leaf_key.public_bytes_raw():
        raise CredentialsError(f'{key_path} is not the key of {cert_path}')
    return TlsInfo(node_id, generation, not_after_s)


# --- the host's side -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Verdict:
    identity: Identity
    serial: int
    not_before_s: float


class TrustStore:
    """The mesh CA and its CRL: decides which presented certificates name a mesh member."""

    def __init__(self, ca_certificate, crl_path=None, cache_size=DEFAULT_CACHE_SIZE):
        self._ca = ca_certificate
        self._ca_key = _check_ca(ca_certificate)
        self._ca_window = _window(ca_certificate)
        self.crl_path = None if crl_path is None else pathlib.Path(crl_path)
        self.revoked_serials = frozenset()
        self.crl_number = None
        self.crl_next_update_s = None
        self._cache = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def from_pem(cls, ca_pem, crl_pem=None):
        store = cls(_load_certificate(_as_bytes(ca_pem), 'the CA'))
        if crl_pem is not None:
            store.reload_crl(crl_pem)
        return store

    @classmethod
    def from_files(cls, ca_path, crl_path=None):
        try:
            ca_pem = pathlib.Path(ca_path).read_bytes()
        except OSError as error:
            raise PkiError(f'{ca_path}: cannot read the CA ({error.strerror})') from None
        store = cls(_load_certificate(ca_pem, str(ca_path)), crl_path=crl_path)
        if crl_path is not None:
            store.reload_crl()
        return store

    @property
    def ca_fingerprint(self):
        return fingerprint(self._ca.public_bytes(serialization.Encoding.DER))

    @property
    def mesh_name(self):
        names = self._ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return names[0].value if names else ''

    def reload_crl(self, crl_pem=None):
        """
        Load the CRL (``crl_pem``, else ``crl_path``); return how many serials it revokes.

        A CRL that is not this CA's, or numbered below the one loaded (an old file put back to
        un-revoke a certificate), raises :class:`CrlError` and the loaded one stays in force.
        """
        if crl_pem is None:
            if self.crl_path is None:
                raise CrlError('no CRL file to reload')
            try:
                crl_pem = self.crl_path.read_bytes()
            except OSError as error:
                raise CrlError(f'{self.crl_path}: cannot read the CRL ({error.strerror})') \
                    from None
        data = _as_bytes(crl_pem)
        try:
            crl = (x509.load_pem_x509_crl(data) if data.lstrip().startswith(b'-----BEGIN')
                   else x509.load_der_x509_crl(data))
            signed = crl.issuer == self._ca.subject and \
                crl.signature_algorithm_oid == SignatureAlgorithmOID.ED25519 and \
                crl.is_signature_valid(self._ca_key)
            number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
            serials = frozenset(entry.serial_number for entry in crl)
            next_update = _next_update(crl)
        except (ValueError, TypeError, x509.ExtensionNotFound) as error:
            raise CrlError(f'the CRL cannot be read ({error})') from None
        if not signed:
            raise CrlError('the CRL is not signed by this mesh CA: refusing it')
        if self.crl_number is not None and number < self.crl_number:
            raise CrlError(f'CRL number {number} is older than the loaded {self.crl_number}')
        with self._lock:
            self.revoked_serials = serials
            self.crl_number = number
            self.crl_next_update_s = next_update
        return len(serials)

    def identify(self, certificate_der, now_s):
        """Return the :class:`Identity` a certificate proves at ``now_s``, or raise Untrusted."""
        if not isinstance(certificate_der, (bytes, bytearray, memoryview)):
            raise Untrusted(MALFORMED, f'a certificate is bytes, not {type(certificate_der)}')
        der = bytes(certificate_der)
        if not der:
            raise Untrusted(MALFORMED, 'no certificate')
        if len(der) > MAX_CERTIFICATE_BYTES:
            raise Untrusted(MALFORMED, f'{len(der)} bytes > {MAX_CERTIFICATE_BYTES}')
        key = fingerprint(der)
        with self._lock:
            verdict = self._cache.get(key)
            if verdict is not None:
                self._cache.move_to_end(key)
        if verdict is None:
            try:
                verdict = self._examine(der, key)
            except Untrusted as refusal:
                verdict = refusal
            with self._lock:
                self._cache[key] = verdict
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        if isinstance(verdict, Untrusted):
            # A new exception each time: re-raising one instance would grow its traceback.
            raise Untrusted(verdict.reason, verdict.detail)
        identity = verdict.identity
        if not math.isfinite(now_s):
            raise Untrusted(NOT_YET_VALID, 'the clock reads a non-finite time')
        if now_s < max(verdict.not_before_s, self._ca_window[0]):
            raise Untrusted(NOT_YET_VALID, f'valid from {_iso(verdict.not_before_s)}')
        if now_s > identity.not_after_s:
            raise Untrusted(EXPIRED, f'expired {_iso(identity.not_after_s)}')
        if verdict.serial in self.revoked_serials:
            raise Untrusted(REVOKED, f'serial {verdict.serial:x} is on the CRL')
        return identity

    def _examine(self, der, key):
        """Everything about a certificate that does not change with time or the CRL."""
        # Hostile bytes may fail anywhere in parsing: every parser error is a refusal.
        try:
            with warnings.catch_warnings():
                # e.g. a negative serial: refused below anyway, and no log noise per packet.
                warnings.simplefilter('ignore', CryptographyDeprecationWarning)
                certificate = x509.load_der_x509_certificate(der)
            issuer, algorithm = certificate.issuer, certificate.signature_algorithm_oid
            signature, tbs = certificate.signature, certificate.tbs_certificate_bytes
        except Exception as error:  # noqa: B902 -- any parser failure means malformed
            raise Untrusted(MALFORMED, f'not a DER certificate ({type(error).__name__})') \
                from None
        if issuer != self._ca.subject or algorithm != SignatureAlgorithmOID.ED25519:
            raise Untrusted(UNTRUSTED, 'not issued by this mesh CA')
        # One certificate, one encoding: the signature must be the plain 64-byte BIT STRING at
        # the end (the parser tolerates e.g. 'unused bits' set, which would give a second
        # fingerprint to the same signed content).
        if len(signature) != SIGNATURE_BYTES or \
                not der.endswith(b'\x03\x41\x00' + signature):
            raise Untrusted(MALFORMED, 'signature is not a canonical Ed25519 BIT STRING')
        try:
            self._ca_key.verify(signature, tbs)
        except InvalidSignature:
            raise Untrusted(UNTRUSTED, 'signature does not verify with this mesh CA') from None
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
            is_ca = constraints.value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        except Exception as error:  # noqa: B902
            raise Untrusted(MALFORMED, f'bad extensions ({type(error).__name__})') from None
        if is_ca:
            raise Untrusted(UNTRUSTED, 'a CA certificate does not name a host')
        try:
            public_key = certificate.public_key()
        except Exception:  # noqa: B902 -- e.g. an algorithm this build does not know
            public_key = None
        if not isinstance(public_key, ed25519.Ed25519PublicKey):
            raise Untrusted(WRONG_KEY_TYPE, f'{type(public_key).__name__}, not Ed25519')
        try:
            node_id = certificate_node_id(certificate)
            weight, role, operator = read_grant(certificate)
            not_before_s, not_after_s = _window(certificate)
        except Untrusted:
            raise
        except Exception as error:  # noqa: B902
            raise Untrusted(MALFORMED, f'bad extensions ({error})'[:200]) from None
        identity = Identity(node_id, weight, role, operator,
                            min(not_after_s, self._ca_window[1]), key, public_key)
        return _Verdict(identity, certificate.serial_number, not_before_s)


def _as_bytes(data):
    return data.encode('ascii') if isinstance(data, str) else bytes(data)


class HostCredentials:
    """This host's certificate and private key; signs what the host sends."""

    def __init__(self, certificate, private_key):
        if not isinstance(private_key, ed25519.Ed25519PrivateKey):
            raise CredentialsError('the host key is not an Ed25519 private key')
        public = certificate.public_key()
        if not isinstance(public, ed25519.Ed25519PublicKey) or \
                public.public_bytes_raw() != private_key.public_key().public_bytes_raw():
            raise CredentialsError('the host key does not belong to the host certificate')
        try:
            self.node_id = certificate_node_id(certificate)
        except Untrusted as error:
            raise CredentialsError(f'the host certificate names no node ({error.detail})') \
                from None
        self.certificate = certificate
        self.certificate_der = certificate.public_bytes(serialization.Encoding.DER)
        self.fingerprint = fingerprint(self.certificate_der)
        self.public_key = public
        self._key = private_key

    @classmethod
    def load(cls, cert_path, key_path):
        """Load from files; a key file readable by group or others is refused."""
        key_pem = _read_private_file(key_path)
        try:
            certificate_pem = pathlib.Path(cert_path).read_bytes()
        except OSError as error:
            raise CredentialsError(f'{cert_path}: cannot read ({error.strerror})') from None
        return cls.from_pem(certificate_pem, key_pem, what=str(key_path))

    @classmethod
    def from_pem(cls, certificate_pem, key_pem, what='the host key'):
        certificate = _load_certificate(_as_bytes(certificate_pem), 'the host certificate')
        try:
            key = serialization.load_pem_private_key(_as_bytes(key_pem), None)
        except (ValueError, TypeError):
            # The library's message could quote the file; say only what is wrong.
            raise CredentialsError(f'{what} is not an unencrypted PEM private key') from None
        return cls(certificate, key)

    def sign(self, payload):
        """Ed25519 signature (64 bytes) over ``payload``."""
        return self._key.sign(bytes(payload))

    def __repr__(self):
        return f'HostCredentials(node_id={self.node_id!r}, fingerprint={self.fingerprint[:16]})'


def verify_signature(identity, payload, signature):
    """Return True only if ``signature`` is ``identity``'s Ed25519 signature of ``payload``."""
    if not isinstance(payload, (bytes, bytearray, memoryview)) or \
            not isinstance(signature, (bytes, bytearray, memoryview)) or \
            len(signature) != SIGNATURE_BYTES:
        return False
    try:
        identity.public_key.verify(bytes(signature), bytes(payload))
    except InvalidSignature:
        return False
    except (AttributeError, TypeError, ValueError):
        return False
    return True
