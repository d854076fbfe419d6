"""
A failed commit never loses what the memory holds and never leaves a transaction open.

A record SQLite cannot take is dropped alone (counted as ``unstorable``) and the rest of its
batch committed; a failure of the file itself (here a real one: the connection made read-only
with ``PRAGMA query_only``) keeps every buffered record for the next flush.
"""

import json

from becomingone_core.memory import cli
from becomingone_core.memory.records import (
    InvalidRecord, make_record, make_witness, StateRecord, SYNC, WitnessEntry)
from becomingone_core.memory.store import MemoryStore, StoreError
from becomingone_core.testing.memory_records import sync_record, witness_entries
import pytest

NS = 1_000_000_000
TOO_BIG = 2**64 - 1


def _poisoned_sync(stamp_ns=TOO_BIG):
    """Return a sync record past int64, built around the validation of make_record."""
    good = sync_record(NS)
    return StateRecord(SYNC, stamp_ns, '', good.coherence, good.t, dict(good.fields))


def test_a_record_past_int64_is_dropped_alone_and_the_rest_acknowledged(tmp_path):
    path = tmp_path / 'cell.sqlite3'
    with MemoryStore(path) as store:
        store.add(sync_record(1 * NS))
        store.add(_poisoned_sync())
        store.add(sync_record(2 * NS))
        ack = store.flush()
        # Before the fix: OverflowError escaped flush and the transaction stayed open.
        assert not store._connection.in_transaction
        assert ack.counts['sync'] == 2 and ack.newest_ns == 2 * NS
        assert store.backlog == 0 and store.unstorable == {'sync': 1}
        assert [r.stamp_ns for r in store.query('sync').records] == [1 * NS, 2 * NS]
        # The store goes on: the next batch commits normally.
        store.add(sync_record(3 * NS))
        assert store.flush().counts['sync'] == 3
    with MemoryStore(path) as store:  # kept in the file
        assert store.unstorable == {'sync': 1} and store.acknowledged.total == 3


def test_a_witness_record_past_int64_is_dropped_and_its_chain_goes_on(tmp_path):
    entries = witness_entries(3, stamp_ns=lambda sequence: (10 + sequence) * NS)
    poisoned = WitnessEntry(**{**entries[1].__dict__, 'stamp_ns': TOO_BIG})
    with MemoryStore(tmp_path / 'cell.sqlite3') as store:
        store.witness.add(entries[0])
        store.witness.add(poisoned)
        ack = store.flush()
        assert ack.counts['witness'] == 1 and store.unstorable == {'witness': 1}
        assert not store._connection.in_transaction
        # The dropped record is not the chain's tail any more: the good one is accepted.
        store.witness.add(entries[1])
        store.witness.add(entries[2])
        assert store.flush().counts['witness'] == 3
        assert store.witness.verify() == {}
        # What was received did break the chain (its digest does not cover that stamp), and
        # that stays reported until the memory restarts; the file holds an intact chain.
        assert store.witness.chain_breaks == {'cell/witness': 1}


def test_a_failing_file_keeps_every_record_for_the_next_flush(tmp_path):
    path = tmp_path / 'cell.sqlite3'
    with MemoryStore(path) as store:
        store.add(sync_record(1 * NS))
        store.flush()
        entries = witness_entries(2, stamp_ns=lambda sequence: (5 + sequence) * NS)
        store.add(sync_record(2 * NS))
        store.witness.add(entries[0])
        store.witness.add(entries[1])
        store._connection.execute('PRAGMA query_only = 1')  # a real SQLite write failure
        with pytest.raises(StoreError, match='3 records kept'):
            store.flush()
        assert not store._connection.in_transaction
        assert store.backlog == 3 and store.acknowledged.total == 1
        assert store.unstorable == {}  # an I/O failure drops nothing
        store._connection.execute('PRAGMA query_only = 0')
        ack = store.flush()
        assert ack.counts == {'resonance': 0, 'sync': 2, 'mesh': 0, 'witness': 2}
        assert store.witness.verify() == {}


def test_a_poisoned_row_and_a_failing_file_together_lose_nothing_acknowledged(tmp_path):
    path = tmp_path / 'cell.sqlite3'
    store = MemoryStore(path)
    store.add(sync_record(1 * NS))
    store.add(_poisoned_sync())
    store._connection.execute('PRAGMA query_only = 1')
    with pytest.raises(StoreError):
        store.flush()  # the row retry fails on the file as well: everything kept
    assert store.backlog == 2 and store.unstorable == {}
    store._connection.execute('PRAGMA query_only = 0')
    store.add(sync_record(2 * NS))
    # Shutdown: the last flush still works after those failures.
    assert store.flush().counts['sync'] == 2
    store.close()
    with MemoryStore(path) as reopened:
        assert [r.stamp_ns for r in reopened.query('sync').records] == [1 * NS, 2 * NS]
        assert reopened.unstorable == {'sync': 1}


def test_an_import_flush_is_all_or_nothing(tmp_path):
    with MemoryStore(tmp_path / 'cell.sqlite3') as store:
        store.add(sync_record(1 * NS))
        store.add(_poisoned_sync())
        with pytest.raises(StoreError):
            store.flush(isolate=False)
        assert store.backlog == 2 and store.stored_counts().get('sync', 0) == 0


def test_info_reports_unstorable_records(tmp_path, capsys):
    path = tmp_path / 'cell.sqlite3'
    with MemoryStore(path) as store:
        store.add(_poisoned_sync())
        store.add(sync_record(1 * NS))
        store.flush()
    assert cli.main(['--store', str(path), 'info']) == 0
    info = json.loads(capsys.readouterr().out)
    assert info['unstorable'] == {'sync': 1} and info['total'] == 1


def test_records_past_int64_are_refused_however_they_are_made(tmp_path):
    with pytest.raises(InvalidRecord) as refused:
        make_record(SYNC, 2**63, '', 0.5, 0.5 + 0j)
    assert refused.value.reason == 'out_of_range'
    entry = witness_entries(1)[0]
    with pytest.raises(InvalidRecord, match='sequence'):
        make_witness(TOO_BIG, 1, 'w', 0, 's', 'e', [], [], entry.previous_digest, entry.digest)
    with MemoryStore(tmp_path / 'cell.sqlite3') as store:
        # The store looks sequences up in SQLite: it refuses one it could not look up.
        with pytest.raises(InvalidRecord) as refused:
            store.witness.add(WitnessEntry(**{**entry.__dict__, 'sequence': TOO_BIG}))
        assert refused.value.reason == 'out_of_range' and store.backlog == 0


def test_observers_are_bounded(tmp_path):
    path = tmp_path / 'cell.sqlite3'
    with MemoryStore(path, max_observers=2) as store:
        for observer in ('a', 'b'):
            for entry in witness_entries(2, observer=observer):
                store.witness.add(entry)
        with pytest.raises(InvalidRecord) as refused:
            store.witness.add(witness_entries(1, observer='c')[0])
        assert refused.value.reason == 'too_many_observers'
        # Known observers go on; nothing is kept about the refused one.
        store.witness.add(witness_entries(3, observer='a')[2])
        assert store.flush().counts['witness'] == 5
        assert 'c' not in store.witness._tails and 'c' not in store.witness._next_epoch
    with MemoryStore(path, max_observers=2) as store:  # counted from the file on reopening
        with pytest.raises(InvalidRecord, match='2 observers'):
            store.witness.add(witness_entries(1, observer='d')[0])
