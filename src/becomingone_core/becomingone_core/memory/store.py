"""
The temporal memory store: one crash-safe SQLite file per cell (WAL, ``synchronous=FULL``).

Records are buffered and written in batches, one transaction each. A record is acknowledged
only once its transaction has committed durably, and :attr:`MemoryStore.acknowledged` (the
high-water mark the node publishes) only ever counts acknowledged records; a batch whose commit
fails stays buffered and is retried, so no acknowledged record can be lost and no unwritten one
is ever acknowledged. On open the file is checked (``quick_check``), migrated forward and its
witness chains verified; breaks are reported, never repaired.

The witness chains and their signed heads are kept by the store's
:class:`~.witness_ledger.WitnessLedger` (:attr:`MemoryStore.witness`), committed in the same
transactions as the records.
"""

from dataclasses import dataclass, field
import functools
import json
import os
import pathlib
import sqlite3

from becomingone_core.input_rules import INT64_MAX
from becomingone_core.memory import arrays, retention, schema
from becomingone_core.memory.records import (
    Bucket, InvalidRecord, KINDS, ns_to_stamp, STATE_KINDS, StateRecord, SYNC, WITNESS)
from becomingone_core.memory.schema import CorruptStore, StoreError
from becomingone_core.memory.witness_ledger import SIGNATURES, WitnessLedger

_SQLITE_MAGIC = b'SQLite format 3\x00'
# Errors one row causes (a value SQLite cannot bind or a constraint it breaks): that row is
# dropped as unstorable and the rest committed. Anything else (I/O, disk full, a lock) keeps
# every buffered record for the next attempt.
_ROW_ERRORS = (OverflowError, TypeError, ValueError, sqlite3.InterfaceError,
               sqlite3.IntegrityError, sqlite3.DataError)


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

    ``add`` (and ``witness.add``, ``witness.add_signature``: the :class:`WitnessLedger`)
    buffer a record (they return True once ``batch_size`` records are waiting), ``flush``
    commits the buffer durably and returns the new :class:`Ack`.
    """

    def __init__(self, path, policy=None, batch_size=1000, max_backlog=100_000,
                 create=True, read_only=False, max_observers=None):
        self.path = pathlib.Path(path)
        self.policy = policy or retention.RetentionPolicy()
        self.batch_size = batch_size
        self.max_backlog = max_backlog
        self.read_only = read_only
        self._pending = []
        self._pending_buckets = []
        self._layout_keys, self._layout_ids = {}, {}
        self._pending_record_rows = set()
        self._pending_bucket_rows = set()
        #: Identical resonance, sync and mesh records and buckets skipped (imports), by kind.
        self.duplicate_records = {}
        self._connection = self._connect(create)
        try:
            self._prepare()
            self.acknowledged = self._read_ack()
            self.unstorable = self._read_unstorable()
            self._load_layouts()
            #: The witness chains and their signed heads (verified on opening).
            self.witness = WitnessLedger(self, max_observers)
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
        return len(self._pending) + self.witness.backlog

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
        collapsed = _collapsed(record)
        values = [_without_stamp(value) if key == 'header' else value
                  for key, value in fields.items()]
        row = (record.kind, record.stamp_ns, record.source, record.coherence, record.t.real,
               record.t.imag, tuple(fields), json.dumps(values, separators=(',', ':')),
               collapsed, schema.pack_record(record.stamp_ns, record.coherence, record.t.real,
                                             record.t.imag, collapsed))
        if skip_duplicates and (row in self._pending_record_rows or self._is_stored_record(row)):
            self._count_duplicate(record.kind)
            return False
        self._pending.append(row)
        self._pending_record_rows.add(row)
        return self.backlog >= self.batch_size

    def _count_duplicate(self, kind):
        self.duplicate_records[kind] = self.duplicate_records.get(kind, 0) + 1

    def _is_stored_record(self, row):
        kind, stamp_ns, source, coherence, t_real, t_imag, keys, values, *_ = row
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

    def _check_room(self):
        if self.read_only:
            raise StoreError(f'{self.path}: opened read-only')
        if self.backlog >= self.max_backlog:
            raise InvalidRecord('backlog', f'{self.backlog} records waiting for the disk')

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
        batch = (self._pending, self.witness.pending, self._pending_buckets,
                 self.witness.pending_signatures)
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
        self._pending, self._pending_buckets = [], []
        self._pending_record_rows, self._pending_bucket_rows = set(), set()
        self.witness.committed(bool(dropped))
        for keys, layout in layouts.items():
            self._layout_ids[keys], self._layout_keys[layout] = layout, keys
        if dropped:
            for kind, count in dropped.items():
                self.unstorable[kind] = self.unstorable.get(kind, 0) + count
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
        self.witness.insert_entries(connection, witness)
        self._insert_buckets(connection, buckets)
        self.witness.insert_signatures(connection, signatures)
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
                (witness, lambda item: self.witness.insert_entries(connection, [item]),
                 lambda item: WITNESS),
                (buckets, lambda row: self._insert_buckets(connection, [row]),
                 lambda row: 'buckets'),
                (signatures, lambda row: self.witness.insert_signatures(connection, [row]),
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
            'fields, collapsed, packed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
            [row[:6] + (layouts[row[6]],) + row[7:] for row in records])

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
        self._pending, self._pending_buckets = [], []
        self._pending_record_rows, self._pending_bucket_rows = set(), set()
        self.witness.discard()

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
            entries, truncated = self.witness.query(start_ns, end_ns, source, limit,
                                                    newest_first)
            return QueryResult(entries, [], truncated)

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

    def query_arrays(self, kind, start_ns=0, end_ns=None, source='', limit=1_000_000,
                     newest_first=False):
        """
        Return records of ``kind`` stamped in ``[start_ns, end_ns]`` as numpy arrays.

        The same records, in the same order, as :meth:`query` returns (full resolution only:
        buckets are not part of it), as an :class:`~.arrays.RecordArrays` read straight from
        SQLite's time index, with no Python object per record. Ranges are clamped to what
        SQLite holds (int64), the limit to :data:`~.arrays.MAX_ROWS`.
        """
        if kind not in STATE_KINDS:
            raise ValueError(f'kind {kind!r} is not one of {list(STATE_KINDS)}')
        if limit <= 0:
            raise ValueError('limit must be > 0')
        # SQLite passes the packed bytes through its text functions unchanged only in UTF-8
        # (every store this code creates; a UTF-16 file would come back transcoded).
        encoding = self._connection.execute('PRAGMA encoding').fetchone()[0]
        if encoding != 'UTF-8':
            raise StoreError(f'{self.path}: bulk reads need a UTF-8 store, not {encoding}')
        end_ns = INT64_MAX if end_ns is None else min(end_ns, INT64_MAX)
        return arrays.read(self._connection, kind, max(0, min(start_ns, INT64_MAX)), end_ns,
                           source, min(limit, arrays.MAX_ROWS), newest_first)

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

        Witness entries come in chain order instead (:meth:`WitnessLedger.iter_entries`).
        """
        if kind == WITNESS:
            yield from self.witness.iter_entries(batch)
            return
        last = (-1, -1)
        while True:
            rows = self._connection.execute(
                'SELECT kind, stamp_ns, source, coherence, t_real, t_imag, layout, fields, id '
                'FROM records WHERE kind = ? AND (stamp_ns, id) > (?, ?) '
                'ORDER BY stamp_ns, id LIMIT ?', (kind, *last, batch)).fetchall()
            if not rows:
                return
            yield from (self._record_from_row(row) for row in rows)
            last = (rows[-1][1], rows[-1][8])

    def iter_buckets(self):
        """Yield every bucket, oldest first."""
        for row in self._connection.execute('SELECT * FROM buckets ORDER BY start_ns'):
            yield _bucket_from_row(row)

    # -- checking -----------------------------------------------------------------------------
    def integrity_check(self):
        """Run ``PRAGMA integrity_check``; return ``'ok'`` or SQLite's findings."""
        rows = self._connection.execute('PRAGMA integrity_check').fetchall()
        return '\n'.join(row[0] for row in rows)

    def stored_counts(self):
        """Rows held now: full-resolution records per kind, buckets and witness records."""
        counts = dict(self._connection.execute(
            'SELECT kind, count(*) FROM records GROUP BY kind').fetchall())
        counts['buckets'] = self._connection.execute('SELECT count(*) FROM buckets').fetchone()[0]
        counts[WITNESS] = self.witness.stored_count()
        counts[SIGNATURES] = self.witness.signature_count()
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


def _collapsed(record):
    # Kept in a column for bulk reads (sync records; 0 for the other kinds).
    return int(bool(record.fields.get('collapsed'))) if record.kind == SYNC else 0


def _without_stamp(header):
    if not isinstance(header, dict):
        return header
    return {key: value for key, value in header.items() if key != 'stamp'}


def _bucket_from_row(row):
    kind, resolution_ns, start_ns, source, count, mean, low, high, t_real, t_imag = row
    return Bucket(kind, source, resolution_ns, start_ns, count, mean, low, high,
                  complex(t_real, t_imag))
