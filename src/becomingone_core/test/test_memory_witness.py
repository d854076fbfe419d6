"""Witness records keep their hash chain in memory; tampering is found at the right sequence."""

import dataclasses
import json
import sqlite3

from becomingone_core import witness_chain
from becomingone_core.memory import mcap_io, schema
from becomingone_core.memory.retention import RetentionPolicy
from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.memory_records import witness_entries
import pytest

NS = 1_000_000_000


def _stored(path, entries, **options):
    with MemoryStore(path, **options) as store:
        for entry in entries:
            store.witness.add(entry)
        store.flush()
        assert store.witness.chain_breaks == {}


CHAIN = 'cell/witness'


@pytest.mark.parametrize('column, value, expected', [
    ('stamp_ns', 7, {CHAIN: 4}), ('layer', 3, {CHAIN: 4}), ('subject', 'emissary', {CHAIN: 4}),
    ('event', 'collapse', {CHAIN: 4}), ('names', '["coherence","other"]', {CHAIN: 4}),
    ('"values"', '[0.5,2.0]', {CHAIN: 4}), ('previous_digest', 'f' * 64, {CHAIN: 4}),
    ('digest', 'e' * 64, {CHAIN: 4}),
    # Moved to another chain: wrong there, and missing from its own.
    ('observer', 'x', {'x': 4, CHAIN: 5})])
def test_every_stored_field_is_covered_by_the_chain(tmp_path, column, value, expected):
    path = tmp_path / 'w.sqlite3'
    _stored(path, witness_entries(10))
    with MemoryStore(path) as store:
        store._connection.execute(f'UPDATE witness SET {column} = ? WHERE sequence = 4',
                                  (value,))
        assert store.witness.verify() == expected


@pytest.mark.parametrize('sequence', [0, 17, 49])
def test_tampered_stored_record_is_reported_on_open_at_its_sequence(tmp_path, sequence):
    path = tmp_path / 'w.sqlite3'
    _stored(path, witness_entries(50))
    with MemoryStore(path) as store:
        store._connection.execute(
            'UPDATE witness SET "values" = ? WHERE sequence = ?', (json.dumps([0.5, 1.0]),
                                                                   sequence))
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {'cell/witness': sequence}


def test_rewritten_digest_and_deleted_record_break_at_the_next_sequence(tmp_path):
    path = tmp_path / 'w.sqlite3'
    _stored(path, witness_entries(30))
    with MemoryStore(path) as store:
        forged = dataclasses.replace(store.query('witness').records[10], event='nothing')
        digest = witness_chain.digest_of(
            forged.sequence, forged.layer, forged.stamp_ns, forged.observer, forged.subject,
            forged.event, forged.names, forged.values, forged.previous_digest)
        store._connection.execute(
            'UPDATE witness SET event = ?, digest = ? WHERE sequence = 10', (forged.event, digest))
        store._connection.execute('DELETE FROM witness WHERE sequence = 20')
        assert store.witness.verify() == {'cell/witness': 11}
        store._connection.execute("UPDATE witness SET event = 'cycle' WHERE sequence = 10")
        store._connection.execute(
            'UPDATE witness SET digest = ? WHERE sequence = 10', (witness_entries(11)[10].digest,))
        assert store.witness.verify() == {'cell/witness': 21}


def test_break_on_ingest_is_reported_and_the_record_still_kept(tmp_path):
    entries = witness_entries(10)
    entries[4] = dataclasses.replace(entries[4], event='forged')
    with MemoryStore(tmp_path / 'w.sqlite3') as store:
        for entry in entries:
            store.witness.add(entry)
        store.flush()
        assert store.witness.chain_breaks == {'cell/witness': 4}
        assert len(store.query('witness').records) == 10


def test_a_stored_record_delivered_again_is_ignored_and_counted(tmp_path):
    entries = witness_entries(5)
    with MemoryStore(tmp_path / 'w.sqlite3') as store:
        for entry in entries:
            store.witness.add(entry)
        store.flush()
    with MemoryStore(tmp_path / 'w.sqlite3') as store:
        assert store.witness.add(entries[3]) is False
        assert store.witness.duplicates_ignored == {CHAIN: 1} and store.backlog == 0
        assert store.witness.chain_restarts == {} and store.witness.chain_breaks == {}


def test_a_stored_sequence_with_another_digest_is_not_a_duplicate(tmp_path):
    entries = witness_entries(5)
    with MemoryStore(tmp_path / 'w.sqlite3') as store:
        for entry in entries:
            store.witness.add(entry)
        store.flush()
        forged = dataclasses.replace(entries[3], event='nothing')
        store.witness.add(forged)
        assert store.witness.duplicates_ignored == {}
        assert store.witness.chain_breaks == {CHAIN: 3}


def test_redelivered_history_after_a_memory_restart_continues_the_epoch(tmp_path):
    """The witness's transient-local history: stored records again, then new ones."""
    entries = _run(60, 0)
    path = tmp_path / 'w.sqlite3'
    _stored(path, entries[:40])
    with MemoryStore(path) as store:  # the memory restarted; the witness kept running
        for entry in entries[10:]:  # its history reaches back past what the memory had
            store.witness.add(entry)
        store.flush()
        assert store.witness.duplicates_ignored == {CHAIN: 30}
        assert store.witness.chain_restarts == {} and store.witness.chain_breaks == {}
        assert _epochs_of(store) == [(0, sequence) for sequence in range(60)]
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {} and store.witness.restart_counts() == {}


def test_history_older_than_the_stored_epoch_is_ignored_not_a_restart(tmp_path):
    # An epoch the memory began late (before its subscription was transient local), then
    # a memory restart receives the run's earlier records too.
    entries = _run(30, 0)
    path = tmp_path / 'w.sqlite3'
    _stored(path, entries[4:20])
    with MemoryStore(path) as store:
        for entry in entries:
            store.witness.add(entry)
        store.flush()
        assert store.witness.duplicates_ignored == {CHAIN: 20}
        assert store.witness.chain_restarts == {} and store.witness.chain_breaks == {}
        assert _epochs_of(store) == [(0, sequence) for sequence in range(4, 30)]
        # A real restart is newer than what it follows: a new epoch, not history.
        store.witness.add(_run(1, 100 * NS)[0])
        assert store.witness.chain_restarts == {CHAIN: 1}


def test_history_older_than_retention_kept_is_ignored(tmp_path):
    path = tmp_path / 'w.sqlite3'
    policy = RetentionPolicy(witness_keep_s=10.0)
    entries = _run(40, 0)
    _stored(path, entries, policy=policy)
    with MemoryStore(path, policy=policy) as store:
        store.apply_retention()
        kept = len(store.query('witness', limit=100).records)
        assert 0 < kept < 40
        for entry in entries:
            store.witness.add(entry)
        store.flush()
        assert store.witness.duplicates_ignored == {CHAIN: 40}
        assert store.witness.chain_restarts == {} and store.witness.chain_breaks == {}


def test_records_the_memory_never_received_are_a_known_gap_not_a_break(tmp_path):
    entries = witness_entries(20)
    path = tmp_path / 'w.sqlite3'
    _stored(path, entries[:8])
    # The memory was down while sequences 8..11 went by.
    _stored(path, entries[12:])
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {}
        assert len(store.query('witness').records) == 16


def test_chains_of_two_witnesses_are_verified_separately(tmp_path):
    path = tmp_path / 'w.sqlite3'
    _stored(path, witness_entries(5, observer='a') + witness_entries(5, observer='b'))
    with MemoryStore(path) as store:
        store._connection.execute(
            "UPDATE witness SET layer = 3 WHERE observer = 'b' AND sequence = 2")
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {'b': 2}


def test_witness_retention_prunes_whole_prefix_and_the_rest_still_verifies(tmp_path):
    path = tmp_path / 'w.sqlite3'
    entries = witness_entries(100, stamp_ns=lambda sequence: sequence * NS)
    policy = RetentionPolicy(witness_keep_s=30.0)
    _stored(path, entries, policy=policy)
    with MemoryStore(path, policy=policy) as store:
        report = store.apply_retention()
        assert report.witness_dropped == 69
        kept = store.query('witness', limit=1000).records
        assert [e.sequence for e in kept] == list(range(69, 100))
    with MemoryStore(path, policy=policy) as store:
        assert store.witness.chain_breaks == {}
        store._connection.execute('UPDATE witness SET subject = ? WHERE sequence = 69', ('x',))
        assert store.witness.verify() == {'cell/witness': 69}


def test_witness_queries_by_time_and_subject(tmp_path):
    path = tmp_path / 'w.sqlite3'
    _stored(path, witness_entries(50, stamp_ns=lambda sequence: sequence * NS))
    with MemoryStore(path) as store:
        result = store.query('witness', 10 * NS, 19 * NS, limit=5, newest_first=True)
        assert result.truncated
        assert [e.sequence for e in result.records] == [19, 18, 17, 16, 15]
        assert store.query('witness', source='emissary').records == []
        assert len(store.query('witness', source='sync', limit=100).records) == 50


# -- epochs: a witness restarted without a persistent log starts a new chain ---------------------
def _run(count, start_ns, observer=CHAIN):
    """Return the records of one witness process: a new chain from 0, stamped from ``start_ns``."""
    return witness_entries(count, observer=observer,
                           stamp_ns=lambda sequence: start_ns + sequence * NS)


def _epochs_of(store):
    return [(epoch, sequence) for epoch, sequence in store._connection.execute(
        'SELECT epoch, sequence FROM witness ORDER BY epoch, sequence')]


def test_a_restarted_chain_is_stored_as_a_new_epoch_not_refused(tmp_path):
    path = tmp_path / 'w.sqlite3'
    first, second = _run(344, 0), _run(20, 1000 * NS)
    with MemoryStore(path) as store:
        for entry in first + second:
            store.witness.add(entry)
        store.flush()
        assert store.witness.chain_breaks == {} and store.witness.chain_restarts == {CHAIN: 1}
        assert store.acknowledged.counts['witness'] == 364
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {} and store.witness.chain_restarts == {}
        assert store.witness.epochs() == {CHAIN: [(0, 0, 0), (1, 0, 1000 * NS)]}
        assert _epochs_of(store) == [(0, s) for s in range(344)] + [(1, s) for s in range(20)]
        records = store.query('witness', limit=1000).records
        assert records == first + second
        # The restarted chain goes on in its epoch after a reopen, with a gap as before.
        store.witness.add(_run(30, 1000 * NS)[25])
        store.flush()
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {}
        assert _epochs_of(store)[-1] == (1, 25)


def test_a_restart_after_the_memory_missed_the_end_of_the_previous_run_is_no_break(tmp_path):
    # The previous run published 0..343, but the memory stopped first and stored 0..333; the
    # new run goes past 334. Version 1 refused 0..333 as replays and reported its 334 as a
    # break (it does not chain to the previous run's 333).
    path = tmp_path / 'w.sqlite3'
    _stored(path, _run(344, 0)[:334])
    _stored(path, _run(400, 1000 * NS))
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {}
        assert [e[:2] for e in store.witness.epochs()[CHAIN]] == [(0, 0), (1, 0)]
        assert store.stored_counts()['witness'] == 734


def test_restart_whose_first_records_the_memory_missed_is_still_an_epoch(tmp_path):
    # A restarted witness may publish its first records before DDS matched it with the memory.
    path = tmp_path / 'w.sqlite3'
    _stored(path, _run(50, 0) + _run(30, 100 * NS)[4:])
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {}
        assert store.witness.epochs()[CHAIN][1][:2] == (1, 4)
        store._connection.execute('DELETE FROM witness WHERE epoch = 1 AND sequence = 4')
        assert store.witness.verify() == {CHAIN: 5}  # its head deleted


@pytest.mark.parametrize('edit, where', [
    ("UPDATE witness SET event = 'forged' WHERE epoch = 1 AND sequence = 7", (1, 7)),
    ('UPDATE witness SET stamp_ns = 1 WHERE epoch = 0 AND sequence = 7', (0, 7)),
    ('DELETE FROM witness WHERE epoch = 1 AND sequence = 3', (1, 4)),
    ('DELETE FROM witness WHERE epoch = 1 AND sequence = 0', (1, 1)),
    ('UPDATE witness SET sequence = sequence + 100 WHERE epoch = 1 AND sequence IN (2, 3)',
     (1, 4)),
    # Records moved into the other epoch.
    ('UPDATE witness SET epoch = 0 WHERE epoch = 1 AND sequence >= 40', (0, 40)),
])
def test_tampering_inside_an_epoch_is_a_break_at_its_sequence(tmp_path, edit, where):
    path = tmp_path / 'w.sqlite3'
    _stored(path, _run(40, 0) + _run(60, 100 * NS))
    with MemoryStore(path) as store:
        store._connection.execute(edit)
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {CHAIN: where[1]}
        assert store.witness.chain_break_epochs == {CHAIN: where[0]}


def test_a_deleted_epoch_is_a_break_at_its_first_record(tmp_path):
    path = tmp_path / 'w.sqlite3'
    _stored(path, _run(10, 0) + _run(10, 100 * NS) + _run(10, 200 * NS))
    with MemoryStore(path) as store:
        store._connection.execute('DELETE FROM witness WHERE epoch = 1')
        assert store.witness.verify() == {CHAIN: 0}
    with MemoryStore(path) as store:
        assert store.witness.chain_break_epochs == {CHAIN: 1}


def test_a_forged_restart_in_the_middle_of_an_epoch_is_a_break(tmp_path):
    entries = _run(20, 0)
    # Sequence 10 claiming a fresh start (the genesis digest) where 9 was.
    forged = witness_entries(5, start_sequence=10, previous=witness_chain.GENESIS)
    with MemoryStore(tmp_path / 'a.sqlite3') as store:
        for entry in entries[:10] + forged:
            store.witness.add(entry)
        store.flush()
        assert store.witness.chain_breaks == {CHAIN: 10} and store.witness.chain_restarts == {}
    with MemoryStore(tmp_path / 'a.sqlite3') as store:
        assert store.witness.chain_breaks == {CHAIN: 10}
    # In the file: the second half of an epoch relabelled as an epoch of its own.
    path = tmp_path / 'b.sqlite3'
    _stored(path, entries + _run(5, 100 * NS))
    with MemoryStore(path) as store:
        store._connection.execute('UPDATE witness SET epoch = 2 WHERE epoch = 1')
        store._connection.execute('UPDATE witness_epochs SET epoch = 2 WHERE epoch = 1')
        store._connection.execute(
            'UPDATE witness SET epoch = 1 WHERE epoch = 0 AND sequence >= 12')
        store._connection.execute('INSERT INTO witness_epochs VALUES (?, 1, 12, 0)', (CHAIN,))
        assert store.witness.verify() == {CHAIN: 12}


def test_duplicates_are_ignored_in_every_epoch(tmp_path):
    first, second = _run(10, 0), _run(10, 100 * NS)
    path = tmp_path / 'w.sqlite3'
    _stored(path, first + second[:6])
    with MemoryStore(path) as store:
        for replayed in (second[5], second[0], first[3], first[0]):
            assert store.witness.add(replayed) is False
        store.witness.add(second[6])
        assert store.witness.add(second[6]) is False  # buffered, not yet committed
        assert store.witness.duplicates_ignored == {CHAIN: 5}
        store.flush()
        assert store.witness.chain_restarts == {} and store.witness.chain_breaks == {}
        assert len(store.query('witness', limit=100).records) == 17


def test_retention_drops_old_epochs_whole_and_the_rest_verifies(tmp_path):
    path = tmp_path / 'w.sqlite3'
    policy = RetentionPolicy(witness_keep_s=30.0)
    _stored(path, _run(50, 0) + _run(50, 100 * NS), policy=policy)
    with MemoryStore(path, policy=policy) as store:
        assert store.apply_retention().witness_dropped == 50 + 19
        assert _epochs_of(store) == [(1, s) for s in range(19, 50)]
    with MemoryStore(path, policy=policy) as store:
        assert store.witness.chain_breaks == {}
        assert [e for e, _, _ in store.witness.epochs()[CHAIN]] == [0, 1]
        store.witness.add(_run(51, 100 * NS)[50])
        store.witness.add(_run(3, 300 * NS)[0])  # another restart, after pruning
        store.flush()
        assert store.witness.chain_breaks == {} and store.witness.chain_restarts == {CHAIN: 1}
        store._connection.execute('DELETE FROM witness WHERE epoch = 1 AND sequence = 19')
        assert store.witness.verify() == {CHAIN: 20}


def test_a_restart_after_every_record_was_pruned_is_a_new_epoch(tmp_path):
    path = tmp_path / 'w.sqlite3'
    policy = RetentionPolicy(witness_keep_s=1.0)
    _stored(path, _run(10, 0), policy=policy)
    with MemoryStore(path, policy=policy) as store:
        store.apply_retention(now_ns=100 * NS)
        assert _epochs_of(store) == []
        store.witness.add(_run(11, 0)[10])  # the same chain goes on from the anchor
        store.witness.add(_run(2, 200 * NS)[0])
        store.flush()
        assert store.witness.chain_breaks == {} and store.witness.chain_restarts == {CHAIN: 1}
        assert _epochs_of(store) == [(0, 10), (1, 0)]


def test_two_observers_restart_independently(tmp_path):
    path = tmp_path / 'w.sqlite3'
    _stored(path, _run(5, 0, 'a') + _run(5, 0, 'b') + _run(3, 10 * NS, 'a'))
    with MemoryStore(path) as store:
        assert {o: len(e) for o, e in store.witness.epochs().items()} == {'a': 2, 'b': 1}
        store._connection.execute(
            "UPDATE witness SET layer = 3 WHERE observer = 'a' AND epoch = 1 AND sequence = 1")
        assert store.witness.verify() == {'a': 1}


def _version_1_store(path, entries, gaps=(), anchor=None):
    """Write a store of schema version 1 (before epochs), as the previous release did."""
    connection = sqlite3.connect(path, isolation_level=None)
    for statement in schema._statements(schema.MIGRATIONS[0]):
        connection.execute(statement)
    connection.execute(f'PRAGMA application_id = {schema.APPLICATION_ID}')
    connection.execute('PRAGMA user_version = 1')
    connection.executemany('INSERT INTO witness VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', [(
        e.observer, e.sequence, e.stamp_ns, e.layer, e.subject, e.event, json.dumps(e.names),
        json.dumps(e.values), e.previous_digest, e.digest) for e in entries])
    connection.executemany('INSERT INTO witness_gaps VALUES (?, ?)', [(CHAIN, s) for s in gaps])
    if anchor is not None:
        connection.execute('INSERT INTO witness_anchor VALUES (?, ?, ?)',
                           (CHAIN, anchor.sequence, anchor.digest))
    connection.execute("INSERT INTO counters VALUES ('witness', ?, 0)", (len(entries),))
    connection.close()


def test_a_version_1_store_is_migrated_and_its_chain_becomes_epoch_0(tmp_path):
    path = tmp_path / 'v1.sqlite3'
    entries = _run(40, 0)
    # Pruned up to 4, and the memory missed 20..24.
    _version_1_store(path, entries[5:20] + entries[25:], gaps=[25], anchor=entries[4])
    with MemoryStore(path) as store:
        assert store._connection.execute('PRAGMA user_version').fetchone()[0] == schema.VERSION
        # Through version 2 (epochs), 3 (signatures) and 4 (packed numbers for bulk reads).
        assert schema.VERSION == 4
        assert store.witness.chain_breaks == {} and store.acknowledged.counts['witness'] == 30
        assert _epochs_of(store) == [(0, s) for s in list(range(5, 20)) + list(range(25, 40))]
        assert store.query('witness', limit=100).records == entries[5:20] + entries[25:]
        # The restart that version 1 refused as a replay is now a new epoch.
        for entry in _run(10, 100 * NS):
            store.witness.add(entry)
        store.flush()
        assert store.witness.chain_breaks == {} and store.witness.chain_restarts == {CHAIN: 1}
        store._connection.execute('UPDATE witness SET event = ? WHERE epoch = 0 AND sequence = 30',
                                  ('forged',))
        assert store.witness.verify() == {CHAIN: 30}


def test_a_version_1_store_keeps_its_break_after_migration(tmp_path):
    path = tmp_path / 'v1.sqlite3'
    entries = _run(20, 0)
    entries[12] = dataclasses.replace(entries[12], event='forged')
    _version_1_store(path, entries)
    with MemoryStore(path) as store:
        assert store.witness.chain_breaks == {CHAIN: 12}


def test_epochs_survive_an_mcap_export_and_import(tmp_path):
    source, copy, mcap = tmp_path / 'a.sqlite3', tmp_path / 'b.sqlite3', tmp_path / 'w.mcap'
    # Two observers interleaved in time, one restarting twice, once with its start missed.
    entries = (_run(30, 0) + _run(10, 5 * NS, 'other') + _run(20, 50 * NS)
               + _run(15, 200 * NS)[3:])
    _stored(source, entries)
    with MemoryStore(source) as store:
        assert mcap_io.export(store, str(mcap), buckets=False) == {'witness': len(entries)}
        epochs = store.witness.epochs()
    with MemoryStore(copy) as store:
        assert mcap_io.import_into(store, str(mcap)) == {'witness': len(entries)}
        assert store.witness.chain_breaks == {} and store.witness.chain_restarts == {CHAIN: 2}
        assert store.witness.epochs() == epochs
        assert sorted(store.query('witness', limit=1000).records,
                      key=entries.index) == entries
    with MemoryStore(copy) as store:
        assert store.witness.chain_breaks == {}
        # Importing the same file again adds nothing: every record is a duplicate.
        assert mcap_io.import_into(store, str(mcap)) == {'duplicates': len(entries)}
        assert store.witness.epochs() == epochs and store.witness.chain_restarts == {}
