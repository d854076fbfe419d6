"""The memory store: durable acknowledgement, file checks, migrations, rejection of bad input."""

import math
import sqlite3

from becomingone_core.memory import schema
from becomingone_core.memory.records import InvalidRecord, make_record, record_from_fields
from becomingone_core.memory.store import (
    CorruptStore, default_path, MemoryStore, move_aside, StoreError)
from becomingone_core.testing.memory_records import sync_record
import pytest

NS = 1_000_000_000


@pytest.fixture
def path(tmp_path):
    return tmp_path / 'state' / 'cell.sqlite3'


def test_store_file_is_created_on_open_in_wal_mode_with_full_sync(path):
    assert not path.parent.exists()
    with MemoryStore(path) as store:
        assert path.exists()
        connection = store._connection
        assert connection.execute('PRAGMA journal_mode').fetchone()[0] == 'wal'
        assert connection.execute('PRAGMA synchronous').fetchone()[0] == 2  # FULL
        assert connection.execute('PRAGMA application_id').fetchone()[0] == schema.APPLICATION_ID
        assert connection.execute('PRAGMA user_version').fetchone()[0] == schema.VERSION


def test_default_path_follows_xdg_state_home_and_creates_nothing(tmp_path):
    path = default_path('cell7', {'XDG_STATE_HOME': str(tmp_path / 'xdg')})
    assert path == tmp_path / 'xdg' / 'becomingone' / 'cell7.sqlite3'
    assert not (tmp_path / 'xdg').exists()
    assert default_path('c', {'HOME': '/h'}).name == 'c.sqlite3'


def test_only_committed_records_are_acknowledged_and_survive_reopening(path):
    with MemoryStore(path, batch_size=3) as store:
        assert store.add(sync_record(1)) is False
        assert store.add(sync_record(2)) is False
        assert store.acknowledged.total == 0 and store.backlog == 2
        assert store.add(sync_record(3)) is True
        ack = store.flush()
        assert (ack.total, ack.counts['sync'], ack.newest_ns) == (3, 3, 3)
        store.add(sync_record(4))  # buffered, never committed: not acknowledged
    with MemoryStore(path) as store:
        assert store.acknowledged.total == 3
        assert [r.stamp_ns for r in store.query('sync').records] == [1, 2, 3]


def test_a_failed_commit_keeps_the_records_for_the_next_flush(path):
    with MemoryStore(path) as store:
        store.add(sync_record(1 * NS))
        store.flush()
        blocker = sqlite3.connect(path, timeout=0.1)
        blocker.execute('BEGIN EXCLUSIVE')
        store._connection.execute('PRAGMA busy_timeout = 50')
        store.add(sync_record(2 * NS))
        with pytest.raises(StoreError, match='commit failed.*kept'):
            store.flush()
        assert store.acknowledged.total == 1 and store.backlog == 1
        blocker.rollback()
        blocker.close()
        assert store.flush().total == 2 and store.backlog == 0
        assert len(store.query('sync').records) == 2


@pytest.mark.parametrize('bad, reason', [
    (lambda: make_record('sync', 1, '', math.nan, 0j), 'not_finite'),
    (lambda: make_record('sync', 1, '', 0.5, complex(math.inf, 0)), 'not_finite'),
    (lambda: make_record('sync', -5, '', 0.5, 0j), 'stamp'),
    (lambda: make_record('weather', 1, '', 0.5, 0j), 'kind'),
    (lambda: record_from_fields('sync', {'header': {'stamp': {'sec': 1}}}), 'malformed'),
])
def test_bad_records_are_refused_with_a_reason(bad, reason):
    with pytest.raises(InvalidRecord) as refused:
        bad()
    assert refused.value.reason == reason


def test_a_full_backlog_refuses_new_records_instead_of_growing(path):
    with MemoryStore(path, max_backlog=2) as store:
        store.add(sync_record(1))
        store.add(sync_record(2))
        with pytest.raises(InvalidRecord) as refused:
            store.add(sync_record(3))
        assert refused.value.reason == 'backlog'
        assert store.flush().total == 2


def test_garbage_file_is_refused_naming_the_file(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b'definitely not a database' * 100)
    with pytest.raises(CorruptStore, match=str(path)):
        MemoryStore(path)
    assert path.read_bytes().startswith(b'definitely')


def test_foreign_sqlite_file_is_refused_naming_the_file(path):
    path.parent.mkdir(parents=True)
    foreign = sqlite3.connect(path)
    foreign.execute('CREATE TABLE recipes (name TEXT)')
    foreign.commit()
    foreign.close()
    with pytest.raises(CorruptStore, match=f'{path}.*not a BecomingONE memory store'):
        MemoryStore(path)


def test_truncated_store_is_refused(path):
    with MemoryStore(path) as store:
        for i in range(2000):
            store.add(sync_record(i * NS))
        store.flush()
        store._connection.execute('PRAGMA wal_checkpoint(TRUNCATE)')
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] + b'\x00' * 4096 + data[len(data) // 2 + 4096:])
    with pytest.raises(CorruptStore, match=str(path)):
        MemoryStore(path)


def test_newer_schema_is_refused_not_guessed_at(path):
    MemoryStore(path).close()
    connection = sqlite3.connect(path)
    connection.execute(f'PRAGMA user_version = {schema.VERSION + 1}')
    connection.close()
    with pytest.raises(StoreError, match='newer'):
        MemoryStore(path)


def test_migrations_run_forward_from_an_empty_file(path):
    path.parent.mkdir(parents=True)
    sqlite3.connect(path).close()  # a zero-length file: version 0
    with MemoryStore(path) as store:
        assert store._connection.execute('PRAGMA user_version').fetchone()[0] == schema.VERSION


def test_move_aside_renames_and_never_deletes(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b'junk')
    target = move_aside(path, '20260101T000000Z')
    assert not path.exists()
    assert target.name == 'cell.sqlite3.corrupt-20260101T000000Z'
    assert target.read_bytes() == b'junk'


def test_read_only_store_cannot_be_written_or_created(path):
    with pytest.raises(StoreError, match='no such memory store'):
        MemoryStore(path, read_only=True)
    MemoryStore(path).close()
    with MemoryStore(path, read_only=True) as store:
        with pytest.raises(StoreError, match='read-only'):
            store.add(sync_record(1))


def test_integrity_check_and_disk_use_are_reported(path):
    with MemoryStore(path) as store:
        store.add(sync_record(1))
        store.flush()
        assert store.integrity_check() == 'ok'
        assert store.disk_bytes() > 0


def test_resonance_with_mismatched_lag_arrays_is_refused():
    fields = {'header': {'stamp': {'sec': 1, 'nanosec': 0}}, 'transducer': 'master',
              'tau': [0.1, 0.2], 'gamma_real': [0.5], 'gamma_imag': [0.0, 0.0],
              'coherence': [0.25, 0.0], 'summary_coherence': 0.25, 'summary_real': 0.5,
              'summary_imag': 0.0}
    with pytest.raises(InvalidRecord) as refused:
        record_from_fields('resonance', fields)
    assert refused.value.reason == 'size'
    fields['gamma_real'] = [0.5, 0.0]
    assert record_from_fields('resonance', fields).source == 'master'


def test_two_writers_of_one_file_agree_on_field_layouts(path):
    first, second = MemoryStore(path), MemoryStore(path)
    try:
        first.add(make_record('mesh', 1, 'a', 0.5, 0j, {'x': 1, 'y': 2}))
        second.add(make_record('mesh', 2, 'b', 0.5, 0j, {'p': 'q'}))
        second.flush()
        first.flush()
        second.add(make_record('mesh', 3, 'b', 0.5, 0j, {'x': 5, 'y': 6}))
        second.flush()
        for store in (first, second):
            assert [r.fields for r in store.query('mesh').records] == \
                [{'x': 1, 'y': 2}, {'p': 'q'}, {'x': 5, 'y': 6}]
    finally:
        first.close()
        second.close()


def test_paths_with_uri_characters_work(tmp_path):
    path = tmp_path / 'odd #1 ?name %20.sqlite3'
    with MemoryStore(path) as store:
        store.add(sync_record(1))
        store.flush()
    assert path.exists()
    with MemoryStore(path, read_only=True) as store:
        assert store.acknowledged.total == 1
