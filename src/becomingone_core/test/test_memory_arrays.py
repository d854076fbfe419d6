"""Bulk array reads: the same records as the object path, and the version 4 migration."""

import csv
import io
import json
import sqlite3
import tempfile

from becomingone_core.input_rules import INT64_MAX
from becomingone_core.memory import arrays, cli, schema
from becomingone_core.memory.records import make_record, MESH, RESONANCE, STATE_KINDS, SYNC
from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.memory_records import sync_record
from hypothesis import given, HealthCheck, settings, strategies as st
import numpy as np
import pytest

NS = 1_000_000_000
# Finite doubles at their extremes: subnormals, the largest, signed zeros.
EXTREME = st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308,
                           1.7976931348623157e308, -1.7976931348623157e308, 1.0, 0.1, 1 / 3])
NUMBER = st.one_of(EXTREME, st.floats(allow_nan=False, allow_infinity=False))
STAMP = st.one_of(st.sampled_from([0, 1, INT64_MAX - 1, INT64_MAX]), st.integers(0, 50 * NS),
                  st.integers(0, INT64_MAX))
RECORD = st.tuples(st.sampled_from(STATE_KINDS), STAMP, st.sampled_from(['', 'master', 'a' * 300,
                                                                         'é∆', 'emissary']),
                   NUMBER, NUMBER, NUMBER, st.booleans())


def _record(kind, stamp_ns, source, coherence, real, imag, collapsed):
    fields = {'header': {'frame_id': 'cell'}, 'collapsed': collapsed, 'coherence': coherence}
    return make_record(kind, stamp_ns, '' if kind == SYNC else source, coherence,
                       complex(real, imag), fields)


def _columns(records):
    """Return the columns the object path implies (collapsed only counts for sync records)."""
    return (np.array([r.stamp_ns for r in records], dtype=np.int64),
            np.array([r.coherence for r in records]),
            np.array([r.t.real for r in records]), np.array([r.t.imag for r in records]),
            np.array([bool(r.fields.get('collapsed')) and r.kind == SYNC for r in records]),
            [r.source for r in records])


def _assert_same(result, records):
    stamps, coherence, real, imag, collapsed, sources = _columns(records)
    np.testing.assert_array_equal(result.stamp_ns, stamps)
    assert result.stamp_ns.dtype == np.int64
    # Bit for bit (assert_array_equal takes -0.0 for 0.0).
    for got, want in ((result.coherence, coherence), (result.t_real, real),
                      (result.t_imag, imag)):
        assert got.dtype == np.float64
        assert got.tobytes() == np.asarray(want, dtype=np.float64).tobytes()
    np.testing.assert_array_equal(result.collapsed, collapsed)
    assert list(result.source_names()) == sources


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(RECORD, max_size=60), kind=st.sampled_from(STATE_KINDS),
       start=STAMP, end=STAMP, limit=st.one_of(st.integers(1, 80), st.just(INT64_MAX)),
       newest_first=st.booleans(), source=st.sampled_from(['', 'master']))
def test_arrays_equal_the_object_path(records, kind, start, end, limit, newest_first, source):
    with tempfile.TemporaryDirectory() as directory, \
            MemoryStore(f'{directory}/a.sqlite3') as store:
        for row in records:
            store.add(_record(*row))
        store.flush()
        start, end = min(start, end), max(start, end)
        objects = store.query(kind, start, end, source, min(limit, 10**6), newest_first)
        result = store.query_arrays(kind, start, end, source, limit, newest_first)
        assert result.kind == kind and len(result) == len(objects.records)
        assert result.truncated == objects.truncated
        _assert_same(result, objects.records)


def test_a_raw_hour_comes_back_whole_and_in_order(tmp_path):
    with MemoryStore(tmp_path / 'hour.sqlite3', batch_size=10_000) as store:
        for i in range(36_000):
            if store.add(sync_record(i * 100_000_000 + i % 7)):
                store.flush()
        store.flush()
        result = store.query_arrays(SYNC, 0, 3600 * NS)
        assert len(result) == 36_000 and not result.truncated
        assert np.all(np.diff(result.stamp_ns) > 0) and result.sources == ('',)
        _assert_same(result, store.query(SYNC, 0, 3600 * NS, limit=40_000).records)
        assert 0 < result.collapsed.sum() < 36_000
        newest = store.query_arrays(SYNC, limit=10, newest_first=True)
        assert newest.truncated and list(newest.stamp_ns) == list(result.stamp_ns[::-1][:10])


def test_many_sources_are_coded_without_a_quadratic_query(tmp_path):
    count = arrays.MAX_CODED_SOURCES * 3
    with MemoryStore(tmp_path / 'm.sqlite3') as store:
        for i in range(count):
            store.add(make_record(MESH, i, f'node{count - i:04d}', 0.5, 0.5 + 0j))
            store.add(make_record(RESONANCE, i, ('master', 'emissary')[i % 2], 0.5, 0j))
        store.flush()
        for kind in (MESH, RESONANCE):
            result = store.query_arrays(kind)
            _assert_same(result, store.query(kind, limit=10_000).records)
        assert len(store.query_arrays(MESH).sources) == count
        assert store.query_arrays(RESONANCE).sources == ('emissary', 'master')


def test_arrays_refuse_bad_requests_by_range(tmp_path):
    with MemoryStore(tmp_path / 'r.sqlite3') as store:
        store.add(sync_record(5 * NS))
        store.flush()
        with pytest.raises(ValueError, match='kind'):
            store.query_arrays('witness')
        with pytest.raises(ValueError, match='limit'):
            store.query_arrays(SYNC, limit=0)
        # Past int64 either way: clamped, not an OverflowError from SQLite.
        assert len(store.query_arrays(SYNC, -2**70, 2**70, limit=2**80)) == 1
        assert len(store.query_arrays(SYNC, 2**64, 2**65)) == 0
        assert len(store.query_arrays(SYNC, 6 * NS, 4 * NS)) == 0


def _version_3_store(path, records):
    """Write a store of schema version 3 (before packed numbers), as the previous release did."""
    connection = sqlite3.connect(path, isolation_level=None)
    for script in schema.MIGRATIONS[:3]:
        for statement in schema._statements(script):
            connection.execute(statement)
    connection.execute(f'PRAGMA application_id = {schema.APPLICATION_ID}')
    connection.execute('PRAGMA user_version = 3')
    layouts = {}
    for record in records:
        keys = json.dumps(list(record.fields))
        if keys not in layouts:
            connection.execute('INSERT INTO layouts (keys) VALUES (?)', (keys,))
            layouts[keys] = connection.execute('SELECT last_insert_rowid()').fetchone()[0]
        connection.execute(
            'INSERT INTO records (kind, stamp_ns, source, coherence, t_real, t_imag, layout, '
            'fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
            (record.kind, record.stamp_ns, record.source, record.coherence, record.t.real,
             record.t.imag, layouts[keys], json.dumps(list(record.fields.values()))))
    counts = {}
    for record in records:
        counts[record.kind] = counts.get(record.kind, 0) + 1
    connection.executemany('INSERT INTO counters VALUES (?, ?, ?)',
                           [(kind, count, 0) for kind, count in counts.items()])
    connection.close()


def test_a_version_3_store_is_migrated_with_its_numbers_packed(tmp_path):
    path = tmp_path / 'v3.sqlite3'
    syncs = [sync_record(i * NS, coherence=i / 20) for i in range(20)]
    # A layout without 'collapsed' (a record imported from elsewhere) and extreme numbers.
    odd = make_record(SYNC, 30 * NS, '', 5e-324, complex(-0.0, 1.7976931348623157e308),
                      {'header': {'frame_id': ''}})
    resonance = make_record(RESONANCE, 3 * NS, 'master', 0.25, 0.5 - 0.5j,
                            {'transducer': 'master', 'collapsed': True})
    _version_3_store(path, syncs + [odd, resonance])
    with MemoryStore(path) as store:
        assert store._connection.execute('PRAGMA user_version').fetchone()[0] == 4
        assert store.acknowledged.counts[SYNC] == 21
        result = store.query_arrays(SYNC)
        _assert_same(result, store.query(SYNC, limit=100).records)
        np.testing.assert_array_equal(result.t_imag, [r.t.imag for r in syncs + [odd]])
        assert result.coherence[-1] == 5e-324 and result.t_real[-1] == 0.0
        assert result.collapsed.sum() == sum(r.fields['collapsed'] for r in syncs) > 0
        # The flag is the sync layer's: a resonance's field of that name is not it.
        assert not store.query_arrays(RESONANCE).collapsed.any()
        _assert_same(store.query_arrays(RESONANCE), [resonance])
        store.add(sync_record(40 * NS, coherence=0.9))  # written by version 4 beside them
        store.flush()
        _assert_same(store.query_arrays(SYNC), store.query(SYNC, limit=100).records)
        assert store.integrity_check() == 'ok'


def test_the_cli_prints_and_saves_a_bulk_query(tmp_path, capsys):
    path = tmp_path / 'cli.sqlite3'
    with MemoryStore(path) as store:
        for i in range(50):
            store.add(sync_record(i * NS, coherence=(i % 10) / 10 + 1 / 3))
            store.add(make_record(RESONANCE, i * NS, ('master', 'emissary')[i % 2], 0.25,
                                  complex(0.1 * (i % 5), -1 / 7)))
        store.flush()
        expected = store.query_arrays(RESONANCE, 10 * NS, 40 * NS)
    arguments = ['--store', str(path), 'query', 'resonance', '--start', '10', '--end', '40']
    assert cli.main(arguments + ['--format', 'csv']) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == list(cli._ARRAY_COLUMNS) and len(rows) == 32
    assert [int(r[0]) for r in rows[1:]] == expected.stamp_ns.tolist()
    assert [float(r[3]) for r in rows[1:]] == expected.t_imag.tolist()  # every digit kept
    assert [r[5] for r in rows[1:]] == expected.source_names().tolist()

    output = tmp_path / 'sync.npz'
    assert cli.main(['--store', str(path), 'query', 'sync', '--format', 'npz', '--output',
                     str(output), '--limit', '20']) == 0
    assert json.loads(capsys.readouterr().out) == {'output': str(output), 'records': 20,
                                                   'truncated': True}
    with np.load(output) as saved:
        assert saved['stamp_ns'].dtype == np.int64 and bool(saved['truncated'])
        np.testing.assert_array_equal(saved['coherence'],
                                      [(i % 10) / 10 + 1 / 3 for i in range(20)])
    # Witness records are not numbers; npz needs a file: one line on stderr, exit 2.
    assert cli.main(['--store', str(path), 'query', 'witness', '--format', 'csv']) == 2
    assert cli.main(['--store', str(path), 'query', 'sync', '--format', 'npz']) == 2
    assert 'needs --output' in capsys.readouterr().err
