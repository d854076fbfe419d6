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
the same observer (see :mod:`becomingone_core.memory.witness_ledger`).

On a mesh with a PKI the witness also signs the head of its chain (:class:`SignedHead`: the
observer, sequence and digest of its newest record and the time it signed) with its host's key.
A digest commits every record before it, so one valid signature proves a whole stretch of the
chain to be that host's: :func:`prove` checks a chain's signatures (against the mesh CA, or only
for internal consistency without one) and reports how far it is proven, the first bad record
and the unsigned tail. The log keeps them in ``<log>.signatures.jsonl`` (one JSON object a line)
and ``witness_verify --ca CA.pem LOG`` checks them.
"""

import argparse
from dataclasses import asdict, dataclass
import hashlib
import json
import os
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


# --------------------------------------------------------------------------------- signed heads
#: Reasons a signed head fails (beyond the certificate's own, ``pki.REASONS``).
BAD_SIGNATURE = 'bad_signature'
WRONG_IDENTITY = 'wrong_identity'
DIGEST_MISMATCH = 'digest_mismatch'
SIGNATURES_SUFFIX = '.signatures.jsonl'


@dataclass(frozen=True)
class SignedHead:
    """A chain head signed by its host (the ``WitnessSignature`` message holds the same)."""

    observer: str
    sequence: int
    digest: str
    stamp_ns: int
    certificate: bytes
    signature: bytes

    def fields(self):
        """Return what is signed (``signed_fields`` kind ``witness_head``)."""
        return signed_head_fields(self.observer, self.sequence, self.digest, self.stamp_ns)


def signed_head_fields(observer, sequence, digest, stamp_ns):
    return {'observer': str(observer), 'sequence': int(sequence), 'digest': str(digest),
            'stamp_ns': int(stamp_ns)}


def host_of(observer):
    """Return the host an observer names: the text before its first '/' ('' if none)."""
    return observer.split('/', 1)[0] if '/' in observer else ''


def sign_head(authority, observer, record, stamp_ns):
    """Return the :class:`SignedHead` of ``record`` by a ``MeshAuthority`` (or credentials)."""
    from becomingone_core.security.signed_fields import WITNESS_HEAD
    fields = signed_head_fields(observer, record.sequence, record.digest, stamp_ns)
    return SignedHead(observer, record.sequence, record.digest, int(stamp_ns),
                      bytes(authority.certificate_der),
                      bytes(authority.sign(WITNESS_HEAD, fields)))


def check_head(head, trust=None):
    """
    Return '' if ``head``'s signature holds, else the reason it does not.

    With ``trust`` (a ``pki.TrustStore``) the certificate must be one the mesh CA issued, valid
    at the head's own stamp (so an old log stays verifiable after its certificate expired; a
    revoked one fails) and naming the observer's host. Without, only internal consistency is
    checked: the certificate's own key signed it and it names the observer's host.
    """
    from becomingone_core.security import pki
    from becomingone_core.security.signed_fields import verify_fields, WITNESS_HEAD
    if trust is not None:
        try:
            identity = trust.identify(bytes(head.certificate), head.stamp_ns / 1e9)
        except pki.Untrusted as error:
            return error.reason
    else:
        identity = _self_identity(bytes(head.certificate))
        if isinstance(identity, str):
            return identity
    if identity.operator or identity.node_id != host_of(head.observer):
        return WRONG_IDENTITY
    if not verify_fields(identity, WITNESS_HEAD, head.fields(), bytes(head.signature)):
        return BAD_SIGNATURE
    return ''


def _self_identity(der):
    """Read a certificate without trusting it: its node id and key, or a reason."""
    from becomingone_core.security import pki
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ed25519
    if not der or len(der) > pki.MAX_CERTIFICATE_BYTES:
        return pki.MALFORMED
    try:
        certificate = x509.load_der_x509_certificate(der)
        key = certificate.public_key()
    except Exception:  # noqa: B902 - any parser failure means malformed
        return pki.MALFORMED
    if not isinstance(key, ed25519.Ed25519PublicKey):
        return pki.WRONG_KEY_TYPE
    try:
        node_id = pki.certificate_node_id(certificate)
    except pki.Untrusted as error:
        return error.reason
    except Exception:  # noqa: B902
        return pki.MALFORMED
    return pki.Identity(node_id, None, None, False, float('inf'), pki.fingerprint(der), key)


@dataclass
class Proof:
    """How far one observer's chain is proven by its signed heads (see :func:`prove`)."""

    observer: str
    signatures: int = 0
    valid: int = 0
    #: The newest record a valid signature proves (before any failure), and its epoch.
    proven_to: int = None
    proven_epoch: int = None
    #: The first record no valid signature vouches for because one failed, its epoch, and why.
    first_bad: int = None
    first_bad_epoch: int = None
    reason: str = ''
    #: Records after the newest valid signature of the newest run: ``[first, last]``.
    unsigned_tail: list = None
    #: Records no valid signature covers (the tail included).
    unsigned_records: int = 0
    #: Signatures of a head the records do not hold (never received, or dropped by retention).
    unmatched: int = 0

    @property
    def ok(self):
        return self.first_bad is None

    def as_dict(self):
        return asdict(self)


def prove(observer, runs, heads, trust=None):
    """
    Check ``heads`` (:class:`SignedHead` of ``observer``) against its chain; return a Proof.

    ``runs`` are ``(epoch, [records])`` in chain order, each an unbroken stretch (the store
    splits epochs at known gaps: a signature after a gap cannot vouch for records before it).
    A head belongs to the run holding a record of its sequence and digest; a head whose digest
    matches no record but whose sequence one holds belongs to the run whose record there is the
    newest stamped no later than the head (``digest_mismatch``: the record was changed, and the
    chain rehashed). Within a run, each valid head proves the records from the previous valid
    one up to its own; the first head that fails (any reason) makes the first record of its
    segment the first bad record, and checking stops there. Heads of sequences no record holds
    are counted as ``unmatched`` (they prove nothing) but must still verify.
    """
    proof = Proof(observer, signatures=len(heads))
    where = {}
    for index, (epoch, records) in enumerate(runs):
        for position, record in enumerate(records):
            where.setdefault(record.sequence, []).append((index, position, record))
    assigned = {}
    unmatched = []
    reasons = {}
    for head in sorted(heads, key=lambda h: (h.sequence, h.stamp_ns)):
        reasons[id(head)] = check_head(head, trust)
        candidates = where.get(head.sequence, [])
        match = next((c for c in candidates if c[2].digest == head.digest), None)
        if match is None and candidates:
            slack_ns = 1_000_000_000
            earlier = [c for c in candidates if c[2].stamp_ns <= head.stamp_ns + slack_ns]
            match = max(earlier or candidates[:1], key=lambda c: c[2].stamp_ns)
            reasons[id(head)] = reasons[id(head)] or DIGEST_MISMATCH
        if match is None:
            unmatched.append(head)
        else:
            assigned.setdefault(match[0], []).append((match[1], head))
    proof.unmatched = len(unmatched)
    for index, (epoch, records) in enumerate(runs):
        start = 0  # the first record of this run not yet proven
        for position, head in sorted(assigned.get(index, []), key=lambda item: item[0]):
            if position < start:
                if not reasons[id(head)]:
                    proof.valid += 1
                    continue  # a second signature of a head already proven
            if reasons[id(head)]:
                bad = records[min(start, position)]
                proof.first_bad, proof.first_bad_epoch = bad.sequence, epoch
                proof.reason = reasons[id(head)]
                return proof
            proof.valid += 1
            proof.proven_to, proof.proven_epoch = head.sequence, epoch
            start = position + 1
        proof.unsigned_records += len(records) - start
        if index == len(runs) - 1 and start < len(records):
            proof.unsigned_tail = [records[start].sequence, records[-1].sequence]
    for head in unmatched:
        if reasons[id(head)]:
            proof.first_bad, proof.reason = head.sequence, reasons[id(head)]
            return proof
        proof.valid += 1
    return proof


def head_to_json(head):
    return json.dumps({'observer': head.observer, 'sequence': head.sequence,
                       'digest': head.digest, 'stamp_ns': head.stamp_ns,
                       'certificate': bytes(head.certificate).hex(),
                       'signature': bytes(head.signature).hex()}, separators=(',', ':'))


def head_from_json(line):
    fields = json.loads(line)
    return SignedHead(str(fields['observer']), int(fields['sequence']), str(fields['digest']),
                      int(fields['stamp_ns']), bytes.fromhex(fields['certificate']),
                      bytes.fromhex(fields['signature']))


def signatures_path(log_path):
    """Return where the signed heads of the log at ``log_path`` are kept."""
    return f'{os.fspath(log_path)}{SIGNATURES_SUFFIX}'


def read_signatures(path):
    """Return the signed heads stored in a JSON Lines file (a torn last line is ignored)."""
    heads = []
    with open(path, encoding='ascii') as log:
        for number, line in enumerate(log, 1):
            if not line.strip():
                continue
            try:
                heads.append(head_from_json(line))
            except (ValueError, KeyError, TypeError) as error:
                if line.endswith('\n'):
                    raise ValueError(f'{path}:{number}: unreadable signature ({error})') \
                        from None
    return heads


class SignatureWriter(LogWriter):
    """Appends signed heads to ``<log>.signatures.jsonl``, flushing each."""

    def write(self, head):
        self._file.write(head_to_json(head) + '\n')
        self._file.flush()


def describe_proof(proof):
    """Return one line saying how far ``proof`` goes."""
    if not proof.signatures:
        return f'{proof.observer}: unsigned (no signed heads)'
    if not proof.ok:
        epoch = '' if proof.first_bad_epoch is None else f' (epoch {proof.first_bad_epoch})'
        return (f'{proof.observer}: SIGNATURE FAILS: first bad record {proof.first_bad}{epoch} '
                f'({proof.reason}); proven up to {proof.proven_to}')
    tail = ''
    if proof.unsigned_tail:
        tail = f'; unsigned tail {proof.unsigned_tail[0]}..{proof.unsigned_tail[1]}'
    return f'{proof.observer}: proven up to {proof.proven_to} ({proof.valid} signatures){tail}'


def _log_runs(records):
    """Split a log's records by observer into ``{observer: [(0, records)]}`` runs."""
    runs = {}
    for record in records:
        runs.setdefault(record.observer, []).append(record)
    return {observer: [(0, chain)] for observer, chain in runs.items()}


def main(argv=None):
    """``witness_verify [--ca CA.pem [--crl CRL.pem]] FILE...``: exit 0 when all verify."""
    parser = argparse.ArgumentParser(
        prog='witness_verify', description='Verify witness logs: the hash chain and, when '
        '<log>.signatures.jsonl exists, the signed heads.')
    parser.add_argument('paths', nargs='*', metavar='WITNESS_LOG.jsonl')
    parser.add_argument('--ca', help='the mesh CA (ca.pem): signatures must be by certificates '
                                     "it issued to the observer's host")
    parser.add_argument('--crl', help='the mesh CRL (crl.pem): revoked certificates fail')
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not args.paths:
        print('usage: witness_verify [--ca CA.pem [--crl CRL.pem]] WITNESS_LOG.jsonl...',
              file=sys.stderr)
        return 2
    trust = None
    if args.ca:
        from becomingone_core.security.pki import PkiError, TrustStore
        try:
            trust = TrustStore.from_files(args.ca, args.crl)
        except (PkiError, OSError) as error:
            print(f'witness_verify: {error}', file=sys.stderr)
            return 2
    status = 0
    for path in args.paths:
        try:
            records = read_log(path)
            result = verify(records)
            heads = None
            if os.path.exists(signatures_path(path)):
                heads = read_signatures(signatures_path(path))
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
        if heads is None:
            continue
        if trust is None:
            print(f'{path}: signatures checked for internal consistency only (no --ca)')
        runs = _log_runs(records[:result.checked] if not result.ok else records)
        for observer in sorted(set(runs) | {h.observer for h in heads}):
            proof = prove(observer, runs.get(observer, []),
                          [h for h in heads if h.observer == observer], trust)
            print(f'{path}: {describe_proof(proof)}')
            if not proof.ok:
                status = 1
    return status
