"""
The plain records the temporal memory stores (no ROS types: message fields arrive as dicts).

Resonance, sync and mesh states become a :class:`StateRecord`: the full message fields (as the
node's message-to-dict conversion gives them) plus the few values retention and queries need,
namely the stamp, the source (transducer or mesh node), a coherence and a complex T. Witness
records keep the witness chain's own shape (:class:`WitnessEntry`), which their hash chain
covers.
"""

from dataclasses import dataclass
import math

from becomingone_core import input_rules, witness_chain
from becomingone_core.input_rules import INT64_MAX, RejectedInput

RESONANCE = 'resonance'
SYNC = 'sync'
MESH = 'mesh'
WITNESS = 'witness'
# Kinds that are downsampled by tiered retention; witness records never are.
STATE_KINDS = (RESONANCE, SYNC, MESH)
KINDS = STATE_KINDS + (WITNESS,)


class InvalidRecord(ValueError):
    """A record the memory refuses; ``reason`` is a short key for rejection counters."""

    def __init__(self, reason, detail):
        super().__init__(f'{reason}: {detail}')
        self.reason = reason


class StateRecord:
    """
    One resonance, sync or mesh state at full resolution.

    ``fields`` may be given as a ``decode`` callable instead: records read back from the store
    decode their message fields only when asked, so a large time-range query stays cheap.
    """

    __slots__ = ('kind', 'stamp_ns', 'source', 'coherence', 't', '_fields', '_decode')

    def __init__(self, kind, stamp_ns, source, coherence, t, fields=None, decode=None):
        self.kind = kind
        self.stamp_ns = stamp_ns
        self.source = source
        self.coherence = coherence
        self.t = t
        self._fields = fields if fields is not None or decode else {}
        self._decode = decode

    @property
    def fields(self):
        if self._fields is None:
            self._fields, self._decode = self._decode(), None
        return self._fields

    def as_dict(self):
        return {'kind': self.kind, 'stamp_ns': self.stamp_ns, 'source': self.source,
                'coherence': self.coherence, 't': self.t, 'fields': self.fields}

    def _key(self):
        return (self.kind, self.stamp_ns, self.source, self.coherence, self.t, self.fields)

    def __eq__(self, other):
        return isinstance(other, StateRecord) and self._key() == other._key()

    __hash__ = None

    def __repr__(self):
        return (f'StateRecord(kind={self.kind!r}, stamp_ns={self.stamp_ns}, '
                f'source={self.source!r}, coherence={self.coherence!r}, t={self.t!r})')


# A witness record is the witness chain's own record: its fields are what the chain covers.
WitnessEntry = witness_chain.Record
# A signed chain head (topic witness/signatures), as the witness chain makes and checks it.
SignatureEntry = witness_chain.SignedHead
#: The largest certificate a signature may carry (DER bytes) and the signature's size.
MAX_CERTIFICATE_BYTES = 16384
SIGNATURE_BYTES = 64


@dataclass(frozen=True)
class Bucket:
    """A downsampled span ``[start_ns, start_ns + resolution_ns)`` of one kind and source."""

    kind: str
    source: str
    resolution_ns: int
    start_ns: int
    count: int
    coherence_mean: float
    coherence_min: float
    coherence_max: float
    t_mean: complex

    @property
    def end_ns(self):
        return self.start_ns + self.resolution_ns


def stamp_to_ns(stamp):
    """Return nanoseconds from a ``{'sec', 'nanosec'}`` mapping."""
    return int(stamp['sec']) * 1_000_000_000 + int(stamp['nanosec'])


def ns_to_stamp(stamp_ns):
    """Return a ``{'sec', 'nanosec'}`` mapping from nanoseconds."""
    return {'sec': int(stamp_ns // 1_000_000_000), 'nanosec': int(stamp_ns % 1_000_000_000)}


# Per kind: the source field and the fields holding coherence and the complex T.
_SUMMARY_FIELDS = {
    RESONANCE: ('transducer', 'summary_coherence', 'summary_real', 'summary_imag'),
    SYNC: (None, 'coherence', 'sync_real', 'sync_imag'),
    MESH: ('node_id', 'global_coherence', 'global_real', 'global_imag'),
}


def record_from_fields(kind, fields):
    """
    Build a :class:`StateRecord` of ``kind`` from message fields (``header.stamp`` gives the time).

    Raises :class:`InvalidRecord` for an unknown kind, a negative stamp or a coherence or T
    that is not finite.
    """
    if kind not in _SUMMARY_FIELDS:
        raise InvalidRecord('kind', f'{kind!r} is not one of {list(STATE_KINDS)}')
    source_field, coherence_field, real_field, imag_field = _SUMMARY_FIELDS[kind]
    try:
        stamp_ns = stamp_to_ns(fields['header']['stamp'])
        coherence = float(fields[coherence_field])
        t = complex(float(fields[real_field]), float(fields[imag_field]))
        source = str(fields[source_field]) if source_field else ''
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRecord('malformed', f'{kind} fields: {error!r}') from error
    if kind == RESONANCE:
        sizes = {name: len(fields.get(name) or ())
                 for name in ('tau', 'gamma_real', 'gamma_imag', 'coherence')}
        if len(set(sizes.values())) > 1:
            raise InvalidRecord('size', f'resonance arrays of different lengths: {sizes}')
    return make_record(kind, stamp_ns, source, coherence, t, fields)


def make_record(kind, stamp_ns, source, coherence, t, fields=None):
    """Return a validated :class:`StateRecord`."""
    if kind not in STATE_KINDS:
        raise InvalidRecord('kind', f'{kind!r} is not one of {list(STATE_KINDS)}')
    if stamp_ns < 0:
        raise InvalidRecord('stamp', f'negative stamp {stamp_ns} ns')
    # SQLite holds int64: a larger stamp would fail the commit of the batch it is in.
    _check_int64(stamp_ns, 'stamp_ns')
    if not (math.isfinite(coherence) and math.isfinite(t.real) and math.isfinite(t.imag)):
        raise InvalidRecord('not_finite', f'coherence {coherence!r}, T {t!r}')
    return StateRecord(kind, int(stamp_ns), source, float(coherence), complex(t), fields or {})


def make_witness(sequence, stamp_ns, observer, layer, subject, event, names, values,
                 previous_digest, digest):
    """Return a validated :class:`WitnessEntry` (its chain is checked by the store)."""
    if sequence < 0 or stamp_ns < 0:
        raise InvalidRecord('stamp', f'negative sequence {sequence} or stamp {stamp_ns}')
    _check_int64(sequence, 'sequence')
    _check_int64(stamp_ns, 'stamp_ns')
    if len(names) != len(values):
        raise InvalidRecord('size', f'{len(names)} names but {len(values)} values')
    return WitnessEntry(
        sequence=int(sequence), layer=int(layer), stamp_ns=int(stamp_ns), observer=str(observer),
        subject=str(subject), event=str(event), names=tuple(map(str, names)),
        values=tuple(map(float, values)), previous_digest=str(previous_digest),
        digest=str(digest))


def _check_int64(value, what):
    if value > INT64_MAX:
        raise InvalidRecord('out_of_range', f'{what} {value} is past int64')


def record_to_fields(record):
    """Return a record's message fields with ``header.stamp`` set from its stamp."""
    fields = dict(record.fields)
    header = dict(fields.get('header') or {})
    header['stamp'] = ns_to_stamp(record.stamp_ns)
    header.setdefault('frame_id', '')
    fields['header'] = header
    return fields


def witness_from_fields(fields):
    """Build a :class:`WitnessEntry` from ``WitnessRecord`` message fields."""
    try:
        header = fields['header']
        # Stores and exports written before 0.2 kept the observer in header.frame_id.
        observer = fields['observer'] if 'observer' in fields else header['frame_id']
        return make_witness(
            fields['sequence'], stamp_to_ns(header['stamp']), observer,
            fields['layer'], fields['subject'], fields['event'], list(fields['names']),
            list(fields['values']), fields['previous_digest'], fields['digest'])
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRecord('malformed', f'witness fields: {error!r}') from error


def witness_to_fields(entry):
    """Return ``WitnessRecord`` message fields for a :class:`WitnessEntry`."""
    return {
        'header': {'stamp': ns_to_stamp(entry.stamp_ns), 'frame_id': ''},
        'observer': entry.observer, 'layer': entry.layer, 'subject': entry.subject,
        'event': entry.event,
        'names': list(entry.names), 'values': list(entry.values), 'sequence': entry.sequence,
        'previous_digest': entry.previous_digest, 'digest': entry.digest,
    }


def bucket_to_fields(bucket):
    """Return ``CoherenceBucket`` message fields for a :class:`Bucket`."""
    return {
        'start': ns_to_stamp(bucket.start_ns), 'end': ns_to_stamp(bucket.end_ns),
        'kind': bucket.kind, 'transducer': bucket.source, 'count': bucket.count,
        'coherence_mean': bucket.coherence_mean, 'coherence_min': bucket.coherence_min,
        'coherence_max': bucket.coherence_max, 't_mean_real': bucket.t_mean.real,
        't_mean_imag': bucket.t_mean.imag,
    }


def bucket_from_fields(fields):
    """Build a :class:`Bucket` from ``CoherenceBucket`` message fields."""
    try:
        start_ns = stamp_to_ns(fields['start'])
        resolution_ns = stamp_to_ns(fields['end']) - start_ns
        bucket = Bucket(str(fields['kind']), str(fields['transducer']), resolution_ns, start_ns,
                        int(fields['count']), float(fields['coherence_mean']),
                        float(fields['coherence_min']), float(fields['coherence_max']),
                        complex(float(fields['t_mean_real']), float(fields['t_mean_imag'])))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRecord('malformed', f'bucket fields: {error!r}') from error
    if bucket.kind not in STATE_KINDS or resolution_ns <= 0 or bucket.count <= 0:
        raise InvalidRecord('malformed', f'bucket {bucket!r}')
    values = (bucket.coherence_mean, bucket.coherence_min, bucket.coherence_max,
              bucket.t_mean.real, bucket.t_mean.imag)
    if not all(math.isfinite(value) for value in values):
        raise InvalidRecord('not_finite', f'bucket {bucket!r}')
    for value, what in ((start_ns, 'start'), (bucket.end_ns, 'end'), (bucket.count, 'count')):
        _check_int64(value, f'bucket {what}')
    return bucket


def check_witness_signature(message, now_ns=None, window=input_rules.ANY_TIME):
    """Check a ``WitnessSignature``'s ranges (whether it holds is verify's to judge)."""
    stamp = input_rules.checked_stamp(message.header.stamp, now_ns, window)
    input_rules.check_name(message.header.frame_id, 'frame_id')
    input_rules.check_name(message.observer, 'observer', required=True)
    input_rules.check_int64(message.sequence, 'sequence')
    digest = message.digest
    if len(digest) != input_rules.DIGEST_LENGTH or any(c not in '0123456789abcdef'
                                                       for c in digest):
        raise RejectedInput('bad_digest', f'digest {input_rules.shorten(digest, 20)}')
    input_rules.check_length(message.certificate, 'certificate', MAX_CERTIFICATE_BYTES)
    if not len(message.certificate):
        raise RejectedInput('out_of_range', 'no certificate')
    if len(message.signature) != SIGNATURE_BYTES:
        raise RejectedInput('size_mismatch', f'signature of {len(message.signature)} bytes, '
                                             f'not {SIGNATURE_BYTES}')
    return stamp


def make_signature(observer, sequence, digest, stamp_ns, certificate, signature):
    """Return a validated :class:`SignatureEntry`."""
    if sequence < 0 or stamp_ns < 0:
        raise InvalidRecord('stamp', f'negative sequence {sequence} or stamp {stamp_ns}')
    _check_int64(sequence, 'sequence')
    _check_int64(stamp_ns, 'stamp_ns')
    return SignatureEntry(str(observer), int(sequence), str(digest), int(stamp_ns),
                          bytes(certificate), bytes(signature))


def signature_from_fields(fields):
    """Build a :class:`SignatureEntry` from ``WitnessSignature`` message fields."""
    try:
        return make_signature(fields['observer'], fields['sequence'], fields['digest'],
                              stamp_to_ns(fields['header']['stamp']),
                              bytes(fields['certificate']), bytes(fields['signature']))
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidRecord('malformed', f'witness signature fields: {error!r}') from error


def signature_to_fields(entry):
    """Return ``WitnessSignature`` message fields for a :class:`SignatureEntry`."""
    return {
        'header': {'stamp': ns_to_stamp(entry.stamp_ns), 'frame_id': ''},
        'observer': entry.observer, 'sequence': entry.sequence, 'digest': entry.digest,
        'certificate': bytes(entry.certificate), 'signature': bytes(entry.signature),
    }
