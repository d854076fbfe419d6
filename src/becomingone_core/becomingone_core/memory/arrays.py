"""
Bulk reads of the temporal memory as numpy arrays, straight from SQLite.

A range of one kind's full-resolution records comes back as parallel columns (stamps in int64
nanoseconds, coherence, T, the sync layer's collapsed flag and a source code) without a Python
object per record: SQLite concatenates the records' packed numbers (``records.packed``, schema
version 4) from its covering time index into one byte string, which ``np.frombuffer`` reads as
a structured array. Sources come as codes into :attr:`RecordArrays.sources`, also made by
SQLite.
"""

from dataclasses import dataclass

from becomingone_core.memory.schema import PACKED_RECORD
import numpy as np

#: Up to this many distinct sources in a range are coded by SQLite (a ``CASE``); beyond, the
#: names are fetched and coded by numpy (a hostile stream of names must not make the query
#: quadratic).
MAX_CODED_SOURCES = 64

#: The most records one read returns (330 MB of numbers): SQLite builds the concatenation in
#: memory and refuses strings past a gigabyte; ``truncated`` says when more matched.
MAX_ROWS = 10_000_000

# records.packed as numpy reads it (schema.PACKED_RECORD).
_PACKED = np.dtype([('stamp_ns', '<i8'), ('coherence', '<f8'), ('t_real', '<f8'),
                    ('t_imag', '<f8'), ('collapsed', 'i1')])
assert _PACKED.itemsize == PACKED_RECORD.size


@dataclass(frozen=True)
class RecordArrays:
    """Parallel columns of one kind's records in ``(stamp_ns, id)`` order (or its reverse)."""

    kind: str
    stamp_ns: np.ndarray
    coherence: np.ndarray
    t_real: np.ndarray
    t_imag: np.ndarray
    #: The sync layer's decision (False for resonance and mesh records).
    collapsed: np.ndarray
    #: ``sources[source_index[i]]`` is record i's transducer or mesh node ('' for sync); the
    #: names are sorted.
    source_index: np.ndarray
    sources: tuple
    truncated: bool

    def __len__(self):
        return len(self.stamp_ns)

    def source_names(self):
        """Return every record's source as an array of strings (made on demand)."""
        return np.asarray(self.sources or ('',), dtype=str)[self.source_index]


def read(connection, kind, start_ns, end_ns, source, limit, newest_first):
    """Return :class:`RecordArrays` of ``kind`` stamped in ``[start_ns, end_ns]``."""
    order = 'DESC' if newest_first else 'ASC'
    where = 'kind = ? AND stamp_ns BETWEEN ? AND ?'
    arguments = (kind, start_ns, end_ns)
    if source:
        where += ' AND source = ?'
        arguments += (source,)
    # The rows MemoryStore.query returns, in its order; one more tells whether more matched.
    selected = (f'SELECT {{columns}} FROM records INDEXED BY records_by_time WHERE {where} '
                f'ORDER BY stamp_ns {order}, id {order} LIMIT ?')
    arguments += (limit + 1,)
    # CAST: the concatenation is bytes, not text (the file's encoding is UTF-8, so SQLite
    # passes them through unchanged).
    # min and max of the source say whether there are several (a count of distinct names
    # costs twice the whole read).
    packed, first, last = connection.execute(
        "SELECT CAST(group_concat(packed, '') AS BLOB), min(source), max(source) "
        f'FROM ({selected.format(columns="packed, source")})', arguments).fetchone()
    rows = np.frombuffer(packed or b'', dtype=_PACKED)
    truncated = len(rows) > limit
    rows = rows[:limit]
    sources, index = ((first,) if first is not None else ()), np.zeros(len(rows), dtype=np.int32)
    if first != last:  # several transducers or mesh nodes: code them
        sources, index = _source_codes(connection, selected, arguments, limit)
    return RecordArrays(kind, rows['stamp_ns'].copy(), rows['coherence'].copy(),
                        rows['t_real'].copy(), rows['t_imag'].copy(), rows['collapsed'] != 0,
                        index, sources, truncated)


def _source_codes(connection, selected, arguments, limit):
    sources = tuple(sorted(row[0] for row in connection.execute(
        f'SELECT DISTINCT source FROM ({selected.format(columns="source")}) '
        f'LIMIT {MAX_CODED_SOURCES + 1}', arguments)))
    if len(sources) > MAX_CODED_SOURCES:
        names = np.array([row[0] for row in connection.execute(
            selected.format(columns='source'), arguments)][:limit], dtype=str)
        unique, index = np.unique(names, return_inverse=True)
        return tuple(str(name) for name in unique), index.astype(np.int32)
    case = ' '.join('WHEN ? THEN ?' for _ in sources)
    coded = connection.execute(
        f"SELECT group_concat(CASE source {case} END, ',') "
        f'FROM ({selected.format(columns="source")})',
        tuple(value for i, name in enumerate(sources) for value in (name, i)) + arguments
    ).fetchone()[0]
    return sources, np.fromstring(coded, dtype=np.int32, sep=',')[:limit]
