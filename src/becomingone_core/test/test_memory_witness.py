"""Witness records keep their hash chain in memory; tampering is found at the right sequence."""

import dataclasses
import json

from becomingone_core import witness_chain
from becomingone_core.memory.records import InvalidRecord
from becomingone_core.memory.retention import RetentionPolicy
from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.memory_records import witness_entries
import pytest

NS = 1_000_000_000


def _stored(path, entries, **options):
    with MemoryStore(path, **options) as store:
        for entry in entries:
            store.add_witness(entry)
        store.flush()
        assert store.chain_breaks == {}


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
        assert store.verify_witness() == expected


@pytest.mark.parametrize('sequence', [0, 17, 49])
def test_tampered_stored_record_is_reported_on_open_at_its_sequence(tmp_path, sequence):
    path = tmp_path / 'w.sqlite3'
    _stored(path, witness_entries(50))
    with MemoryStore(path) as store:
        store._connection.execute(
            'UPDATE witness SET "values" = ? WHERE sequence = ?', (json.dumps([0.5, 1.0]),
                                                                   sequence))
    with MemoryStore(path) as store:
        assert store.chain_breaks == {'cell/witness': sequence}


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
        assert store.verify_witness() == {'cell/witness': 11}
        store._connection.execute("UPDATE witness SET event = 'cycle' WHERE sequence = 10")
        store._connection.execute(
            'UPDATE witness SET digest = ? WHERE sequence = 10', (witness_entries(11)[10].digest,))
        assert store.verify_witness() == {'cell/witness': 21}


def test_break_on_ingest_is_reported_and_the_record_still_kept(tmp_path):
    entries = witness_entries(10)
    entries[4] = dataclasses.replace(entries[4], event='forged')
    with MemoryStore(tmp_path / 'w.sqlite3') as store:
        for entry in entries:
            store.add_witness(entry)
        store.flush()
        assert store.chain_breaks == {'cell/witness': 4}
        assert len(store.query('witness').records) == 10


def test_replayed_sequence_is_refused(tmp_path):
    entries = witness_entries(5)
    with MemoryStore(tmp_path / 'w.sqlite3') as store:
        for entry in entries:
            store.add_witness(entry)
        store.flush()
    with MemoryStore(tmp_path / 'w.sqlite3') as store:
        with pytest.raises(InvalidRecord) as refused:
            store.add_witness(entries[3])
        assert refused.value.reason == 'replay'


def test_records_the_memory_never_received_are_a_known_gap_not_a_break(tmp_path):
    entries = witness_entries(20)
    path = tmp_path / 'w.sqlite3'
    _stored(path, entries[:8])
    # The memory was down while sequences 8..11 went by.
    _stored(path, entries[12:])
    with MemoryStore(path) as store:
        assert store.chain_breaks == {}
        assert len(store.query('witness').records) == 16


def test_chains_of_two_witnesses_are_verified_separately(tmp_path):
    path = tmp_path / 'w.sqlite3'
    _stored(path, witness_entries(5, observer='a') + witness_entries(5, observer='b'))
    with MemoryStore(path) as store:
        store._connection.execute(
            "UPDATE witness SET layer = 3 WHERE observer = 'b' AND sequence = 2")
    with MemoryStore(path) as store:
        assert store.chain_breaks == {'b': 2}


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
        assert store.chain_breaks == {}
        store._connection.execute('UPDATE witness SET subject = ? WHERE sequence = 69', ('x',))
        assert store.verify_witness() == {'cell/witness': 69}


def test_witness_queries_by_time_and_subject(tmp_path):
    path = tmp_path / 'w.sqlite3'
    _stored(path, witness_entries(50, stamp_ns=lambda sequence: sequence * NS))
    with MemoryStore(path) as store:
        result = store.query('witness', 10 * NS, 19 * NS, limit=5, newest_first=True)
        assert result.truncated
        assert [e.sequence for e in result.records] == [19, 18, 17, 16, 15]
        assert store.query('witness', source='emissary').records == []
        assert len(store.query('witness', source='sync', limit=100).records) == 50
