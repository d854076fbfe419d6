"""
The temporal memory store: one crash-safe SQLite file per cell (WAL, ``synchronous=FULL``).

Records are buffered and written in batches, one transaction each. A record is acknowledged
only once its transaction has committed durably, and :attr:`MemoryStore.acknowledged` (the
high-water mark the node publishes) only ever counts acknowledged records; a batch whose commit
fails stays buffered and is retried, so no acknowledged record can be lost and no unwritten one
is ever acknowledged. On open the file is checked (``quick_check``), migrated forward and its
witness chains verified; breaks are reported, never repaired.

Witness chains have **epochs**. A chain is identified by its observer (the witness node's name)
and its epoch: a witness restarted without a persistent log starts a new chain at sequence 0,
chained to the genesis digest. The store accepts that record as the start of the observer's
next epoch (a counted chain restart, :attr:`MemoryStore.chain_restarts`) and verifies each epoch
as a chain of its own. Within an epoch every edit, deletion and reorder is still a break at the
record where it shows, and so is a "restart" anywhere but at sequence 0 with the genesis digest.
A record the store already holds (the witness topic is transient local, so a memory that
restarts receives up to the witness's history depth of records again) is a duplicate: ignored
and counted in :attr:`MemoryStore.duplicates_ignored`.

Signed chain heads (``witness/signatures``, :class:`~.records.SignatureEntry`) are kept beside
the chains, committed in the same transactions (not part of the acknowledged mark, which counts
records). :meth:`MemoryStore.witness_proofs` checks them: how far each observer's chain is
proven to be its host's, the first bad record and the unsigned tail.
"""

from dataclasses import dataclass, field
import functools
import json
import os
import pathlib
import sqlite3

from becomingone_core import witness_chain
from becomingone_core.input_rules import INT64_MAX
from becomingone_core.memory import retention, schema
from becomingone_core.memory.records import (
    Bucket, InvalidRecord, KINDS, ns_to_stamp, SignatureEntry, STATE_KINDS, StateRecord, SYNC,
    WITNESS, WitnessEntry)
from becomingone_core.memory.schema import CorruptStore, StoreError

_SQLITE_MAGIC = b'SQLite format 3\x00'
# Errors one row causes (a value SQLite cannot bind or a constraint it breaks): that row is
# dropped as unstorable and the rest committed. Anything else (I/O, disk full, a lock) keeps
# every buffered record for the next attempt.
_ROW_ERRORS = (OverflowError, TypeError, ValueError, sqlite3.InterfaceError,
               sqlite3.IntegrityError, sqlite3.DataError)
#: The kind signed heads are counted under (duplicates, unstorable).
SIGNATURES = 'witness_signature'


def default_path(cell='cell', environ=None):
    """Return ``$XDG_STATE_HOME/becomingone/<cell>.sqlite3`` (``~/.local/state`` fallback)."""
    environ = os.environ if environ is None else environ
    state = environ.get('XDG_STATE_HOME') or os.path.join(
        os.path.expanduser('~'), '.local', 'state')
    return pathlib.Path(state) / 'becomingone' / f'{cell}.sqlite3'


@dataclass(frozen=True)
class Ack:
    """The acknowledged high-water mark: records durably stored, per kind and in total."""

    counts: dict = field(default_factory=dict)
    newest_ns: int = 0

    @property
    def total(self):
        return sum(self.counts.values())


@dataclass
class QueryResult:
    """Records (or witness entries) and buckets of a query, and whether more matched."""

    records: list
    buckets: list
    truncated: bool


@dataclass(frozen=True)
class Reconstruction:
    """The sync state at a time: from a record, a bucket, or unknown."""

    known: bool
    source: str = ''
    stamp_ns: int = 0
    record: StateRecord = None
    bucket: Bucket = None


class MemoryStore:
    """
    One cell's temporal memory in one SQLite file.

    ``add``/``add_witness`` buffer a record (they return True once ``batch_size`` records are
    waiting), ``flush`` commits the buffer durably and returns the new :class:`Ack`.
    """

    def __init__(self, path, policy=None, batch_size=1000, max_backlog=100_000,
                 create=True, read_only=False, max_observers=None):
        self.path = pathlib.Path(path)
        self.policy = policy or retention.RetentionPolicy()
        self.batch_size = batch_size
        self.max_backlog = max_backlog
        #: Witness observers (chains) the store accepts; ``None``: any number (offline tools).
        self.max_observers = max_observers
        self.read_only = read_only
        self._pending = []
        self._pending_witness = []
        self._pending_buckets = []
        self._pending_signatures = []
        self._pending_signature_keys = set()
        self._layout_keys, self._layout_ids = {}, {}
        self._tails = {}
        self._next_epoch = {}
        self._pending_rows = set()
        self._pending_record_rows = set()
        self._pending_bucket_rows = set()
        self.chain_restarts = {}
        self.duplicates_ignored = {}
        #: Identical resonance, sync and mesh records and buckets skipped (imports), by kind.
        self.duplicate_records = {}
        self._connection = self._connect(create)
        try:
            self._prepare()
            self.acknowledged = self._read_ack()
            self.unstorable = self._read_unstorable()
            self._observers = {row[0] for row in self._connection.execute(
                'SELECT observer FROM witness_epochs UNION SELECT observer FROM witness_anchor')}
            self._load_layouts()
            self.chain_breaks, self.chain_break_epochs = {}, {}
            for observer, (epoch, sequence) in self._verify_chains().items():
                self.chain_breaks[observer] = sequence
                self.chain_break_epochs[observer] = epoch
        except sqlite3.DatabaseError as error:
            self._connection.close()
            raise CorruptStore(f'{self.path}: not a usable memory store ({error})') from error
        except StoreError:
            self._connection.close()
            raise

    # -- opening ------------------------------------------------------------------------------
    def _connect(self, create):
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists:
            with open(self.path, 'rb') as handle:
                if handle.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
                    raise CorruptStore(f'{self.path}: not an SQLite file (corrupt, or a '
                                       f'foreign file); not a BecomingONE memory store')
        elif not create or self.read_only:
            raise StoreError(f'{self.path}: no such memory store')
        else:
            # Created when a store is opened, never at import time.
            self.path.parent.mkdir(parents=True, exist_ok=True)
        uri = self.path.resolve().as_uri() + ('?mode=ro' if self.read_only else '')
        try:
            return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10.0,
                                   check_same_thread=False)
        except sqlite3.Error as error:
            raise StoreError(f'{self.path}: cannot open ({error})') from error

    def _prepare(self):
        connection = self._connection
        if not self.read_only:
            tables = connection.execute('SELECT count(*) FROM sqlite_master').fetchone()[0]
            if not tables:
                # Lets retention hand freed pages back to the file system (only before tables).
                connection.execute('PRAGMA auto_vacuum = INCREMENTAL')
            mode = connection.execute('PRAGMA journal_mode = WAL').fetchone()[0]
            if mode.lower() != 'wal':
                raise StoreError(f'{self.path}: cannot switch to WAL mode (got {mode!r})')
        # FULL: in WAL mode, NORMAL may lose the last commits on power loss, and a commit is
        # an acknowledgement here.
        connection.execute('PRAGMA synchronous = FULL')
        # Keep the write-ahead log from staying at its largest size after a burst.
        connection.execute('PRAGMA journal_size_limit = 8388608')
        if self.read_only:
            version = connection.execute('PRAGMA user_version').fetchone()[0]
            if version != schema.VERSION:
                raise StoreError(f'{self.path}: schema version {version}, expected '
                                 f'{schema.VERSION} (open it writable once to migrate)')
        else:
            schema.migrate(connection, self.path)
        check = connection.execute('PRAGMA quick_check').fetchone()[0]
        if check != 'ok':
            raise CorruptStore(f'{self.path}: integrity check failed: {check}')

    def _read_ack(self):
        counts = dict.fromkeys(KINDS, 0)
        newest = 0
        for kind, acknowledged, newest_ns in self._connection.execute(
                'SELECT kind, acknowledged, newest_ns FROM counters'):
            counts[kind] = acknowledged
            newest = max(newest, newest_ns)
        return Ack(counts, newest)

    def _read_unstorable(self):
        row = self._connection.execute(
            "SELECT value FROM meta WHERE key = 'unstorable'").fetchone()
        return json.loads(row[0]) if row else {}

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing ------------------------------------------------------------------------------
    @property
    def backlog(self):
        """Return how many records are buffered but not yet acknowledged."""
        return len(self._pending) + len(self._pending_witness) + len(self._pending_signatures)

    def add(self, record, skip_duplicates=False):
        """
        Buffer a :class:`StateRecord`; return True when a flush is due.

        With ``skip_duplicates`` (imports) a record equal in every field to one stored or
        buffered is skipped and counted in :attr:`duplicate_records`.
        """
        self._check_room()
        if not isinstance(record, StateRecord) or record.kind not in STATE_KINDS:
            raise InvalidRecord('kind', f'expected a resonance, sync or mesh record: {record!r}')
        # Field names go to the layouts table once; each row keeps only the values.
        fields = record.fields
        values = [_without_stamp(value) if key == 'header' else value
                  for key, value in fields.items()]
        row = (record.kind, record.stamp_ns, record.source, record.coherence, record.t.real,
               record.t.imag, tuple(fields), json.dumps(values, separators=(',', ':')))
        if skip_duplicates and (row in self._pending_record_rows or self._is_stored_record(row)):
            self._count_duplicate(record.kind)
            return False
        self._pending.append(row)
        self._pending_record_rows.add(row)
        return self.backlog >= self.batch_size

    def _count_duplicate(self, kind):
        self.duplicate_records[kind] = self.duplicate_records.get(kind, 0) + 1

    def _is_stored_record(self, row):
        kind, stamp_ns, source, coherence, t_real, t_imag, keys, values = row
        if not 0 <= stamp_ns <= INT64_MAX:
            return False  # SQLite cannot hold it, so it is not stored (the commit drops it)
        return any(tuple(stored) == (coherence, t_real, t_imag, json.dumps(keys), values)
                   for stored in self._connection.execute(
                       'SELECT r.coherence, r.t_real, r.t_imag, l.keys, r.fields FROM records r '
                       'JOIN layouts l ON l.id = r.layout '
                       'WHERE r.kind = ? AND r.stamp_ns = ? AND r.source = ?',
                       (kind, stamp_ns, source)))

    def _load_layouts(self):
        for layout, keys in self._connection.execute('SELECT id, keys FROM layouts'):
            self._layout_keys[layout] = tuple(json.loads(keys))
            self._layout_ids[self._layout_keys[layout]] = layout

    def _layout_id(self, connection, keys):
        # Inside the commit's transaction, so two writers of one file agree on every id.
        if keys in self._layout_ids:
            return self._layout_ids[keys]
        text = json.dumps(keys)
        connection.execute('INSERT OR IGNORE INTO layouts (keys) VALUES (?)', (text,))
        return connection.execute('SELECT id FROM layouts WHERE keys = ?', (text,)).fetchone()[0]

    def _decode(self, layout, values, stamp_ns):
        if layout not in self._layout_keys:  # written by another connection since we opened
            self._load_layouts()
        fields = dict(zip(self._layout_keys[layout], json.loads(values)))
        if isinstance(fields.get('header'), dict):
            fields['header'] = {'stamp': ns_to_stamp(stamp_ns), **fields['header']}
        return fields

    def _record_from_row(self, row):
        kind, stamp_ns, source, coherence, t_real, t_imag, layout, values = row[:8]
        return StateRecord(kind, stamp_ns, source, coherence, complex(t_real, t_imag),
                           decode=functools.partial(self._decode, layout, values, stamp_ns))

    def add_witness(self, entry):
        """
        Buffer a :class:`WitnessEntry`; return True when a flush is due.

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
        self._check_room()
        observer = entry.observer
        # The duplicate checks below look the sequence up in SQLite, which holds int64 only.
        if not 0 <= entry.sequence <= INT64_MAX:
            raise InvalidRecord('out_of_range', f'sequence {entry.sequence} outside int64')
        if observer not in self._observers:
            # Per-observer state (tails, epochs, counters) must not grow with every name a
            # publisher invents.
            if self.max_observers is not None and len(self._observers) >= self.max_observers:
                raise InvalidRecord('too_many_observers',
                                    f'{len(self._observers)} observers already (the most)')
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
        self._pending_witness.append((entry, epoch, gap, epoch_row))
        self._pending_rows.add(_witness_row(entry))
        self._observers.add(observer)
        self._tails[observer] = (epoch, entry.sequence, entry.digest)
        return self.backlog >= self.batch_size

    def add_signature(self, head):
        """
        Buffer a signed chain head (:class:`SignatureEntry`); return True when a flush is due.

        One the store already holds (every field equal; the signature topic is transient
        local, so a memory that restarts receives recent ones again) is a duplicate: ignored and
        counted in :attr:`duplicate_records` (under ``witness_signature``). Whether it holds is
        checked by :meth:`witness_proofs`, not here.
        """
        self._check_room()
        if not isinstance(head, SignatureEntry):
            raise InvalidRecord('kind', f'expected a SignatureEntry: {head!r}')
        for value, what in ((head.sequence, 'sequence'), (head.stamp_ns, 'stamp_ns')):
            if not 0 <= value <= INT64_MAX:
                raise InvalidRecord('out_of_range', f'{what} {value} outside int64')
        if head.observer not in self._observers and self.max_observers is not None and \
                len(self._observers) >= self.max_observers:
            raise InvalidRecord('too_many_observers',
                                f'{len(self._observers)} observers already (the most)')
        row = _signature_row(head)
        if row in self._pending_signature_keys or self._is_stored_signature(row):
            self._count_duplicate(SIGNATURES)
            return False
        self._pending_signatures.append(row)
        self._pending_signature_keys.add(row)
        return self.backlog >= self.batch_size

    def _is_stored_signature(self, row):
        return any(tuple(stored) == row for stored in self._connection.execute(
            f'SELECT {_SIGNATURE_COLUMNS} FROM witness_signatures WHERE observer = ? '
            'AND sequence = ? AND stamp_ns = ?', (row[0], row[1], row[3])))

    def current_epoch(self, observer):
        """Return ``(epoch, newest sequence)`` of ``observer``'s chain, or ``None``."""
        tail = self._tail(observer)
        return None if tail is None else tail[:2]

    def chain_restart_counts(self):
        """Return ``{observer: restarts}`` over the whole store (epochs after the first)."""
        return {observer: len(epochs) - 1 for observer, epochs in self.witness_epochs().items()
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
            head = next(((e.sequence, e.stamp_ns) for e, pending_epoch, *_ in self._pending_witness
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

    def _check_room(self):
        if self.read_only:
            raise StoreError(f'{self.path}: opened read-only')
        if self.backlog >= self.max_backlog:
            raise InvalidRecord('backlog', f'{self.backlog} records waiting for the disk')

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

    def flush(self, isolate=True):
        """
        Commit every buffered record in one durable transaction; return the new :class:`Ack`.

        Any failure rolls the transaction back. A failure of the disk or the file (I/O error,
        disk full, a lock: anything but a row error) keeps every record buffered for the next
        flush and raises :class:`StoreError`. A record SQLite cannot take (an integer past
        int64, a value it cannot bind: see ``_ROW_ERRORS``) must not block the others forever:
        with ``isolate`` the batch is written again row by row (a savepoint each, still one
        transaction), the offending records are dropped and counted in :attr:`unstorable`
        (kept in the file) and the rest is committed and acknowledged. Without ``isolate``
        (imports: all or nothing) a row error raises :class:`StoreError` like any other, with
        the buffer kept.
        """
        if not (self.backlog or self._pending_buckets):
            return self.acknowledged
        batch = (self._pending, self._pending_witness, self._pending_buckets,
                 self._pending_signatures)
        try:
            layouts, dropped = self._write(*batch), {}
        except BaseException as error:  # noqa: B902 - never leave the transaction open
            self._rollback()
            if not isinstance(error, Exception):
                raise
            if not (isolate and isinstance(error, _ROW_ERRORS)):
                raise self._commit_failed(error) from error
            try:
                layouts, dropped, batch = self._write_isolated(*batch)
            except BaseException as retry_error:  # noqa: B902 - as above
                self._rollback()
                if not isinstance(retry_error, Exception):
                    raise
                raise self._commit_failed(retry_error) from retry_error
        records, witness, _, _ = batch
        added, newest = self._added(records, witness)
        self._pending, self._pending_witness, self._pending_buckets = [], [], []
        self._pending_rows, self._pending_record_rows = set(), set()
        self._pending_bucket_rows = set()
        self._pending_signatures, self._pending_signature_keys = [], set()
        for keys, layout in layouts.items():
            self._layout_ids[keys], self._layout_keys[layout] = layout, keys
        if dropped:
            for kind, count in dropped.items():
                self.unstorable[kind] = self.unstorable.get(kind, 0) + count
            # A dropped witness record may have been an observer's tail: read them again.
            self._tails.clear()
        counts = dict(self.acknowledged.counts)
        for kind, count in added.items():
            counts[kind] = counts.get(kind, 0) + count
        self.acknowledged = Ack(counts, newest)
        return self.acknowledged

    def _commit_failed(self, error):
        return StoreError(f'{self.path}: commit failed, {self.backlog} records kept for the '
                          f'next attempt ({type(error).__name__}: {str(error)[:200]})')

    def _rollback(self):
        if self._connection.in_transaction:
            self._connection.execute('ROLLBACK')

    def _added(self, records, witness):
        """Return records per kind and the newest stamp the acknowledged mark moves to."""
        added = {}
        newest = self.acknowledged.newest_ns
        for row in records:
            added[row[0]] = added.get(row[0], 0) + 1
            newest = max(newest, row[1])
        if witness:
            added[WITNESS] = len(witness)
            newest = max(newest, max(entry.stamp_ns for entry, *_ in witness))
        return added, newest

    def _write(self, records, witness, buckets, signatures, dropped=None):
        """Write one batch and its counters in one transaction; return the layout ids used."""
        connection = self._connection
        connection.execute('BEGIN IMMEDIATE')
        layouts = {}
        self._insert_records(connection, records, layouts)
        self._insert_witness(connection, witness)
        self._insert_buckets(connection, buckets)
        self._insert_signatures(connection, signatures)
        self._write_counters(connection, records, witness, dropped)
        connection.execute('COMMIT')
        return layouts

    def _write_isolated(self, records, witness, buckets, signatures):
        """
        Write a batch row by row in one transaction, a savepoint per row, dropping bad rows.

        Return the layout ids used, the records dropped per kind and the batch that was kept.
        """
        connection = self._connection
        connection.execute('BEGIN IMMEDIATE')
        layouts, dropped = {}, {}
        kept = ([], [], [], [])
        for index, (rows, insert, kind_of) in enumerate((
                (records, lambda row: self._insert_records(connection, [row], layouts),
                 lambda row: row[0]),
                (witness, lambda item: self._insert_witness(connection, [item]),
                 lambda item: WITNESS),
                (buckets, lambda row: self._insert_buckets(connection, [row]),
                 lambda row: 'buckets'),
                (signatures, lambda row: self._insert_signatures(connection, [row]),
                 lambda row: SIGNATURES))):
            for row in rows:
                connection.execute('SAVEPOINT one_row')
                before = dict(layouts)
                try:
                    insert(row)
                except _ROW_ERRORS:
                    connection.execute('ROLLBACK TO one_row')
                    layouts.clear()
                    layouts.update(before)
                    dropped[kind_of(row)] = dropped.get(kind_of(row), 0) + 1
                else:
                    kept[index].append(row)
                connection.execute('RELEASE one_row')
        self._write_counters(connection, kept[0], kept[1], dropped)
        connection.execute('COMMIT')
        return layouts, dropped, kept

    def _insert_records(self, connection, records, layouts):
        for keys in {row[6] for row in records} - set(layouts):
            layouts[keys] = self._layout_id(connection, keys)
        connection.executemany(
            'INSERT INTO records (kind, stamp_ns, source, coherence, t_real, t_imag, layout, '
            'fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            [row[:6] + (layouts[row[6]], row[7]) for row in records])

    def _insert_witness(self, connection, witness):
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

    def _insert_signatures(self, connection, signatures):
        connection.executemany(
            f'INSERT OR IGNORE INTO witness_signatures ({_SIGNATURE_COLUMNS}) '
            'VALUES (?, ?, ?, ?, ?, ?)', signatures)

    def _insert_buckets(self, connection, buckets):
        connection.executemany(
            'INSERT INTO buckets VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ' + retention.UPSERT_BUCKET,
            buckets)

    def _write_counters(self, connection, records, witness, dropped):
        added, newest = self._added(records, witness)
        connection.executemany(
            'INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT (kind) DO UPDATE SET '
            'acknowledged = acknowledged + excluded.acknowledged, '
            'newest_ns = max(newest_ns, excluded.newest_ns)',
            [(kind, count, newest) for kind, count in added.items()])
        if dropped:
            total = dict(self.unstorable)
            for kind, count in dropped.items():
                total[kind] = total.get(kind, 0) + count
            connection.execute("INSERT OR REPLACE INTO meta VALUES ('unstorable', ?)",
                               (json.dumps(total, sort_keys=True),))

    def add_buckets(self, buckets, skip_duplicates=False):
        """
        Buffer downsampled buckets (e.g. imported ones) for the next flush; return how many.

        A bucket of the same span as a stored one is merged into it, unless it is identical
        and ``skip_duplicates`` is set: then it is skipped and counted in
        :attr:`duplicate_records` (under ``buckets``).
        """
        self._check_room()
        added = 0
        for b in buckets:
            row = (b.kind, b.resolution_ns, b.start_ns, b.source, b.count, b.coherence_mean,
                   b.coherence_min, b.coherence_max, b.t_mean.real, b.t_mean.imag)
            if skip_duplicates and (row in self._pending_bucket_rows
                                    or self._is_stored_bucket(row)):
                self._count_duplicate('buckets')
                continue
            self._pending_buckets.append(row)
            self._pending_bucket_rows.add(row)
            added += 1
        return added

    def _is_stored_bucket(self, row):
        if not all(0 <= value <= INT64_MAX for value in (row[1], row[2], row[4])):
            return False
        stored = self._connection.execute(
            'SELECT * FROM buckets WHERE kind = ? AND start_ns = ? AND resolution_ns = ? '
            'AND source = ?', (row[0], row[2], row[1], row[3])).fetchone()
        return stored is not None and tuple(stored) == row

    def discard(self):
        """Drop every buffered record (a failed import): the store is as it was on disk."""
        self._pending, self._pending_witness, self._pending_buckets = [], [], []
        self._pending_signatures, self._pending_signature_keys = [], set()
        self._pending_rows, self._pending_record_rows = set(), set()
        self._pending_bucket_rows = set()
        self._tails.clear()
        self._next_epoch.clear()
        self._observers = {row[0] for row in self._connection.execute(
            'SELECT observer FROM witness_epochs UNION SELECT observer FROM witness_anchor')}

    def _transaction(self, work, what):
        connection = self._connection
        try:
            connection.execute('BEGIN IMMEDIATE')
            result = work(connection)
            connection.execute('COMMIT')
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute('ROLLBACK')
            raise StoreError(f'{self.path}: {what} failed ({error})') from error
        return result

    # -- retention ----------------------------------------------------------------------------
    def apply_retention(self, now_ns=None, max_rows=50_000):
        """
        Run one bounded retention step (see :mod:`retention`) and return its report.

        ``now_ns`` defaults to the newest acknowledged stamp, so retention follows the data's
        own clock (a replayed recording is not downsampled just because it is old).
        """
        now_ns = self.acknowledged.newest_ns if now_ns is None else now_ns
        report = self._transaction(
            lambda connection: retention.apply(connection, self.policy, now_ns, max_rows),
            'retention')
        if not report.done:
            # Hand freed pages back to the file system. executescript() steps the pragma to
            # the end; execute() would free a single page.
            self._connection.executescript('PRAGMA incremental_vacuum;')
        return report

    # -- reading ------------------------------------------------------------------------------
    def query(self, kind, start_ns=0, end_ns=None, source='', limit=1000, newest_first=False):
        """
        Return records of ``kind`` stamped in ``[start_ns, end_ns]`` and buckets overlapping it.

        ``source`` restricts to one transducer (resonance), mesh node (mesh) or subject
        (witness). At most ``limit`` items come back, ordered by time (buckets hold the older
        history, so they come first oldest-first and last newest-first); ``truncated`` says
        more matched.
        """
        if kind not in KINDS:
            raise ValueError(f'kind {kind!r} is not one of {list(KINDS)}')
        if limit <= 0:
            raise ValueError('limit must be > 0')
        end_ns = 2**63 - 1 if end_ns is None else end_ns
        order = 'DESC' if newest_first else 'ASC'
        if kind == WITNESS:
            rows = self._select(
                f'SELECT {_WITNESS_COLUMNS} FROM witness WHERE stamp_ns BETWEEN ? AND ?',
                (start_ns, end_ns), 'subject', source,
                f'stamp_ns {order}, epoch {order}, sequence {order}', limit + 1)
            entries = [_witness_from_row(row) for row in rows]
            return QueryResult(entries[:limit], [], len(entries) > limit)

        def fetch_records(count):
            return [self._record_from_row(row) for row in self._select(
                'SELECT kind, stamp_ns, source, coherence, t_real, t_imag, layout, fields '
                'FROM records '
                'WHERE kind = ? AND stamp_ns BETWEEN ? AND ?', (kind, start_ns, end_ns),
                'source', source, f'stamp_ns {order}, id {order}', count)]

        # A lower bound on start_ns keeps the index scan to the range itself.
        widest = self._widest_bucket(kind)

        def fetch_buckets(count):
            return [_bucket_from_row(row) for row in self._select(
                'SELECT * FROM buckets WHERE kind = ? AND start_ns BETWEEN ? AND ? AND '
                'start_ns + resolution_ns > ?', (kind, start_ns - widest, end_ns, start_ns),
                'source', source, f'start_ns {order}, resolution_ns {order}', count)]

        first, second = ((fetch_records, fetch_buckets) if newest_first else
                         (fetch_buckets, fetch_records))
        items = first(limit + 1)
        if len(items) <= limit:
            items += second(limit + 1 - len(items))
        truncated = len(items) > limit
        items = items[:limit]
        return QueryResult([i for i in items if isinstance(i, StateRecord)],
                           [i for i in items if isinstance(i, Bucket)], truncated)

    def _widest_bucket(self, kind):
        row = self._connection.execute(
            'SELECT max(resolution_ns) FROM buckets WHERE kind = ?', (kind,)).fetchone()
        return row[0] or 0

    def _select(self, sql, arguments, source_column, source, order, limit):
        if source:
            sql += f' AND {source_column} = ?'
            arguments += (source,)
        return self._connection.execute(f'{sql} ORDER BY {order} LIMIT ?',
                                        arguments + (limit,)).fetchall()

    def reconstruct(self, stamp_ns, tolerance_ns=5_000_000_000):
        """
        Return the sync state at ``stamp_ns``: the nearest record, else the bucket covering it.

        Whichever of a record and a bucket lies closer wins (a record on a tie); nothing within
        ``tolerance_ns`` means unknown.
        """
        best = Reconstruction(False)
        best_distance = tolerance_ns
        for comparison, order in (('<=', 'DESC'), ('>=', 'ASC')):
            row = self._connection.execute(
                'SELECT kind, stamp_ns, source, coherence, t_real, t_imag, layout, fields '
                'FROM records '
                f"WHERE kind = 'sync' AND stamp_ns {comparison} ? "
                f'ORDER BY stamp_ns {order} LIMIT 1', (stamp_ns,)).fetchone()
            if row is not None and abs(row[1] - stamp_ns) <= best_distance:
                best_distance = abs(row[1] - stamp_ns)
                best = Reconstruction(True, 'record', row[1],
                                      record=self._record_from_row(row))
        widest = self._widest_bucket(SYNC)
        for row in self._connection.execute(
                "SELECT * FROM buckets WHERE kind = 'sync' AND start_ns BETWEEN ? AND ?",
                (stamp_ns - tolerance_ns - widest, stamp_ns + tolerance_ns)):
            bucket = _bucket_from_row(row)
            distance = max(0, bucket.start_ns - stamp_ns, stamp_ns - bucket.end_ns + 1)
            if distance < best_distance or (distance == best_distance and not best.known):
                best_distance = distance
                best = Reconstruction(True, 'bucket', bucket.start_ns, bucket=bucket)
        return best

    def iter_records(self, kind, batch=10_000):
        """
        Yield every full-resolution record of ``kind`` in time order.

        Witness entries come in chain order instead (observer, epoch, sequence), the order in
        which the memory received them, so importing them elsewhere rebuilds the same epochs.
        """
        last = (-1, -1)
        if kind == WITNESS:
            last = ('', -1, -1)
        while True:
            if kind == WITNESS:
                rows = self._connection.execute(
                    f'SELECT {_WITNESS_COLUMNS}, epoch FROM witness '
                    'WHERE (observer, epoch, sequence) > (?, ?, ?) '
                    'ORDER BY observer, epoch, sequence LIMIT ?', (*last, batch)).fetchall()
                items = [_witness_from_row(row[:10]) for row in rows]
                keys = [(row[0], row[10], row[1]) for row in rows]
            else:
                rows = self._connection.execute(
                    'SELECT kind, stamp_ns, source, coherence, t_real, t_imag, layout, fields, id '
                    'FROM records WHERE kind = ? AND (stamp_ns, id) > (?, ?) '
                    'ORDER BY stamp_ns, id LIMIT ?', (kind, *last, batch)).fetchall()
                items = [self._record_from_row(row) for row in rows]
                keys = [(row[1], row[8]) for row in rows]
            if not rows:
                return
            yield from items
            last = keys[-1]

    def iter_buckets(self):
        """Yield every bucket, oldest first."""
        for row in self._connection.execute('SELECT * FROM buckets ORDER BY start_ns'):
            yield _bucket_from_row(row)

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

    # -- checking -----------------------------------------------------------------------------
    def witness_proofs(self, trust=None):
        """
        Check every observer's signed heads; return ``{observer: witness_chain.Proof}``.

        ``trust`` (a ``pki.TrustStore``): each signature must be by a certificate the mesh CA
        issued to the observer's host (valid at the signature's stamp, not revoked); without,
        signatures are checked for internal consistency only. A chain's records from its first
        break on are left out (the break is reported by :meth:`verify_witness`), and each epoch
        is split at its known gaps: a signature vouches only for the unbroken run it ends.
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

    def verify_witness(self):
        """Recompute every witness chain; return ``{observer: first bad sequence}``."""
        return {observer: sequence for observer, (_, sequence) in self._verify_chains().items()}

    def _verify_chains(self):
        """Return ``{observer: (epoch, sequence)}`` of each chain's first bad record."""
        breaks = {}
        connection = self._connection
        observers = [row[0] for row in connection.execute(
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

    def witness_epochs(self):
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

    def integrity_check(self):
        """Run ``PRAGMA integrity_check``; return ``'ok'`` or SQLite's findings."""
        rows = self._connection.execute('PRAGMA integrity_check').fetchall()
        return '\n'.join(row[0] for row in rows)

    def stored_counts(self):
        """Rows held now: full-resolution records per kind, buckets and witness records."""
        counts = dict(self._connection.execute(
            'SELECT kind, count(*) FROM records GROUP BY kind').fetchall())
        counts['buckets'] = self._connection.execute('SELECT count(*) FROM buckets').fetchone()[0]
        counts[WITNESS] = self._connection.execute('SELECT count(*) FROM witness').fetchone()[0]
        counts[SIGNATURES] = self.signature_count()
        return counts

    def disk_bytes(self):
        """Bytes on disk: the database file and its write-ahead log."""
        return sum(os.path.getsize(p) for p in (self.path, f'{self.path}-wal')
                   if os.path.exists(p))


def move_aside(path, now_text):
    """Rename a corrupt store to ``<path>.corrupt-<now_text>`` (with its WAL); return the name."""
    path = pathlib.Path(path)
    target = path.with_name(f'{path.name}.corrupt-{now_text}')
    for suffix in ('-wal', '-shm'):
        side = pathlib.Path(f'{path}{suffix}')
        if side.exists():
            side.rename(f'{target}{suffix}')
    path.rename(target)
    return target


def _without_stamp(header):
    if not isinstance(header, dict):
        return header
    return {key: value for key, value in header.items() if key != 'stamp'}


def _bucket_from_row(row):
    kind, resolution_ns, start_ns, source, count, mean, low, high, t_real, t_imag = row
    return Bucket(kind, source, resolution_ns, start_ns, count, mean, low, high,
                  complex(t_real, t_imag))


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


# The witness table's columns a WitnessEntry is made of (the epoch is the store's own).
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
