"""
The witness hash chain: SHA-256 over the previous digest and a record's canonical content.

One function defines the canonical bytes of a witness record, so the witness that writes the
chain and the memory that verifies it agree by construction. A record is any mapping (or object
with attributes) holding ``sequence``, ``stamp_ns``, ``node``, ``layer``, ``subject``, ``event``,
``names`` and ``values``; its ``previous_digest`` enters through the chaining, and its ``digest``
is what the chain computes.
"""

import hashlib
import json

# The previous digest of the first record of a chain.
GENESIS = '0' * 64

CONTENT_FIELDS = ('sequence', 'stamp_ns', 'node', 'layer', 'subject', 'event', 'names', 'values')


def _field(record, name):
    return record[name] if isinstance(record, dict) else getattr(record, name)


def canonical_bytes(record):
    """
    Return the canonical serialisation of a record's content (not its digests).

    Compact JSON with sorted keys; floats use Python's shortest round-trip form, so equal
    values always give equal bytes (NaN and infinities are spelled NaN/Infinity).
    """
    content = {name: _field(record, name) for name in CONTENT_FIELDS}
    content['sequence'] = int(content['sequence'])
    content['stamp_ns'] = int(content['stamp_ns'])
    content['layer'] = int(content['layer'])
    content['names'] = [str(n) for n in content['names']]
    content['values'] = [float(v) for v in content['values']]
    return json.dumps(content, sort_keys=True, separators=(',', ':')).encode('utf-8')


def digest(previous_digest, record):
    """Return the lower-case hex SHA-256 digest chaining ``record`` to ``previous_digest``."""
    hasher = hashlib.sha256(previous_digest.encode('ascii'))
    hasher.update(b'\n')
    hasher.update(canonical_bytes(record))
    return hasher.hexdigest()


def link_ok(previous, record):
    """
    Check one record against the record before it (``None`` when it starts the chain).

    A record holds when its digest matches its content and previous digest, and (given a
    predecessor) its sequence follows it directly and names its digest.
    """
    if digest(_field(record, 'previous_digest'), record) != _field(record, 'digest'):
        return False
    if previous is None:
        return True
    return (int(_field(record, 'sequence')) == int(_field(previous, 'sequence')) + 1
            and _field(record, 'previous_digest') == _field(previous, 'digest'))


def verify(records, anchor=None, gaps=()):
    """
    Return the sequence of the first record where the chain breaks, or ``None``.

    ``records`` are one chain in sequence order. ``anchor`` is the ``(sequence, digest)`` of
    the record just before the first one, when older records were pruned; without it the
    first record is trusted as the start of what is kept. ``gaps`` are sequences known to
    follow records that were never received: there only the record's own digest is checked.
    A missing record anywhere else is a break.
    """
    previous = None
    if anchor is not None:
        previous = {'sequence': anchor[0], 'digest': anchor[1]}
    for record in records:
        if int(_field(record, 'sequence')) in gaps:
            previous = None
        if not link_ok(previous, record):
            return int(_field(record, 'sequence'))
        previous = record
    return None
