"""
The witness ledger: the witness chains and their signed heads inside a memory store's file.

Witness chains have **epochs**. A chain is identified by its observer (the witness node's name)
and its epoch: a witness restarted without a persistent log starts a new chain at sequence 0,
chained to the genesis digest. The ledger accepts that record as the start of the observer's
next epoch (a counted chain restart, :attr:`WitnessLedger.chain_restarts`) and verifies each
epoch as a chain of its own. Within an epoch every edit, deletion and reorder is still a break
at the record where it shows, and so is a "restart" anywhere but at sequence 0 with the genesis
digest. A record the store already holds (the witness topic is transient local, so a memory
that restarts receives up to the witness's history depth of records again) is a duplicate:
ignored and counted in :attr:`WitnessLedger.duplicates_ignored`.

Signed chain heads (``witness/signatures``, :class:`~.records.SignatureEntry`) are kept beside
the chains, committed in the same transactions as the store's records (not part of the
acknowledged mark, which counts records). :meth:`WitnessLedger.proofs` checks them: how far each
observer's chain is proven to be its host's, the first bad record and the unsigned tail.

The ledger buffers; its owner (:class:`~.store.MemoryStore`) opens the transactions, calls
:meth:`WitnessLedger.insert_entries` and :meth:`WitnessLedger.insert_signatures` inside them
and tells the ledger when a commit has taken its buffer (:meth:`WitnessLedger.committed`).
"""

import json

from becomingone_core import witness_chain
from becomingone_core.input_rules import INT64_MAX
from becomingone_core.memory.records import InvalidRecord, SignatureEntry, WitnessEntry

#: The kind signed heads are counted under (unstorable rows).
SIGNATURES = 'witness_signature'


class WitnessLedger:
    """
    The witness chains and signed heads of one store (``store.witness``).

    ``owner`` is the :class:`~.store.MemoryStore` whose SQLite connection, backlog limit and
    batch size the ledger shares.
    """

    def __init__(self, owner, max_observers=None):
        self._owner = owner
        #: Witness observers (chains) the store accepts; ``None``: any number (offline tools).
        self.max_observers = max_observers
        self.pending = []
        self.pending_signatures = []
        self._pending_signature_keys = set()
        self._pending_rows = set()
        self._tails = {}
        self._next_epoch = {}
        self.chain_restarts = {}
        self.duplicates_ignored = {}
        #: Signed heads skipped because the store already held them (redelivered history).
        self.duplicate_signatures = 0
        self._observers = self._stored_observers()
        self.chain_breaks, self.chain_break_epochs = {}, {}
        for observer, (epoch, sequence) in self._verify_chains().items():
            self.chain_breaks[observer] = sequence
            self.chain_break_epochs[observer] = epoch

    @property
    def _connection(self):
        return self._owner._connection

    def _stored_observers(self):
        return {row[0] for row in self._connection.execute(
            'SELECT observer FROM witness_epochs UNION SELECT observer FROM witness_anchor')}

    # -- buffering ----------------------------------------------------------------------------
    @property
    def backlog(self):
        """Return how many witness records and signed heads wait for a commit."""
        return len(self.pending) + len(self.pending_signatures)

    def add(self, entry):
        """
        Buffer a :class:`WitnessEntry`; return True when the store's flush is due.

        The record continues the observer's current epoch when its sequence is above the
        epoch's newest: right after it, it must chain to it (anything else, a "restart" to the
        genesis digest included, is a break); further on, the sequences between are a known gap
        (records the memory never received). A record already stored (same observer, sequence
        and digest, every field equal, any epoch) is a duplicate: ignored and counted in
        :attr:`duplicates_ignored`, since the witness's transient-local history redelivers up to
        its depth of records to a memory that restarts (and a replay of a stored record changes
        nothing). So is a record of the current epoch older than the oldest one the store holds
        of it (a lower sequence stamped no later: history the memory missed or retention
        dropped), not a restart. Any other record at or below the newest
        sequence starts the observer's next epoch, a chain restart counted in
        :attr:`chain_restarts`: normally sequence 0 chained to the genesis digest; a later
        sequence when the memory missed the new chain's first records (a restarted witness may
        publish them before DDS has matched it with the memory), which is then verified from
        its own previous digest, like a gap. A record that breaks its chain is stored anyway
        (it is evidence) and the break is reported in :attr:`chain_breaks` (its epoch in
        :attr:`chain_break_epochs`).
        """
        self._owner._check_room()
        observer = entry.observer
        # The duplicate checks below look the sequence up in SQLite, which holds int64 only.
        if not 0 <= entry.sequence <= INT64_MAX:
            raise InvalidRecord('out_of_range', f'sequence {entry.sequence} outside int64')
        if observer not in self._observers:
            # Per-observer state (tails, epochs, counters) must not grow with every name a
            # publisher invents.
            self._check_observers()
        tail = self._tail(observer)
        restart = False
        # Any epoch: an older run's record may lie above the current run's newest sequence.
        if tail is not None and (self._is_stored(entry) or (
                entry.sequence <= tail[1] and self._predates(entry, tail[0]))):
            self.duplicates_ignored[observer] = self.duplicates_ignored.get(observer, 0) + 1
            return False
        if tail is not None and entry.sequence > tail[1]:
            epoch, gap = tail[0], entry.sequence > tail[1] + 1
            previous = None if gap else tail[2]
            epoch_row = None
        else:
            # The observer's first record, or the first of a new epoch (sequence 0 must chain
            # to the genesis digest, a later one is checked against its own previous digest).
            epoch, gap, previous = self._next_epoch[observer], False, None
            restart = tail is not None
            self._next_epoch[observer] = epoch + 1
            epoch_row = (observer, epoch, entry.sequence, entry.stamp_ns)
        if not witness_chain.verify([entry], previous_digest=previous).ok:
            self.chain_breaks.setdefault(observer, entry.sequence)
            self.chain_break_epochs.setdefault(observer, epoch)
        elif restart:
            self.chain_restarts[observer] = self.chain_restarts.get(observer, 0) + 1
        self.pending.append((entry, epoch, gap, epoch_row))
        self._pending_rows.add(_witness_row(entry))
        self._observers.add(observer)
        self._tails[observer] = (epoch, entry.sequence, entry.digest)
        return self._owner.backlog >= self._owner.batch_size

    def add_signature(self, head):
        """
        Buffer a signed chain head (:class:`SignatureEntry`); return True when a flush is due.

        One the store already holds (every field equal; the signature topic is transient
        local, so a memory that restarts receives recent ones again) is a duplicate: ignored and
        counted in :attr:`duplicate_signatures`. Whether it holds is checked by
        :meth:`proofs`, not here.
        """
        self._owner._check_room()
        if not isinstance(head, SignatureEntry):
            raise InvalidRecord('kind', f'expected a SignatureEntry: {head!r}')
        for value, what in ((head.sequence, 'sequence'), (head.stamp_ns, 'stamp_ns')):
            if not 0 <= value <= INT64_MAX:
                raise InvalidRecord('out_of_range', f'{what} {value} outside int64')
        if head.observer not in self._observers:
            self._check_observers()
        row = _signature_row(head)
        if row in self._pending_signature_keys or self._is_stored_signature(row):
            self.duplicate_signatures += 1
            return False
        self.pending_signatures.append(row)
        self._pending_signature_keys.add(row)
        return self._owner.backlog >= self._owner.batch_size

    def _check_observers(self):
        if self.max_observers is not None and len(self._observers) >= self.max_observers:
            raise InvalidRecord('too_many_observers',
                                f'{len(self._observers)} observers already (the most)')

    def _is_stored_signature(self, row):
        return any(tuple(stored) == row for stored in self._connection.execute(
            f'SELECT {_SIGNATURE_COLUMNS} FROM witness_signatures WHERE observer = ? '
            'AND sequence = ? AND stamp_ns = ?', (row[0], row[1], row[3])))

    def current_epoch(self, observer):
        """Return ``(epoch, newest sequence)`` of ``observer``'s chain, or ``None``."""
        tail = self._tail(observer)
        return None if tail is None else tail[:2]

    def restart_counts(self):
        """Return ``{observer: restarts}`` over the whole store (epochs after the first)."""
        return {observer: len(epochs) - 1 for observer, epochs in self.epochs().items()
                if len(epochs) > 1}

    def _is_stored(self, entry):
        """Tell whether exactly this record (every field, not only its digest) is stored."""
        row = _witness_row(entry)
        if row in self._pending_rows:
            return True
        return any(tuple(stored) == row for stored in self._connection.execute(
            f'SELECT {_WITNESS_COLUMNS} FROM witness WHERE observer = ? AND sequence = ? '
            'AND digest = ?', (entry.observer, entry.sequence, entry.digest)))

    def _predates(self, entry, epoch):
        """Tell whether ``entry`` is older than every record the store holds of ``epoch``."""
        connection = self._connection
        head = connection.execute(
            'SELECT sequence, stamp_ns FROM witness WHERE observer = ? AND epoch = ? '
            'ORDER BY sequence LIMIT 1', (entry.observer, epoch)).fetchone()
        if head is None:  # the epoch began in a batch not yet committed
            head = next(((e.sequence, e.stamp_ns) for e, pending_epoch, *_ in self.pending
                         if e.observer == entry.observer and pending_epoch == epoch), None)
        if head is None:  # retention dropped them all: the anchor and the epoch's first stamp
            anchor = connection.execute(
                'SELECT sequence FROM witness_anchor WHERE observer = ? AND epoch = ?',
                (entry.observer, epoch)).fetchone()
            first = connection.execute(
                'SELECT stamp_ns FROM witness_epochs WHERE observer = ? AND epoch = ?',
                (entry.observer, epoch)).fetchone()
            if anchor is None or first is None:
                return False
            head = (anchor[0] + 1, first[0])
        # A new run (a restart) starts later than the records it follows: its stamps are newer.
        return entry.sequence < head[0] and entry.stamp_ns <= head[1]

    def _tail(self, observer):
        """Return ``(epoch, sequence, digest)`` of the observer's newest record, or ``None``."""
        if observer not in self._tails:
            connection = self._connection
            # The newest stored record, else the anchor when retention dropped them all.
            tail = connection.execute(
                'SELECT epoch, sequence, digest FROM witness WHERE observer = ? '
                'ORDER BY epoch DESC, sequence DESC LIMIT 1', (observer,)).fetchone()
            tail = tail or connection.execute(
                'SELECT epoch, sequence, digest FROM witness_anchor WHERE observer = ?',
                (observer,)).fetchone()
            self._tails[observer] = tuple(tail) if tail else None
            newest = connection.execute(
                'SELECT max(epoch) FROM witness_epochs WHERE observer = ?',
                (observer,)).fetchone()[0]
            epochs = [-1 if newest is None else newest, -1 if tail is None else tail[0]]
            self._next_epoch[observer] = max(epochs) + 1
        return self._tails[observer]

    # -- inside the owner's transaction -------------------------------------------------------
    def insert_entries(self, connection, witness):
        """Insert buffered witness items (with their gaps and new epochs)."""
        connection.executemany(
            f'INSERT OR IGNORE INTO witness (epoch, {_WITNESS_COLUMNS}) '
            'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [(epoch,) + _witness_row(entry) for entry, epoch, *_ in witness])
        connection.executemany(
            'INSERT OR IGNORE INTO witness_gaps (observer, epoch, sequence) VALUES (?, ?, ?)',
            [(entry.observer, epoch, entry.sequence) for entry, epoch, gap, _ in witness if gap])
        connection.executemany(
            'INSERT OR IGNORE INTO witness_epochs (observer, epoch, first_sequence, stamp_ns) '
            'VALUES (?, ?, ?, ?)', [row for *_, row in witness if row is not None])

    def insert_signatures(self, connection, signatures):
        """Insert buffered signed-head rows."""
        connection.executemany(
            f'INSERT OR IGNORE INTO witness_signatures ({_SIGNATURE_COLUMNS}) '
            'VALUES (?, ?, ?, ?, ?, ?)', signatures)

    def committed(self, dropped):
        """Forget the buffer a commit took; ``dropped``: rows were dropped as unstorable."""
        self.pending, self._pending_rows = [], set()
        self.pending_signatures, self._pending_signature_keys = [], set()
        if dropped:
            # A dropped witness record may have been an observer's tail: read them again.
            self._tails.clear()

    def discard(self):
        """Drop the buffer (a failed import): the chains are as they are on disk."""
        self.committed(dropped=True)
        self._next_epoch.clear()
        self._observers = self._stored_observers()

    # -- reading ------------------------------------------------------------------------------
    def query(self, start_ns, end_ns, subject='', limit=1000, newest_first=False):
        """Return ``(entries, truncated)``: at most ``limit`` stamped in ``[start_ns, end_ns]``."""
        order = 'DESC' if newest_first else 'ASC'
        sql = f'SELECT {_WITNESS_COLUMNS} FROM witness WHERE stamp_ns BETWEEN ? AND ?'
        arguments = (start_ns, end_ns)
        if subject:
            sql += ' AND subject = ?'
            arguments += (subject,)
        rows = self._connection.execute(
            f'{sql} ORDER BY stamp_ns {order}, epoch {order}, sequence {order} LIMIT ?',
            arguments + (limit + 1,)).fetchall()
        entries = [_witness_from_row(row) for row in rows]
        return entries[:limit], len(entries) > limit

    def iter_entries(self, batch=10_000):
        """
        Yield every witness entry in chain order (observer, epoch, sequence).

        That is the order in which the memory received them, so importing them elsewhere
        rebuilds the same epochs.
        """
        last = ('', -1, -1)
        while True:
            rows = self._connection.execute(
                f'SELECT {_WITNESS_COLUMNS}, epoch FROM witness '
                'WHERE (observer, epoch, sequence) > (?, ?, ?) '
                'ORDER BY observer, epoch, sequence LIMIT ?', (*last, batch)).fetchall()
            if not rows:
                return
            yield from (_witness_from_row(row[:10]) for row in rows)
            last = (rows[-1][0], rows[-1][10], rows[-1][1])

    def iter_signatures(self, observer=None):
        """Yield every stored signed head (of ``observer``), by observer, sequence and stamp."""
        where, arguments = ('WHERE observer = ? ', (observer,)) if observer is not None else (
            '', ())
        for row in self._connection.execute(
                f'SELECT {_SIGNATURE_COLUMNS} FROM witness_signatures {where}'
                'ORDER BY observer, sequence, stamp_ns, id', arguments):
            yield _signature_from_row(row)

    def signature_count(self):
        return self._connection.execute('SELECT count(*) FROM witness_signatures').fetchone()[0]

    def stored_count(self):
        return self._connection.execute('SELECT count(*) FROM witness').fetchone()[0]

    def epochs(self):
        """
        Return ``{observer: [(epoch, first sequence received, its stamp_ns), ...]}``.

        Every epoch after an observer's first is a chain restart.
        """
        epochs = {}
        for observer, epoch, first, stamp in self._connection.execute(
                'SELECT observer, epoch, first_sequence, stamp_ns FROM witness_epochs '
                'ORDER BY observer, epoch'):
            epochs.setdefault(observer, []).append((epoch, first, stamp))
        return epochs

    # -- checking -----------------------------------------------------------------------------
    def proofs(self, trust=None):
        """
        Check every observer's signed heads; return ``{observer: witness_chain.Proof}``.

        ``trust`` (a ``pki.TrustStore``): each signature must be by a certificate the mesh CA
        issued to the observer's host (valid at the signature's stamp, not revoked); without,
        signatures are checked for internal consistency only. A chain's records from its first
        break on are left out (the break is reported by :meth:`verify`), and each epoch is
        split at its known gaps: a signature vouches only for the unbroken run it ends.
        """
        breaks = self._verify_chains()
        proofs = {}
        observers = [row[0] for row in self._connection.execute(
            'SELECT observer FROM witness UNION SELECT observer FROM witness_signatures')]
        for observer in sorted(observers):
            _, _, gaps, chain = self._load_chain(observer)
            cut = breaks.get(observer)
            runs = []
            for epoch in sorted(chain):
                entries = chain[epoch]
                if cut is not None and epoch > cut[0]:
                    break
                if cut is not None and epoch == cut[0]:
                    entries = [e for e in entries if e.sequence < cut[1]]
                starts = [0] + [i for i in range(1, len(entries))
                                if (epoch, entries[i].sequence) in gaps
                                and entries[i].sequence > entries[i - 1].sequence + 1]
                runs += [(epoch, entries[a:b])
                         for a, b in zip(starts, starts[1:] + [len(entries)]) if b > a]
            proofs[observer] = witness_chain.prove(
                observer, runs, list(self.iter_signatures(observer)), trust)
        return proofs

    def _load_chain(self, observer):
        """Return the anchor, epochs, gaps and ``{epoch: [entries]}`` of one observer."""
        connection = self._connection
        anchor = connection.execute(
            'SELECT epoch, sequence, digest FROM witness_anchor WHERE observer = ?',
            (observer,)).fetchone()
        epochs = dict(connection.execute(
            'SELECT epoch, first_sequence FROM witness_epochs WHERE observer = ?',
            (observer,)).fetchall())
        gaps = set(connection.execute(
            'SELECT epoch, sequence FROM witness_gaps WHERE observer = ?', (observer,)))
        chain = {}
        for row in connection.execute(
                f'SELECT epoch, {_WITNESS_COLUMNS} FROM witness WHERE observer = ? '
                'ORDER BY epoch, sequence', (observer,)):
            chain.setdefault(row[0], []).append(_witness_from_row(row[1:]))
        return anchor, epochs, gaps, chain

    def verify(self):
        """Recompute every witness chain; return ``{observer: first bad sequence}``."""
        return {observer: sequence for observer, (_, sequence) in self._verify_chains().items()}

    def _verify_chains(self):
        """Return ``{observer: (epoch, sequence)}`` of each chain's first bad record."""
        breaks = {}
        observers = [row[0] for row in self._connection.execute(
            'SELECT DISTINCT observer FROM witness')]
        for observer in observers:
            anchor, epochs, gaps, chain = self._load_chain(observer)
            # The sequence the chain had reached before each epoch (for the first kept epoch,
            # the anchor's when retention dropped its predecessor).
            reached = anchor[1] if anchor else None
            for epoch in sorted(set(epochs) | set(chain)):
                entries = chain.get(epoch)
                if not entries:
                    # Recorded with its first record in one commit: an epoch without records
                    # that retention has not passed was deleted.
                    if anchor is None or epoch > anchor[0]:
                        breaks[observer] = (epoch, epochs[epoch])
                        break
                    continue
                bad = _first_break_in_epoch(
                    entries, {s for e, s in gaps if e == epoch}, epochs.get(epoch),
                    anchor=anchor[1:] if anchor and anchor[0] == epoch else None,
                    reached=reached if epoch > min(epochs, default=epoch) else None)
                if bad is not None:
                    breaks[observer] = (epoch, bad)
                    break
                reached = entries[-1].sequence
        return breaks


def _first_break_in_epoch(entries, gaps, first_sequence, anchor, reached):
    """
    Return the sequence of the first record breaking one epoch's chain, or ``None``.

    The epoch continues ``anchor`` (``(sequence, digest)`` of the last record retention
    dropped) when there is one. Else its first record must be the first one the memory
    received (``first_sequence``: an edited or deleted head is a break), and a restart (an
    epoch after the first; ``reached`` is the sequence its predecessor had reached) must begin
    at or below ``reached``: a chain that went on would have continued the epoch before, so an
    epoch split off the middle of another is a break. Sequence 0 must chain to the genesis
    digest. The chain resumes after a known gap (records the memory never received, where the
    sequence jumps): there only the record's own digest can be checked. A record missing
    anywhere else is a break.
    """
    head = entries[0]
    start_digest = None
    if anchor is not None:
        start_digest = anchor[1]
    elif head.sequence != first_sequence or (reached is not None and head.sequence > reached):
        return head.sequence
    starts = [0] + [i for i in range(1, len(entries))
                    if entries[i].sequence in gaps
                    and entries[i].sequence > entries[i - 1].sequence + 1]
    for start, end in zip(starts, starts[1:] + [len(entries)]):
        segment = entries[start:end]
        result = witness_chain.verify(segment, start_digest if start == 0 else None)
        if not result.ok:
            return segment[result.bad_index].sequence
    return None


# The witness table's columns a WitnessEntry is made of (the epoch is the ledger's own).
_WITNESS_COLUMNS = ('observer, sequence, stamp_ns, layer, subject, event, names, "values", '
                    'previous_digest, digest')


def _witness_row(entry):
    return (entry.observer, entry.sequence, entry.stamp_ns, entry.layer, entry.subject,
            entry.event, json.dumps(list(entry.names)), json.dumps(list(entry.values)),
            entry.previous_digest, entry.digest)


def _witness_from_row(row):
    observer, sequence, stamp_ns, layer, subject, event, names, values, previous, digest = row
    return WitnessEntry(sequence=sequence, layer=layer, stamp_ns=stamp_ns, observer=observer,
                        subject=subject, event=event, names=tuple(json.loads(names)),
                        values=tuple(json.loads(values)), previous_digest=previous,
                        digest=digest)


# The signed heads' columns a SignatureEntry is made of.
_SIGNATURE_COLUMNS = 'observer, sequence, digest, stamp_ns, certificate, signature'


def _signature_row(head):
    return (head.observer, head.sequence, head.digest, head.stamp_ns, bytes(head.certificate),
            bytes(head.signature))


def _signature_from_row(row):
    observer, sequence, digest, stamp_ns, certificate, signature = row
    return SignatureEntry(observer, sequence, digest, stamp_ns, bytes(certificate),
                          bytes(signature))
