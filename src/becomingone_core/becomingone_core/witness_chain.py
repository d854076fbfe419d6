"""
A SHA-256 hash chain over witness records, its verification and its log file (no rclpy).

Each record's digest is SHA-256 over a canonical encoding of its fields *and the previous
record's digest*, so changing, removing or reordering any stored record breaks verification at
that record (and nothing before it). Floats are encoded with ``float.hex`` so the encoding is
exact and survives a round trip through JSON or a ``WitnessRecord`` message.

The log is JSON Lines, one record per line, appended and flushed as records are made;
:func:`verify_log` checks a stored log (also from the command line: ``witness_verify FILE``).
A witness that restarts with its log continues the chain; one without a log starts a new chain
at sequence 0 chained to :data:`GENESIS`, which the temporal memory keeps as a new *epoch* of
the same observer (see :mod:`becomingone_core.memory.store`).
"""

from dataclasses import asdict, dataclass
import hashlib
import json
import sys

GENESIS = '0' * 64
MICRO, MESO, MACRO, META = 0, 1, 2, 3
LAYER_NAMES = ('micro', 'meso', 'macro', 'meta')


@dataclass(frozen=True)
class Record:
    """One witness record, as plain values (the ``WitnessRecord`` message holds the same)."""

    sequence: int
    layer: int
    stamp_ns: int
    observer: str
    subject: str
    event: str
    names: tuple
    values: tuple
    previous_digest: str
    digest: str

    def value(self, name, default=None):
        try:
            return self.values[self.names.index(name)]
        except ValueError:
            return default


def digest_of(sequence, layer, stamp_ns, observer, subject, event, names, values,
              previous_digest):
    """Return the lower-case hex SHA-256 of a record's fields chained to ``previous_digest``."""
    canonical = json.dumps(
        [previous_digest, int(sequence), int(layer), int(stamp_ns), observer, subject, event,
         list(names), [float(v).hex() for v in values]],
        separators=(',', ':'), ensure_ascii=True)
    return hashlib.sha256(canonical.encode('ascii')).hexdigest()


class HashChain:
    """Makes records that chain to the previous one; may continue an existing chain."""

    def __init__(self, observer, last=None):
        self.observer = observer
        self.sequence = last.sequence + 1 if last is not None else 0
        self.last_digest = last.digest if last is not None else GENESIS

    def append(self, layer, subject, event, stamp_ns, values=None):
        """Return the next :class:`Record`; ``values`` maps names to numbers."""
        if layer not in (MICRO, MESO, MACRO, META):
            raise ValueError(f'layer must be one of 0..3, not {layer!r}')
        values = values or {}
        names = tuple(str(k) for k in values)
        numbers = tuple(float(v) for v in values.values())
        digest = digest_of(self.sequence, layer, stamp_ns, self.observer, subject, event,
                           names, numbers, self.last_digest)
        record = Record(self.sequence, layer, int(stamp_ns), self.observer, subject, event,
                        names, numbers, self.last_digest, digest)
        self.sequence += 1
        self.last_digest = digest
        return record


@dataclass
class Verification:
    """Result of :func:`verify`: ``ok``, or the first bad record's position and why."""

    ok: bool
    checked: int
    bad_index: int = -1
    reason: str = ''


def verify(records, previous_digest=None):
    """
    Check that ``records`` form one unbroken chain.

    ``previous_digest`` is the digest the first record must chain to (default: the genesis
    digest when the first record has sequence 0, else whatever it names, so a tail of a longer
    chain can be checked on its own).
    """
    expected_sequence = None
    checked = 0
    for index, record in enumerate(records):
        if previous_digest is None:
            previous_digest = GENESIS if record.sequence == 0 else record.previous_digest
        if expected_sequence is not None and record.sequence != expected_sequence:
            return Verification(False, checked, index, f'sequence {record.sequence}, expected '
                                f'{expected_sequence}')
        if record.previous_digest != previous_digest:
            return Verification(False, checked, index, 'does not chain to the previous record')
        if len(record.names) != len(record.values):
            return Verification(False, checked, index, 'names and values differ in length')
        recomputed = digest_of(record.sequence, record.layer, record.stamp_ns, record.observer,
                               record.subject, record.event, record.names, record.values,
                               record.previous_digest)
        if recomputed != record.digest:
            return Verification(False, checked, index, 'digest does not match its contents')
        previous_digest = record.digest
        expected_sequence = record.sequence + 1
        checked += 1
    return Verification(True, checked)


# --------------------------------------------------------------------------------- the log file
def to_json(record):
    fields = asdict(record)
    fields['values'] = [float(v).hex() for v in record.values]
    return json.dumps(fields, separators=(',', ':'))


def from_json(line):
    fields = json.loads(line)
    fields['names'] = tuple(fields['names'])
    fields['values'] = tuple(float.fromhex(v) for v in fields['values'])
    return Record(**fields)


def read_log(path):
    """Return the records stored in a JSON Lines log (a torn last line is ignored)."""
    records = []
    with open(path, encoding='ascii') as log:
        for number, line in enumerate(log, 1):
            if not line.strip():
                continue
            try:
                records.append(from_json(line))
            except (ValueError, KeyError, TypeError) as error:
                if line.endswith('\n'):
                    raise ValueError(f'{path}:{number}: unreadable record ({error})') from None
    return records


class LogWriter:
    """Appends records to a JSON Lines log, flushing each so a crash loses at most one line."""

    def __init__(self, path):
        self.path = path
        self._file = open(path, 'a', encoding='ascii')

    def write(self, record):
        self._file.write(to_json(record) + '\n')
        self._file.flush()

    def close(self):
        self._file.close()


def verify_log(path):
    return verify(read_log(path))


def main(argv=None):
    """``witness_verify FILE...``: exit 0 when every log verifies, 1 otherwise."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print('usage: witness_verify WITNESS_LOG.jsonl...', file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        try:
            result = verify_log(path)
        except (OSError, ValueError) as error:
            print(f'{path}: cannot read: {error}')
            status = 1
            continue
        if result.ok:
            print(f'{path}: {result.checked} records, chain verified')
        else:
            print(f'{path}: BROKEN at record {result.bad_index} ({result.reason}); '
                  f'{result.checked} records before it verified')
            status = 1
    return status
