"""
``becomingone-memory import`` is all or nothing: a damaged file is one line on stderr, exit 2.

Real MCAP files are written by the exporter and then damaged the ways files get damaged
(truncated, bytes flipped inside a chunk or in the summary section, empty, random); each must
leave the store exactly as it was and create no store file. Importing the same file twice adds
nothing the second time and says so.
"""

import json
import os
import random

from becomingone_core.memory import cli, mcap_io
from becomingone_core.memory.records import MESH, record_from_fields, RESONANCE
from becomingone_core.memory.retention import RetentionPolicy, Tier
from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.memory_records import sync_record, witness_entries
from mcap.reader import make_reader
from mcap_ros2.writer import Writer
import pytest

NS = 1_000_000_000


def _resonance(i):
    return record_from_fields(RESONANCE, {
        'header': {'stamp': {'sec': i, 'nanosec': 0}, 'frame_id': 'cell'},
        'transducer': 'master', 'tau': [0.01, 0.1], 'omega': 6.28, 'window': 2.0,
        'gamma_real': [0.5, 0.25], 'gamma_imag': [0.1, -0.2], 'coherence': [0.26, 0.1025],
        'summary_real': 0.5, 'summary_imag': 0.1, 'summary_coherence': 0.26,
        'summary_tau': 0.01, 'summary_index': 0, 'samples': 100 * i, 'rejected': 1,
        'active_sources': 2})


def _mesh(i):
    return record_from_fields(MESH, {
        'header': {'stamp': {'sec': i, 'nanosec': 0}, 'frame_id': 'pi-1'}, 'node_id': 'pi-1',
        'peers': [], 'peers_alive': 0, 'peers_dead': 0, 'global_real': 0.7, 'global_imag': 0.0,
        'global_coherence': 0.49, 'emerged': False, 'emergence_threshold': 0.8,
        'aggregation': 'weighted_mean'})


def _source_store(path, count=300):
    """Fill a store with every kind and buckets."""
    policy = RetentionPolicy(raw_keep_s=count * 0.5, tiers=(Tier(10.0, 1e9),))
    with MemoryStore(path, policy=policy) as store:
        for i in range(count):
            store.add(sync_record(i * NS))
            store.add(_resonance(i))
            store.add(_mesh(i))
        for entry in witness_entries(200, stamp_ns=lambda sequence: sequence * NS):
            store.witness.add(entry)
        store.flush()
        while not store.apply_retention().done:
            pass
        assert store.stored_counts()['buckets'] > 0


@pytest.fixture(scope='module')
def export(tmp_path_factory):
    """Return an exported MCAP file and where its chunks and summary section lie."""
    directory = tmp_path_factory.mktemp('export')
    _source_store(directory / 'source.sqlite3')
    output = directory / 'memory.mcap'
    with MemoryStore(directory / 'source.sqlite3', read_only=True) as store:
        mcap_io.export(store, output, chunk_size=16 * 1024)  # several chunks
    with open(output, 'rb') as stream:
        reader = make_reader(stream)
        summary = reader.get_summary()
    chunks = sorted(summary.chunk_indexes, key=lambda c: c.chunk_start_offset)
    assert len(chunks) >= 2, 'the file should have more than one chunk'
    data = output.read_bytes()
    footer_summary_start = int.from_bytes(data[-37 + 9:-37 + 17], 'little')
    return output, chunks, footer_summary_start


def _store_state(path):
    with MemoryStore(path, read_only=True) as store:
        return store.stored_counts(), store.acknowledged, store.integrity_check()


def _import(capsys, store, source):
    code = cli.main(['--store', str(store), 'import', str(source)])
    out, err = capsys.readouterr()
    return code, out, err


def _flip(data, offset, count=16):
    damaged = bytearray(data)
    for i in range(offset, offset + count):
        damaged[i] ^= 0xA5
    return bytes(damaged)


def _damaged(export, how):
    output, chunks, summary_start = export
    data = output.read_bytes()
    middle = lambda chunk: chunk.chunk_start_offset + chunk.chunk_length // 2  # noqa: E731
    if how == 'truncated':
        return data[:len(data) * 2 // 3]
    if how == 'truncated_at_the_footer':
        return data[:-3]
    if how == 'flipped_in_the_first_chunk':
        return _flip(data, middle(chunks[0]))
    if how == 'flipped_in_the_second_chunk':
        return _flip(data, middle(chunks[1]))
    if how == 'flipped_in_the_summary':
        return _flip(data, summary_start + 40, 4)
    if how == 'empty':
        return b''
    if how == 'random':
        return random.Random(7).randbytes(200_000)
    if how == 'magic_and_random':
        return data[:8] + random.Random(8).randbytes(50_000) + data[-8:]
    raise AssertionError(how)


DAMAGES = ['truncated', 'truncated_at_the_footer', 'flipped_in_the_first_chunk',
           'flipped_in_the_second_chunk', 'flipped_in_the_summary', 'empty', 'random',
           'magic_and_random']


@pytest.mark.parametrize('how', DAMAGES)
def test_a_damaged_file_changes_nothing_in_an_existing_store(export, tmp_path, capsys, how):
    store = tmp_path / 'cell.sqlite3'
    with MemoryStore(store) as target:
        target.add(sync_record(5000 * NS))
        target.flush()
    before = _store_state(store)
    damaged = tmp_path / 'damaged.mcap'
    damaged.write_bytes(_damaged(export, how))
    code, out, err = _import(capsys, store, damaged)
    assert code == 2 and out == ''
    assert len(err.splitlines()) == 1 and 'Traceback' not in err, err
    assert str(damaged) in err
    assert _store_state(store) == before


@pytest.mark.parametrize('how', DAMAGES)
def test_a_damaged_file_creates_no_store(export, tmp_path, capsys, how):
    store = tmp_path / 'new' / 'cell.sqlite3'
    damaged = tmp_path / 'damaged.mcap'
    damaged.write_bytes(_damaged(export, how))
    code, _, err = _import(capsys, store, damaged)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert not any(os.path.exists(f'{store}{suffix}') for suffix in ('', '-wal', '-shm'))


@pytest.mark.parametrize('kind', ['missing', 'directory'])
def test_a_missing_file_or_a_directory_is_one_line(tmp_path, capsys, kind):
    source = tmp_path / 'nothing.mcap'
    if kind == 'directory':
        source.mkdir()
    store = tmp_path / 'cell.sqlite3'
    code, _, err = _import(capsys, store, source)
    assert code == 2 and len(err.splitlines()) == 1 and str(source) in err, err
    assert not store.exists()


def test_a_valid_file_with_an_out_of_range_record_is_refused_whole(tmp_path, capsys):
    """Check records by the input rules too: CRCs only prove the file is as written."""
    source = tmp_path / 'bad.mcap'
    definition = mcap_io.message_definition(mcap_io.MESSAGE_TYPES['sync'])
    with open(source, 'wb') as stream:
        writer = Writer(stream)
        schema = writer.register_msgdef(mcap_io.MESSAGE_TYPES['sync'], definition)
        for i, coherence in enumerate([0.5, 0.5, -1551.9]):
            fields = dict(sync_record((i + 1) * NS).fields)
            fields['coherence'] = coherence
            writer.write_message('/sync/state', schema, fields, log_time=i, publish_time=i)
        writer.finish()
    store = tmp_path / 'cell.sqlite3'
    code, _, err = _import(capsys, store, source)
    assert code == 2 and 'message 2 (sync) refused, out_of_range' in err
    assert len(err.splitlines()) == 1 and not store.exists()


def test_the_same_file_twice_adds_nothing_the_second_time(export, tmp_path, capsys):
    output = export[0]
    store = tmp_path / 'cell.sqlite3'
    code, out, err = _import(capsys, store, output)
    assert code == 0, err
    first = json.loads(out)['messages']
    assert first['sync'] > 0 and first['buckets'] > 0 and 'duplicates' not in first
    before = _store_state(store)
    code, out, err = _import(capsys, store, output)
    assert code == 0, err
    second = json.loads(out)['messages']
    assert second == {'duplicates': sum(first.values())}
    assert _store_state(store) == before
    with MemoryStore(store, read_only=True) as copy:
        assert copy.witness.verify() == {}


def test_a_failed_import_leaves_a_library_store_usable(export, tmp_path):
    damaged = tmp_path / 'damaged.mcap'
    damaged.write_bytes(_damaged(export, 'flipped_in_the_second_chunk'))
    with MemoryStore(tmp_path / 'cell.sqlite3') as store:
        with pytest.raises(mcap_io.ImportFailed):
            mcap_io.import_into(store, damaged)
        assert store.backlog == 0 and store.stored_counts()['witness'] == 0
        counts = mcap_io.import_into(store, export[0])
        assert counts['witness'] == 200 and store.witness.verify() == {}
