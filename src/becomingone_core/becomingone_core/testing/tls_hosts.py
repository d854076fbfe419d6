"""
TLS files for tests: certified hosts of one mesh PKI, and intruders with every kind of bad one.

:func:`mesh_with_intruders` runs the operator's steps (``becomingone-pki``) and returns each
host's TLS files; the intruders are :data:`INTRUDERS`: none (``x_nocert`` has no files), a
self-signed certificate, one from another mesh's CA, an expired one and a revoked member's (its
files of the TLS generation before its revocation).
"""

import dataclasses
import datetime
import io
import os
import pathlib
import time

from becomingone_core.security import cli as pki_cli
from becomingone_core.security import pki as mesh_pki

#: Node ids of the intruders, sorting after any certified id made of letters and digits.
INTRUDERS = ['x_nocert', 'x_selfsigned', 'x_otherca', 'x_expired', 'x_revoked']


@dataclasses.dataclass
class TlsFiles:
    """One host's TLS files: verify (a TLS generation's CA), certificate chain and key."""

    ca_path: pathlib.Path
    cert_path: pathlib.Path
    key_path: pathlib.Path

    @classmethod
    def exported(cls, directory):
        directory = pathlib.Path(directory)
        return cls(directory / mesh_pki.EXPORT_TLS_CA, directory / mesh_pki.EXPORT_TLS_CERT,
                   directory / mesh_pki.EXPORT_TLS_KEY)


def operator(directory, *argv):
    """Run ``becomingone-pki --dir DIRECTORY ARGV...`` as an operator would; it must succeed."""
    out, err = io.StringIO(), io.StringIO()
    code = pki_cli.main(['--dir', str(directory), *argv], out=out, err=err)
    assert code == 0, err.getvalue()
    return out.getvalue()


def mesh_with_intruders(directory, certified):
    """
    Return ``(exports, tls)`` for ``certified`` hosts and the :data:`INTRUDERS`.

    ``exports`` are the export directories of ``certified`` (and ``x_revoked``), ``tls`` every
    host's :class:`TlsFiles` (the intruders' too, but ``x_nocert`` has none).
    """
    directory = pathlib.Path(directory)
    pki_dir = directory / 'pki'
    operator(pki_dir, 'init', 'tls-test')
    for node_id in [*certified, 'x_revoked']:
        operator(pki_dir, 'issue', node_id)
    # x_revoked was a member: exported (TLS generation 1), then revoked before the others were
    # exported, so it keeps working files of the old generation (an operator's order).
    exports = {'x_revoked': directory / 'export-x_revoked'}
    operator(pki_dir, 'export', 'x_revoked', '--to', str(exports['x_revoked']))
    revoked = operator(pki_dir, 'revoke', 'x_revoked', '--reason', 'key_compromise')
    assert 'TLS generation 2' in revoked, revoked
    for node_id in certified:
        exports[node_id] = directory / f'export-{node_id}'
        operator(pki_dir, 'export', node_id, '--to', str(exports[node_id]))
    tls = {n: TlsFiles.exported(d) for n, d in exports.items()}
    # Expired: issued and exported by the real CA (current generation) as if ten days ago,
    # for one day.
    past = mesh_pki.MeshPki(pki_dir, clock=lambda: time.time() - 10 * 86400)
    past.issue('x_expired', days=1)
    past.export('x_expired', directory / 'export-x_expired')
    tls['x_expired'] = TlsFiles.exported(directory / 'export-x_expired')
    other = mesh_pki.MeshPki(directory / 'other')
    other.init('another-mesh')
    other.issue('x_otherca')
    other.export('x_otherca', directory / 'export-x_otherca')
    tls['x_otherca'] = TlsFiles.exported(directory / 'export-x_otherca')
    # A self-signed certificate, trusting the mesh's (public) TLS CA.
    cert_path, key_path = self_signed(directory, 'x_selfsigned')
    tls['x_selfsigned'] = TlsFiles(tls[certified[0]].ca_path, cert_path, key_path)
    return exports, tls


def self_signed(directory, node_id):
    """Write a self-signed Ed25519 certificate naming ``node_id``; return (cert, key) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import NameOID
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .add_extension(x509.SubjectAlternativeName(
                       [x509.UniformResourceIdentifier(mesh_pki.node_uri(node_id))]), False)
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1)).sign(key, None))
    cert_path = pathlib.Path(directory) / f'{node_id}.pem'
    key_path = pathlib.Path(directory) / f'{node_id}.key'
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, 'wb') as stream:  # 0600 from the start, as keys must be
        stream.write(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path
