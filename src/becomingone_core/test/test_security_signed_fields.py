"""Signed plain values: deterministic payloads; any change of any field, or of kind, is refused."""

import math
import time

from becomingone_core.security.pki import HostCredentials, MeshPki, TrustStore
from becomingone_core.security.signed_fields import (
    KINDS, MAGIC, payload, sign_fields, verify_fields)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings, strategies as st
import pytest

FIELDS = {
    'node_id': 'pi1', 'host': 'pi1.local', 'role': 0, 'weight': 1.0, 't_real': 0.1,
    't_imag': -0.25, 'coherence': 0.0725, 'collapsed': True, 'sequence': 1796149658123456,
    'stamp_ns': 1796149658000000000, 'previous_hash': bytes(range(32)), 'note': None,
}


@pytest.fixture(scope='module')
def hosts(tmp_path_factory):
    authority = MeshPki(tmp_path_factory.mktemp('pki'))
    authority.init('lab')
    store = TrustStore.from_files(authority.ca_path, authority.crl_path)
    out = {}
    for node_id in ('pi1', 'pi2'):
        issued = authority.issue(node_id)
        der = x509.load_pem_x509_certificate(issued.cert_path.read_bytes()).public_bytes(
            serialization.Encoding.DER)
        out[node_id] = (HostCredentials.load(issued.cert_path, issued.key_path),
                        store.identify(der, time.time()))
    return out


def test_payload_is_deterministic_and_canonical():
    reordered = dict(reversed(list(FIELDS.items())))
    assert payload('peer_state', FIELDS) == payload('peer_state', reordered)
    data = payload('peer_state', {'w': 0.1, 'n': 7, 'b': False, 's': 'é', 'x': b'\x01', 'z': None})
    assert data == MAGIC + b'peer_state\x00{"b":["b",false],"n":["i","7"],"s":["s","\\u00e9"],' \
        b'"w":["f","0x1.999999999999ap-4"],"x":["x","01"],"z":["n",null]}'


@pytest.mark.parametrize('a, b', [
    (1, 1.0), (1, True), (0, False), (0.0, -0.0), ('1', 1), (b'', ''), (b'\x01', '01'),
    (None, ''), (None, 0), (2**64, 2**64 + 1), (0.1, 0.1 + 2**-56), (math.inf, 'inf'),
])
def test_values_that_look_alike_sign_differently(a, b):
    assert payload('estop', {'v': a}) != payload('estop', {'v': b})


def test_non_finite_floats_are_exact():
    assert payload('sync_state', {'v': math.nan}) == payload('sync_state', {'v': float('nan')})
    assert payload('sync_state', {'v': math.inf}) != payload('sync_state', {'v': -math.inf})


@pytest.mark.parametrize('bad', [{'v': [1]}, {'v': {'a': 1}}, {1: 'x'}, {'v': object()},
                                 {f'k{i}': i for i in range(65)}])
def test_unsignable_fields_are_refused(bad):
    with pytest.raises(TypeError):
        payload('peer_state', bad)
    with pytest.raises(ValueError):
        payload('motor', {'v': 1})


def test_round_trip_and_every_change_breaks_it(hosts):
    credentials, identity = hosts['pi1']
    for kind in KINDS:
        signature = sign_fields(credentials, kind, FIELDS)
        assert len(signature) == 64
        assert verify_fields(identity, kind, dict(FIELDS), signature)
        for other in KINDS:
            if other != kind:  # domain separation
                assert not verify_fields(identity, other, FIELDS, signature)
    signature = sign_fields(credentials, 'peer_state', FIELDS)
    changes = {'node_id': 'pi2', 'host': 'pi1.local ', 'role': 1, 'weight': 10.0,
               't_real': math.nextafter(0.1, 1.0), 't_imag': 0.25, 'coherence': 0.0726,
               'collapsed': False, 'sequence': FIELDS['sequence'] + 1,
               'stamp_ns': FIELDS['stamp_ns'] - 1, 'previous_hash': bytes(32), 'note': ''}
    assert set(changes) == set(FIELDS)
    for name, value in changes.items():
        assert not verify_fields(identity, 'peer_state', {**FIELDS, name: value}, signature), name
    for name in FIELDS:
        fewer = {k: v for k, v in FIELDS.items() if k != name}
        assert not verify_fields(identity, 'peer_state', fewer, signature), name
        assert not verify_fields(identity, 'peer_state', {**FIELDS, name + '_': 1}, signature)
    assert not verify_fields(identity, 'peer_state', {**FIELDS, 'extra': 1}, signature)


def test_forged_and_foreign_signatures_fail(hosts):
    (credentials, identity), (other, other_identity) = hosts['pi1'], hosts['pi2']
    theirs = sign_fields(other, 'estop', {'engaged': False})
    assert not verify_fields(identity, 'estop', {'engaged': False}, theirs)
    assert verify_fields(other_identity, 'estop', {'engaged': False}, theirs)
    for bad in (bytes(64), b'', None, 'sig', theirs[:-1]):
        assert not verify_fields(identity, 'estop', {'engaged': False}, bad)
    # Garbage instead of fields or kind: False, never an exception.
    for fields in (None, [], {'v': object()}, {3: 3}):
        assert not verify_fields(identity, 'estop', fields, theirs)
    assert not verify_fields(identity, None, {'engaged': False}, theirs)
    ours = sign_fields(credentials, 'estop', {'engaged': True})
    for position in range(64 * 8):
        flipped = bytearray(ours)
        flipped[position // 8] ^= 1 << (position % 8)
        assert not verify_fields(identity, 'estop', {'engaged': True}, bytes(flipped))


values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                   st.text(max_size=20), st.binary(max_size=20))
field_sets = st.dictionaries(st.text(max_size=8), values, max_size=6)


@settings(max_examples=150, deadline=None)
@given(field_sets, field_sets)
def test_distinct_field_sets_never_share_a_payload(a, b):
    def typed(fields):
        return {k: (type(v), v.hex() if isinstance(v, float) else v) for k, v in fields.items()}
    if typed(a) != typed(b):
        assert payload('witness_head', a) != payload('witness_head', b)
    else:
        assert payload('witness_head', a) == payload('witness_head', b)
