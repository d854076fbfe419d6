"""
Canonical, domain-separated payloads for signing plain values (no rclpy, no messages).

A node signs the plain values it is about to put into a message, and the receiver verifies the
plain values it read out of it, so both sides must build ``fields`` from the same values with
the same types: read them back from the message (a ``float32`` field rounds), and include the
sender's ``node_id`` and sequence among the fields, so a signature cannot be replayed under
another id or out of order.

The payload is ``MAGIC || kind || NUL || JSON`` where the JSON maps each field name (sorted) to
a ``[type tag, value]`` pair: ``b`` bool, ``i`` int (decimal string, any size), ``f`` float
(:meth:`float.hex`: exact, and NaN/inf spelled, never rounded through decimal), ``s`` str,
``x`` bytes (hex), ``n`` None. The kind is part of the payload (domain separation): an e-stop
signature never verifies as a peer state, even for equal fields.
"""

import json

MAGIC = b'BecomingONE signed fields v1\x00'
PEER_STATE = 'peer_state'
SYNC_STATE = 'sync_state'
ESTOP = 'estop'
WITNESS_HEAD = 'witness_head'
KINDS = (PEER_STATE, SYNC_STATE, ESTOP, WITNESS_HEAD)
MAX_FIELDS = 64


def _encode(name, value):
    # bool before int: True is an int in Python, but must not sign like 1.
    if isinstance(value, bool):
        return ['b', value]
    if isinstance(value, int):
        return ['i', str(value)]
    if isinstance(value, float):
        return ['f', value.hex()]
    if isinstance(value, str):
        return ['s', value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ['x', bytes(value).hex()]
    if value is None:
        return ['n', None]
    raise TypeError(f'field {name!r}: cannot sign a {type(value).__name__}')


def payload(kind, fields):
    """Return the bytes to sign for ``fields`` (a dict of str to plain values) of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f'kind {kind!r} is not one of {", ".join(KINDS)}')
    if not isinstance(fields, dict) or len(fields) > MAX_FIELDS:
        raise TypeError(f'fields are a dict of at most {MAX_FIELDS} items')
    encoded = {}
    for name, value in fields.items():
        if not isinstance(name, str):
            raise TypeError('field names are strings')
        encoded[name] = _encode(name, value)
    # ensure_ascii: one byte string per value, whatever the locale; strict JSON escapes make the
    # encoding injective (no two field sets share a payload).
    text = json.dumps(encoded, sort_keys=True, separators=(',', ':'), ensure_ascii=True,
                      allow_nan=False)
    return MAGIC + kind.encode('ascii') + b'\x00' + text.encode('ascii')


def sign_fields(credentials, kind, fields):
    """Sign ``fields`` of ``kind`` with a :class:`~.pki.HostCredentials`; 64 bytes."""
    return credentials.sign(payload(kind, fields))


def verify_fields(identity, kind, fields, signature):
    """Return True only if ``signature`` signs exactly these fields and kind by ``identity``."""
    # Imported here: cryptography costs ~13 MB of RSS, which an open lab mesh never needs.
    from becomingone_core.security.pki import verify_signature
    try:
        data = payload(kind, fields)
    except (TypeError, ValueError):
        return False
    return verify_signature(identity, data, signature)
