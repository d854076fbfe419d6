"""The mesh PKI: issue, list, revoke, expiry, file modes, and every certificate a host refuses."""

import datetime
import json
import os
import stat
import time

from becomingone_core.security import pki
from becomingone_core.security.pki import (
    CredentialsError, CrlError, HostCredentials, MeshPki, PkiError, TrustStore, Untrusted,
    verify_signature)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
import pytest

DAY = 86400.0
NOW = time.time()


def _der(path):
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(
        serialization.Encoding.DER)


def _reason(store, der, now_s=None):
    with pytest.raises(Untrusted) as caught:
        store.identify(der, NOW if now_s is None else now_s)
    assert caught.value.reason in pki.REASONS
    return caught.value.reason


@pytest.fixture
def mesh(tmp_path):
    authority = MeshPki(tmp_path / 'pki')
    authority.init('lab')
    return authority


def _store(authority):
    return TrustStore.from_files(authority.ca_path, authority.crl_path)


def _ca_key(authority):
    return serialization.load_pem_private_key(authority.ca_key_path.read_bytes(), None)


def _build(issuer_name, signing_key, public_key, node_id='rogue', days=30, ca=False, san=True):
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)]))
               .issuer_name(issuer_name).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(datetime.datetime.fromtimestamp(NOW - DAY, datetime.timezone.utc))
               .not_valid_after(datetime.datetime.fromtimestamp(NOW + days * DAY,
                                                                datetime.timezone.utc))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.UniformResourceIdentifier(pki.node_uri(node_id))]), critical=False)
    algorithm = None if isinstance(signing_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signing_key, algorithm).public_bytes(serialization.Encoding.DER)


def test_issue_and_identify_with_grants(mesh):
    issued = mesh.issue('pi1', weight=2.5, role='full')
    store = _store(mesh)
    identity = store.identify(_der(issued.cert_path), NOW)
    assert (identity.node_id, identity.weight, identity.role, identity.operator) == \
        ('pi1', 2.5, 'full', False)
    # Measured from issue time, not from when the module loaded (a loaded machine is slow).
    assert identity.not_after_s == pytest.approx(
        issued.not_after.timestamp(), abs=1)
    assert identity.not_after_s == pytest.approx(time.time() + 365 * DAY, abs=60)
    assert identity.fingerprint == pki.fingerprint(_der(issued.cert_path))
    plain = store.identify(_der(mesh.issue('pi2').cert_path), NOW)
    assert (plain.weight, plain.role, plain.operator) == (None, None, False)
    operator = store.identify(_der(mesh.issue('alice', operator=True).cert_path), NOW)
    assert operator.operator and operator.node_id == 'alice'


@pytest.mark.parametrize('node_id', ['7', 'a3f9c1', 'x' * 256, 'a/b/../c', '%41', ' ', 'é漢',
                                     'pi-1.local', 'A', '..'])
def test_any_node_id_round_trips(mesh, node_id):
    issued = mesh.issue(node_id)
    assert issued.cert_path.parent == mesh.hosts_directory  # no '/' or '..' escapes
    assert _store(mesh).identify(_der(issued.cert_path), NOW).node_id == node_id
    assert HostCredentials.load(issued.cert_path, issued.key_path).node_id == node_id


def test_node_uri_has_one_spelling():
    assert pki.node_uri('7') == 'urn:becomingone:node:7'
    assert pki.node_uri('a b/%') == 'urn:becomingone:node:a%20b%2F%25'
    assert pki.node_id_from_uri('urn:becomingone:node:A') == 'A'
    assert pki.node_id_from_uri('urn:becomingone:node:%41') is None
    assert pki.node_id_from_uri('urn:becomingone:node:') is None
    assert pki.node_id_from_uri('urn:becomingone:node:%ff') is None
    assert pki.node_id_from_uri('urn:other:7') is None


@pytest.mark.parametrize('bad', [
    {'node_id': ''}, {'node_id': 'x' * 257}, {'node_id': '\ud800'}, {'node_id': 7},
    {'weight': -1.0}, {'weight': float('nan')}, {'weight': float('inf')}, {'weight': True},
    {'role': 'boss'}, {'days': 0}, {'days': 36501}, {'days': 1.5}])
def test_issue_refuses_bad_arguments(mesh, bad):
    arguments = {'node_id': 'pi1', **bad}
    with pytest.raises(PkiError):
        mesh.issue(arguments.pop('node_id'), **arguments)
    assert mesh.list() == []


def test_init_refuses_to_overwrite(mesh):
    ca = mesh.ca_path.read_bytes()
    with pytest.raises(PkiError, match='refusing to overwrite'):
        mesh.init('lab')
    assert mesh.ca_path.read_bytes() == ca


def test_private_keys_are_0600_from_creation(tmp_path):
    old = os.umask(0)  # a permissive umask must not widen the keys: the mode is set at creation
    try:
        authority = MeshPki(tmp_path / 'pki')
        authority.init('lab')
        issued = authority.issue('pi1')
        exported = authority.export('pi1', tmp_path / 'deploy')
    finally:
        os.umask(old)
    for key in (authority.ca_key_path, issued.key_path, exported[pki.EXPORT_KEY]):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key
    assert stat.S_IMODE(authority.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(exported[pki.EXPORT_CERT].stat().st_mode) == 0o644
    assert exported[pki.EXPORT_CA].read_bytes() == authority.ca_path.read_bytes()
    assert exported[pki.EXPORT_CERT].read_bytes() == issued.cert_path.read_bytes()


def test_list_revoke_and_the_crl(mesh):
    first = mesh.issue('pi1', role='light')
    mesh.issue('pi2')
    store = _store(mesh)
    der = _der(first.cert_path)
    assert store.identify(der, NOW).node_id == 'pi1'  # cached now: revocation must still apply
    assert [(c.node_id, c.status(NOW)) for c in mesh.list()] == [('pi1', 'valid'),
                                                                 ('pi2', 'valid')]
    [revoked] = mesh.revoke('pi1', reason='key_compromise')
    assert revoked.serial == first.serial
    assert store.reload_crl() == 1
    assert store.crl_number == 2
    assert _reason(store, der) == pki.REVOKED
    assert store.identify(_der(mesh.host_paths('pi2').cert_path), NOW).node_id == 'pi2'
    assert _reason(_store(mesh), der) == pki.REVOKED  # and for a host that starts now
    crl = x509.load_pem_x509_crl(mesh.crl_path.read_bytes())
    entry = crl.get_revoked_certificate_by_serial_number(first.serial)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == \
        x509.ReasonFlags.key_compromise
    assert [(c.node_id, c.status(NOW)) for c in mesh.list()][0] == ('pi1', 'revoked')
    index = json.loads(mesh.index_path.read_text())
    assert {'serial', 'node_id', 'role', 'weight', 'operator', 'not_after', 'revoked'} <= \
        set(index['certificates'][0])
    with pytest.raises(PkiError, match='no unrevoked'):
        mesh.revoke('pi1')
    with pytest.raises(PkiError, match='no certificate'):
        mesh.revoke('nobody')


def test_reissue_needs_replace_and_revokes_the_old(mesh):
    old = mesh.issue('pi1')
    old_der = _der(old.cert_path)
    with pytest.raises(PkiError, match='holds certificate'):
        mesh.issue('pi1')
    new = mesh.issue('pi1', weight=1.0, replace=True)
    store = _store(mesh)
    assert _reason(store, old_der) == pki.REVOKED
    assert store.identify(_der(new.cert_path), NOW).weight == 1.0
    assert [c.revocation_reason for c in mesh.list()] == ['superseded', None]


def test_expired_and_not_yet_valid(tmp_path):
    past = MeshPki(tmp_path / 'pki', clock=lambda: NOW - 400 * DAY)
    past.init('lab')
    expired = past.issue('old', days=1)
    future = MeshPki(tmp_path / 'pki', clock=lambda: NOW + 2 * DAY).issue('early')
    store = _store(past)
    assert _reason(store, _der(expired.cert_path)) == pki.EXPIRED
    assert _reason(store, _der(future.cert_path)) == pki.NOT_YET_VALID
    assert store.identify(_der(future.cert_path), NOW + 3 * DAY).node_id == 'early'
    assert store.identify(_der(expired.cert_path), NOW - 399.5 * DAY).node_id == 'old'
    assert _reason(store, _der(future.cert_path), float('nan')) == pki.NOT_YET_VALID
    assert [(c.node_id, c.status(NOW)) for c in past.list()] == [
        ('early', 'not_yet_valid'), ('old', 'expired')]
    with pytest.raises(PkiError, match='is expired'):
        MeshPki(past.directory).export('old', tmp_path / 'deploy')


def test_host_validity_never_outlasts_the_ca(tmp_path):
    authority = MeshPki(tmp_path / 'pki', clock=lambda: NOW)
    authority.init('short', days=10)
    issued = authority.issue('pi1', days=365)
    assert issued.not_after.timestamp() == pytest.approx(NOW + 10 * DAY, abs=5)


def test_refuses_garbage(mesh):
    store = _store(mesh)
    der = _der(mesh.issue('pi1').cert_path)
    for garbage in (b'', b'\x00', b'\x30\x03\x02\x01', os.urandom(600), der[:-1], der + b'\x00',
                    b'\x30' * 20000, bytearray(b'\xff' * 10)):
        assert _reason(store, garbage) == pki.MALFORMED
    for not_bytes in (None, 'pi1', 7, [der]):
        assert _reason(store, not_bytes) == pki.MALFORMED


def test_refuses_every_bit_flip(mesh):
    store = _store(mesh)
    der = _der(mesh.issue('pi1').cert_path)
    for position in range(len(der)):
        for bit in (0x01, 0x80):
            flipped = bytearray(der)
            flipped[position] ^= bit
            with pytest.raises(Untrusted):
                store.identify(bytes(flipped), NOW)
    assert store.identify(der, NOW).node_id == 'pi1'


def test_refuses_self_signed_other_ca_and_ca_certificates(mesh, tmp_path):
    store = _store(mesh)
    ca = x509.load_pem_x509_certificate(mesh.ca_path.read_bytes())
    key = ed25519.Ed25519PrivateKey.generate()
    # Self-signed, even naming this mesh's CA as its issuer.
    for issuer in (x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'rogue')]), ca.subject):
        assert _reason(store, _build(issuer, key, key.public_key())) == pki.UNTRUSTED
    # Another mesh's CA, also one with the very same name.
    for name in ('other', 'lab'):
        other = MeshPki(tmp_path / name)
        other.init(name)
        assert _reason(store, _der(other.issue('pi1').cert_path)) == pki.UNTRUSTED
    # The CA certificate itself, and a CA certificate this CA signed.
    assert _reason(store, ca.public_bytes(serialization.Encoding.DER)) == pki.UNTRUSTED
    sub_ca = _build(ca.subject, _ca_key(mesh), key.public_key(), ca=True)
    assert _reason(store, sub_ca) == pki.UNTRUSTED


def test_refuses_wrong_key_type_and_missing_node_id(mesh):
    store = _store(mesh)
    ca = x509.load_pem_x509_certificate(mesh.ca_path.read_bytes())
    ec_key = ec.generate_private_key(ec.SECP256R1())
    # Signed by the real CA, but for an EC key: hosts sign with Ed25519 only.
    assert _reason(store, _build(ca.subject, _ca_key(mesh), ec_key.public_key())) == \
        pki.WRONG_KEY_TYPE
    # An EC-signed certificate is not this CA's at all.
    assert _reason(store, _build(ca.subject, ec_key, ec_key.public_key())) == pki.UNTRUSTED
    host = ed25519.Ed25519PrivateKey.generate().public_key()
    assert _reason(store, _build(ca.subject, _ca_key(mesh), host, san=False)) == pki.NO_NODE_ID


def test_refuses_a_crl_from_another_ca_and_an_older_crl(mesh, tmp_path):
    other = MeshPki(tmp_path / 'other')
    other.init('lab')  # same name, other key
    with pytest.raises(CrlError, match='not signed by this mesh CA'):
        TrustStore.from_files(mesh.ca_path, other.crl_path)
    with pytest.raises(CrlError):
        TrustStore.from_pem(mesh.ca_path.read_bytes(), b'not a crl')
    issued = mesh.issue('pi1')
    old_crl = mesh.crl_path.read_bytes()
    mesh.revoke('pi1')
    store = _store(mesh)
    # Putting an old CRL back must not un-revoke a certificate.
    with pytest.raises(CrlError, match='older'):
        store.reload_crl(old_crl)
    with pytest.raises(CrlError, match='not signed'):
        store.reload_crl(other.crl_path.read_bytes())
    assert _reason(store, _der(issued.cert_path)) == pki.REVOKED


def test_trust_store_refuses_a_non_ca(mesh):
    issued = mesh.issue('pi1')
    with pytest.raises(PkiError):
        TrustStore.from_files(issued.cert_path)
    with pytest.raises(PkiError):
        TrustStore.from_pem(b'garbage')


def test_verdict_cache_is_bounded(mesh):
    store = TrustStore(x509.load_pem_x509_certificate(mesh.ca_path.read_bytes()), cache_size=8)
    for n in range(50):
        _reason(store, os.urandom(100 + n))
    assert len(store._cache) == 8


def test_credentials_sign_and_refuse_unsafe_keys(mesh, tmp_path):
    one, two = mesh.issue('pi1'), mesh.issue('pi2')
    store = _store(mesh)
    identity = store.identify(_der(one.cert_path), NOW)
    credentials = HostCredentials.load(one.cert_path, one.key_path)
    assert credentials.certificate_der == _der(one.cert_path)
    assert 'PRIVATE' not in repr(credentials)
    signature = credentials.sign(b'payload')
    assert verify_signature(identity, b'payload', signature)
    other = HostCredentials.load(two.cert_path, two.key_path)
    assert not verify_signature(identity, b'payload', other.sign(b'payload'))
    os.chmod(one.key_path, 0o640)
    with pytest.raises(CredentialsError, match='chmod 600'):
        HostCredentials.load(one.cert_path, one.key_path)
    with pytest.raises(CredentialsError, match='does not belong'):
        HostCredentials.load(one.cert_path, two.key_path)
    with pytest.raises(CredentialsError, match='cannot open'):
        HostCredentials.load(one.cert_path, tmp_path / 'missing.key')


def test_signatures_refuse_forgeries_and_every_bit_flip(mesh):
    issued = mesh.issue('pi1')
    identity = _store(mesh).identify(_der(issued.cert_path), NOW)
    credentials = HostCredentials.load(issued.cert_path, issued.key_path)
    payload = b'peer pi1 sequence 7'
    signature = credentials.sign(payload)
    assert verify_signature(identity, payload, signature)
    assert not verify_signature(identity, payload, os.urandom(64))
    assert not verify_signature(identity, payload, bytes(64))
    for position in range(len(signature) * 8):
        flipped = bytearray(signature)
        flipped[position // 8] ^= 1 << (position % 8)
        assert not verify_signature(identity, payload, bytes(flipped))
    for position in range(len(payload) * 8):
        flipped = bytearray(payload)
        flipped[position // 8] ^= 1 << (position % 8)
        assert not verify_signature(identity, bytes(flipped), signature)
    for bad_signature in (b'', signature[:-1], signature + b'\x00', None, 'x' * 64, 64):
        assert not verify_signature(identity, payload, bad_signature)
    for bad_payload in (None, 'text', 7):
        assert not verify_signature(identity, bad_payload, signature)
    assert not verify_signature(None, payload, signature)


# --- TLS generations: what the TLS layer trusts, and how a revocation reaches it ------------

def _tls_files(directory):
    return (directory / pki.EXPORT_TLS_CA, directory / pki.EXPORT_TLS_CERT,
            directory / pki.EXPORT_TLS_KEY)


def test_export_writes_tls_files_of_the_current_generation(mesh, tmp_path):
    issued = mesh.issue('pi1', days=30)
    assert mesh.tls_generation == 1
    exported = mesh.export('pi1', tmp_path / 'deploy')
    assert sorted(exported) == sorted([
        pki.EXPORT_CA, pki.EXPORT_CRL, pki.EXPORT_CERT, pki.EXPORT_KEY, pki.EXPORT_TLS_CA,
        pki.EXPORT_TLS_CERT, pki.EXPORT_TLS_KEY])
    assert stat.S_IMODE(exported[pki.EXPORT_TLS_KEY].stat().st_mode) == 0o600
    assert stat.S_IMODE(mesh.tls_ca_key_path.stat().st_mode) == 0o600
    info = pki.check_tls_files(*_tls_files(tmp_path / 'deploy'), NOW)
    assert (info.node_id, info.generation) == ('pi1', 1)
    # The TLS leaf is not the mesh certificate, nor valid one second longer.
    leaf = x509.load_pem_x509_certificate(exported[pki.EXPORT_TLS_CERT].read_bytes())
    assert exported[pki.EXPORT_TLS_CERT].read_bytes() != issued.cert_path.read_bytes()
    assert leaf.not_valid_after_utc <= issued.not_after
    assert info.not_after_s == leaf.not_valid_after_utc.timestamp()
    tls_ca = x509.load_pem_x509_certificate(exported[pki.EXPORT_TLS_CA].read_bytes())
    assert pki.tls_generation_of(tls_ca) == 1
    with pytest.raises(PkiError, match='not the CA of a TLS generation'):
        pki.tls_generation_of(x509.load_pem_x509_certificate(mesh.ca_path.read_bytes()))
    # Exported again in the same generation: the same leaf, not one more valid key.
    again = mesh.export('pi1', tmp_path / 'again')
    assert again[pki.EXPORT_TLS_CERT].read_bytes() == exported[pki.EXPORT_TLS_CERT].read_bytes()
    assert mesh.tls_credentials('pi1').cert_path.read_bytes() == \
        exported[pki.EXPORT_TLS_CERT].read_bytes()
    assert [c.tls_generation for c in mesh.list()] == [1]


def test_revoking_a_host_with_tls_files_starts_a_new_generation(mesh, tmp_path):
    for node_id in ('pi1', 'pi2', 'pi3'):
        mesh.issue(node_id)
        mesh.export(node_id, tmp_path / f'{node_id}-1')
    mesh.issue('alice', operator=True)  # never exported: holds no TLS files
    mesh.issue('pi9')
    mesh.revoke('alice')
    mesh.revoke('pi9')
    assert mesh.tls_generation == 1  # nothing to take away from the TLS layer
    mesh.revoke('pi3', reason='key_compromise')
    assert mesh.tls_generation == 2
    assert list((mesh.tls_directory / 'hosts').iterdir()) == []  # old leaves are gone
    with pytest.raises(PkiError, match='is revoked'):
        mesh.export('pi3', tmp_path / 'pi3-2')
    with pytest.raises(PkiError, match='is revoked'):
        mesh.tls_credentials('pi3')
    mesh.export('pi1', tmp_path / 'pi1-2')
    ca_2 = tmp_path / 'pi1-2' / pki.EXPORT_TLS_CA
    assert pki.check_tls_files(*_tls_files(tmp_path / 'pi1-2'), NOW).generation == 2
    # Against the new CA, no leaf of generation 1 passes: the revoked host's nor the others'.
    for node_id in ('pi3', 'pi2', 'pi1'):
        _, cert, key = _tls_files(tmp_path / f'{node_id}-1')
        with pytest.raises(PkiError, match='not issued by'):
            pki.check_tls_files(ca_2, cert, key, NOW)
    # A rotation (--replace) of a host that holds TLS files revokes it too: a new generation.
    mesh.issue('pi1', replace=True)
    assert mesh.tls_generation == 3
    mesh.issue('pi2', replace=True)  # pi2 has no leaf of generation 3: nothing to retire
    assert mesh.tls_generation == 3
    assert [(c.node_id, c.status(NOW), c.tls_generation) for c in mesh.list()
            if c.node_id.startswith('pi')] == [
        ('pi1', 'revoked', 2), ('pi1', 'valid', None),
        ('pi2', 'revoked', 1), ('pi2', 'valid', None), ('pi3', 'revoked', 1),
        ('pi9', 'revoked', None)]


def test_a_pki_from_before_tls_generations_gets_one_at_its_first_export(mesh, tmp_path):
    mesh.issue('pi1')
    index = json.loads(mesh.index_path.read_text())
    del index['tls_generation']
    mesh.index_path.write_text(json.dumps(index))
    for path in (mesh.tls_ca_path, mesh.tls_ca_key_path):
        path.unlink()
    assert mesh.tls_generation == 0
    mesh.export('pi1', tmp_path / 'deploy')
    assert mesh.tls_generation == 1
    assert pki.check_tls_files(*_tls_files(tmp_path / 'deploy'), NOW).node_id == 'pi1'
    # A TLS CA file that does not match the index (a half-written rotation) is replaced.
    mesh.tls_ca_path.write_bytes(mesh.ca_path.read_bytes())
    mesh.export('pi1', tmp_path / 'again')
    assert mesh.tls_generation == 2
    assert pki.check_tls_files(*_tls_files(tmp_path / 'again'), NOW).generation == 2


def test_tls_leaves_expire_with_the_mesh_certificate(tmp_path):
    past = MeshPki(tmp_path / 'pki', clock=lambda: NOW - 10 * DAY)
    past.init('lab')
    past.issue('old', days=1)
    past.export('old', tmp_path / 'old')  # valid then
    with pytest.raises(PkiError, match='expired'):
        pki.check_tls_files(*_tls_files(tmp_path / 'old'), NOW)
    assert pki.check_tls_files(*_tls_files(tmp_path / 'old'), NOW - 9.5 * DAY).node_id == 'old'
    with pytest.raises(PkiError, match='valid only from'):
        pki.check_tls_files(*_tls_files(tmp_path / 'old'), NOW - 11 * DAY)
    with pytest.raises(PkiError, match='expired'):
        pki.check_tls_files(*_tls_files(tmp_path / 'old'), float('nan'))
    with pytest.raises(PkiError, match='is expired'):
        MeshPki(past.directory).tls_credentials('old')


def test_check_tls_files_refuses_what_would_not_hold(mesh, tmp_path):
    mesh.issue('pi1')
    mesh.issue('pi2')
    one, two = tmp_path / 'pi1', tmp_path / 'pi2'
    mesh.export('pi1', one)
    mesh.export('pi2', two)
    ca, cert, key = _tls_files(one)
    # The mesh CA as the verify file would let revoked hosts in; the identity certificate and
    # key are not TLS files either.
    with pytest.raises(PkiError, match='is the mesh CA'):
        pki.check_tls_files(one / pki.EXPORT_CA, cert, key, NOW)
    with pytest.raises(PkiError, match='not issued by'):
        pki.check_tls_files(ca, one / pki.EXPORT_CERT, one / pki.EXPORT_KEY, NOW)
    other = MeshPki(tmp_path / 'other')
    other.init('lab')  # the same mesh name, another TLS CA
    other.issue('pi1')
    other.export('pi1', tmp_path / 'other-pi1')
    with pytest.raises(PkiError, match='not issued by'):
        pki.check_tls_files(ca, tmp_path / 'other-pi1' / pki.EXPORT_TLS_CERT,
                            tmp_path / 'other-pi1' / pki.EXPORT_TLS_KEY, NOW)
    with pytest.raises(CredentialsError, match='is not the key of'):
        pki.check_tls_files(ca, cert, two / pki.EXPORT_TLS_KEY, NOW)
    not_a_key = tmp_path / 'not-a-key'
    not_a_key.write_bytes(cert.read_bytes())
    os.chmod(not_a_key, 0o600)
    with pytest.raises(CredentialsError, match='not an unencrypted PEM'):
        pki.check_tls_files(ca, cert, not_a_key, NOW)
    with pytest.raises(PkiError, match='cannot read'):
        pki.check_tls_files(tmp_path / 'missing.pem', cert, key, NOW)
    with pytest.raises(PkiError, match='not a certificate'):
        pki.check_tls_files(key, cert, key, NOW)
    # A self-signed CA that only looks like a TLS generation's: not the one that signed.
    forged_key = ed25519.Ed25519PrivateKey.generate()
    real = x509.load_pem_x509_certificate(ca.read_bytes())
    forged = (x509.CertificateBuilder().subject_name(real.subject).issuer_name(real.subject)
              .public_key(forged_key.public_key()).serial_number(1)
              .not_valid_before(real.not_valid_before_utc)
              .not_valid_after(real.not_valid_after_utc)
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .sign(forged_key, None))
    (tmp_path / 'forged.pem').write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(PkiError, match='not issued by'):
        pki.check_tls_files(tmp_path / 'forged.pem', cert, key, NOW)
    os.chmod(key, 0o644)
    with pytest.raises(CredentialsError, match='chmod 600'):
        pki.check_tls_files(ca, cert, key, NOW)
    os.chmod(key, 0o600)
    assert pki.check_tls_files(ca, cert, key, NOW).node_id == 'pi1'


@pytest.mark.parametrize('unit', ['generation x', 'generation ', 'generation -1',
                                  'generation 1234567890', 'gen 1', 'generation ١'])
def test_tls_generation_of_refuses_odd_names(unit):
    key = ed25519.Ed25519PrivateKey.generate()
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, pki.TLS_ORGANIZATION),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit)])
    certificate = x509.load_der_x509_certificate(_build(name, key, key.public_key(), ca=True))
    with pytest.raises(PkiError, match='not the CA of a TLS generation'):
        pki.tls_generation_of(certificate)


def test_check_tls_files_refuses_every_bit_flip_of_the_leaf(mesh, tmp_path):
    mesh.issue('pi1')
    mesh.export('pi1', tmp_path / 'pi1')
    ca, cert, key = _tls_files(tmp_path / 'pi1')
    der = _der(cert)
    flipped_path = tmp_path / 'flipped.der'
    for position in range(len(der)):
        flipped = bytearray(der)
        flipped[position] ^= 0x01 if position % 2 else 0x80
        flipped_path.write_bytes(bytes(flipped))
        with pytest.raises(PkiError):  # refused with a reason, never another exception
            pki.check_tls_files(ca, flipped_path, key, NOW)
    flipped_path.write_bytes(der)
    assert pki.check_tls_files(ca, flipped_path, key, NOW).node_id == 'pi1'
