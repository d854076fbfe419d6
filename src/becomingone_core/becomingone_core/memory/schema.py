"""
The memory file's schema, versioned with forward migrations (``PRAGMA user_version``).

A store file is marked with an SQLite ``application_id`` so a foreign SQLite file is told
apart from an empty one. Each migration moves the schema one version forward inside the
caller's transaction; a file newer than this code is refused rather than guessed at.
"""

import sqlite3
import struct

# 'BOne' in ASCII: marks an SQLite file as a BecomingONE memory store.
APPLICATION_ID = 0x424F6E65


class StoreError(Exception):
    """The memory file cannot be used; the message names the file and why."""


class CorruptStore(StoreError):
    """The file is damaged, or is not a BecomingONE memory store."""


_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

-- Acknowledged (durably committed) record counts per kind: a monotonic high-water mark.
CREATE TABLE counters (
    kind TEXT PRIMARY KEY,
    acknowledged INTEGER NOT NULL,
    newest_ns INTEGER NOT NULL
) WITHOUT ROWID;

-- The field names of a message, stored once: records keep only the values, in this order.
CREATE TABLE layouts (id INTEGER PRIMARY KEY, keys TEXT NOT NULL UNIQUE);

-- Full-resolution resonance, sync and mesh states; fields is the message's values as a JSON
-- array in the order of its layout (header.stamp left out: it is stamp_ns).
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    stamp_ns INTEGER NOT NULL,
    source TEXT NOT NULL,
    coherence REAL NOT NULL,
    t_real REAL NOT NULL,
    t_imag REAL NOT NULL,
    layout INTEGER NOT NULL REFERENCES layouts (id),
    fields TEXT NOT NULL
);
CREATE INDEX records_by_time ON records (kind, stamp_ns);

-- Downsampled history: [start_ns, start_ns + resolution_ns) of one kind and source.
CREATE TABLE buckets (
    kind TEXT NOT NULL,
    resolution_ns INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    source TEXT NOT NULL,
    count INTEGER NOT NULL,
    coherence_mean REAL NOT NULL,
    coherence_min REAL NOT NULL,
    coherence_max REAL NOT NULL,
    t_real_mean REAL NOT NULL,
    t_imag_mean REAL NOT NULL,
    PRIMARY KEY (kind, start_ns, resolution_ns, source)
) WITHOUT ROWID;
-- Stored in time order (queries read the table directly); retention walks one tier at a time.
CREATE INDEX buckets_by_tier ON buckets (kind, resolution_ns, start_ns);

-- Witness records, one hash chain per observer; never downsampled.
CREATE TABLE witness (
    observer TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    stamp_ns INTEGER NOT NULL,
    layer INTEGER NOT NULL,
    subject TEXT NOT NULL,
    event TEXT NOT NULL,
    names TEXT NOT NULL,
    "values" TEXT NOT NULL,
    previous_digest TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (observer, sequence)
);
CREATE INDEX witness_by_time ON witness (stamp_ns);

-- Sequences the memory received right after missing ones (it was not running, or lost them).
CREATE TABLE witness_gaps (
    observer TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    PRIMARY KEY (observer, sequence)
) WITHOUT ROWID;

-- The last pruned witness record per chain, so the kept part still verifies.
CREATE TABLE witness_anchor (
    observer TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    digest TEXT NOT NULL
) WITHOUT ROWID;
"""

# Version 2: witness chains have epochs. A witness that restarts without a persistent log starts
# a new chain at sequence 0 (chained to the genesis digest); each such chain is an epoch of its
# observer, numbered from 0 in the order the memory received them, and verified on its own.
# Existing records become epoch 0.
_V2 = """
CREATE TABLE witness_v2 (
    observer TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    stamp_ns INTEGER NOT NULL,
    layer INTEGER NOT NULL,
    subject TEXT NOT NULL,
    event TEXT NOT NULL,
    names TEXT NOT NULL,
    "values" TEXT NOT NULL,
    previous_digest TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (observer, epoch, sequence)
);
INSERT INTO witness_v2 SELECT observer, 0, sequence, stamp_ns, layer, subject, event, names,
    "values", previous_digest, digest FROM witness;
DROP TABLE witness;
ALTER TABLE witness_v2 RENAME TO witness;
CREATE INDEX witness_by_time ON witness (stamp_ns);
-- Replays are found by sequence across the epochs of an observer.
CREATE INDEX witness_by_sequence ON witness (observer, sequence);

CREATE TABLE witness_gaps_v2 (
    observer TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    PRIMARY KEY (observer, epoch, sequence)
) WITHOUT ROWID;
INSERT INTO witness_gaps_v2 SELECT observer, 0, sequence FROM witness_gaps;
DROP TABLE witness_gaps;
ALTER TABLE witness_gaps_v2 RENAME TO witness_gaps;

ALTER TABLE witness_anchor ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;

-- Each epoch of each chain as the memory first received it: its first sequence (0 when the
-- restart itself arrived, more when the memory missed the first records) and that record's
-- stamp. Kept when retention drops the epoch's records, so restarts stay counted.
CREATE TABLE witness_epochs (
    observer TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    first_sequence INTEGER NOT NULL,
    stamp_ns INTEGER NOT NULL,
    PRIMARY KEY (observer, epoch)
) WITHOUT ROWID;
INSERT INTO witness_epochs
    SELECT observer, 0, min(sequence), stamp_ns FROM witness GROUP BY observer;
INSERT OR IGNORE INTO witness_epochs
    SELECT observer, 0, sequence + 1, 0 FROM witness_anchor;
"""

# Version 3: signed chain heads. On a mesh with a PKI the witness signs the head of its chain
# (observer, sequence, digest, stamp) with its host key; one signature vouches for every record
# up to it, so a stored or exported log verifies as that host's. The certificate is kept with
# each signature, so the store verifies without the host's help; identical ones are one row.
_V3 = """
CREATE TABLE witness_signatures (
    id INTEGER PRIMARY KEY,
    observer TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    digest TEXT NOT NULL,
    stamp_ns INTEGER NOT NULL,
    certificate BLOB NOT NULL,
    signature BLOB NOT NULL,
    UNIQUE (observer, sequence, stamp_ns, digest, signature)
);
CREATE INDEX witness_signatures_by_time ON witness_signatures (stamp_ns);
"""

# Version 4: bulk array reads. Each state record keeps its numbers once more, packed
# (:data:`PACKED_RECORD`: stamp_ns, coherence, T real and imaginary, the sync layer's collapsed
# flag), and sync records their collapsed flag in a column of its own (it was only in the JSON
# fields). The time index covers the packed numbers, so a bulk read concatenates an hour of
# them in SQLite, from the index alone and in (stamp_ns, id) order, into one byte string that
# numpy reads as arrays: no Python object per record. Existing records are packed by
# :func:`_pack_records` (a float's exact bits cannot be made in SQL).
_V4 = """
ALTER TABLE records ADD COLUMN collapsed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN packed BLOB NOT NULL DEFAULT x'';
UPDATE records SET collapsed = coalesce((
    SELECT json_extract(records.fields, '$[' || j.key || ']')
    FROM layouts l, json_each(l.keys) j
    WHERE l.id = records.layout AND j.value = 'collapsed'), 0) != 0
WHERE kind = 'sync';
DROP INDEX records_by_time;
CREATE INDEX records_by_time ON records (kind, stamp_ns, id, source, packed);
"""

#: The layout of ``records.packed``: little-endian int64 stamp_ns, float64 coherence, t_real
#: and t_imag, int8 collapsed (33 bytes, no padding).
PACKED_RECORD = struct.Struct('<qdddb')


def pack_record(stamp_ns, coherence, t_real, t_imag, collapsed):
    """
    Return the ``records.packed`` bytes of one record.

    ``None`` for values that do not fit (a stamp past int64, a coherence that is no number):
    the column is ``NOT NULL``, so SQLite refuses such a row like any it cannot store.
    """
    try:
        # + 0.0: SQLite keeps no negative zero in a REAL column, so neither do the packed bytes.
        return PACKED_RECORD.pack(stamp_ns, coherence + 0.0, t_real + 0.0, t_imag + 0.0,
                                  collapsed)
    except (struct.error, TypeError):
        return None


def _pack_records(connection):
    rows = connection.execute(
        'SELECT id, stamp_ns, coherence, t_real, t_imag, collapsed FROM records').fetchall()
    nan = float('nan')
    # A value that cannot be packed (none the store wrote) reads back as not a number.
    connection.executemany('UPDATE records SET packed = ? WHERE id = ?', [
        (pack_record(*row[1:]) or pack_record(row[1], nan, nan, nan, 0), row[0])
        for row in rows])


# MIGRATIONS[i] takes a file from version i to version i + 1: a script, or a script and the
# Python steps that follow it.
MIGRATIONS = (_V1, _V2, _V3, (_V4, _pack_records))
VERSION = len(MIGRATIONS)


def migrate(connection, path):
    """
    Bring the schema of an open store to :data:`VERSION`; return the version found.

    Runs in one transaction, so a crash mid-migration leaves the old version intact.
    """
    application_id = connection.execute('PRAGMA application_id').fetchone()[0]
    version = connection.execute('PRAGMA user_version').fetchone()[0]
    tables = connection.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    if application_id != APPLICATION_ID and (tables or version):
        raise CorruptStore(f'{path}: an SQLite file, but not a BecomingONE memory store '
                           f'(application_id {application_id:#x})')
    if version > VERSION:
        raise StoreError(f'{path}: schema version {version} is newer than this BecomingONE '
                         f'understands ({VERSION}); refusing to open it')
    if version == VERSION:
        return version
    try:
        connection.execute('BEGIN IMMEDIATE')
        for migration in MIGRATIONS[version:]:
            script, *steps = (migration,) if isinstance(migration, str) else migration
            for statement in _statements(script):
                connection.execute(statement)
            for step in steps:  # what SQL alone cannot do, in the same transaction
                step(connection)
        connection.execute(f'PRAGMA application_id = {APPLICATION_ID}')
        connection.execute(f'PRAGMA user_version = {VERSION}')
        connection.execute('COMMIT')
    except sqlite3.Error:
        connection.execute('ROLLBACK')
        raise
    return version


def _statements(script):
    # executescript() would commit the open transaction; run statement by statement instead.
    statement = ''
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement
            statement = ''
