"""MCAP export/import round trip (ROS 2 message encoding) and the becomingone-memory CLI."""

import json
import sqlite3

from becomingone_core.memory import cli, mcap_io
from becomingone_core.memory.records import make_record, MESH, record_from_fields, RESONANCE
from becomingone_core.memory.retention import RetentionPolicy, Tier
from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.memory_records import sync_record, witness_entries
from mcap.reader import make_reader
import pytest

NS = 1_000_000_000


def _resonance(i, transducer):
    return record_from_fields(RESONANCE, {
        'header': {'stamp': {'sec': i, 'nanosec': 250}, 'frame_id': 'cell'},
        'transducer': transducer, 'tau': [0.01, 0.1], 'omega': 6.28, 'window': 2.0,
        'gamma_real': [0.5, 0.25], 'gamma_imag': [0.1, -0.2], 'coherence': [0.26, 0.1025],
        'summary_real': 0.5, 'summary_imag': 0.1, 'summary_coherence': 0.26,
        'summary_tau': 0.01, 'summary_index': 0, 'samples': 100 * i, 'rejected': 1,
        'active_sources': 2})


def _mesh(i):
    return record_from_fields(MESH, {
        'header': {'stamp': {'sec': i, 'nanosec': 0}, 'frame_id': 'pi-1'}, 'node_id': 'pi-1',
        'peers': [{'state': {'header': {'stamp': {'sec': i, 'nanosec': 0}, 'frame_id': ''},
                             'node_id': 'pi-2', 'host': 'pi-2.local', 'role': 1, 'weight': 2.0,
                             't_real': 0.7, 't_imag': 0.0, 'coherence': 0.49,
                             'collapsed': False, 'sequence': i, 'certificate': [],
                             'signature': []},
                   'last_seen': {'sec': i, 'nanosec': 5}, 'alive': True}],
        'peers_alive': 1, 'peers_dead': 0, 'global_real': 0.7, 'global_imag': 0.0,
        'global_coherence': 0.49, 'emerged': False, 'emergence_threshold': 0.8,
        'aggregation': 'weighted_mean'})


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / 'cell.sqlite3'
    policy = RetentionPolicy(raw_keep_s=30.0, tiers=(Tier(10.0, 1e9),))
    with MemoryStore(path, policy=policy) as store:
        for i in range(60):
            store.add(sync_record(i * NS))
            store.add(_resonance(i, 'master' if i % 2 else 'emissary'))
            store.add(_mesh(i))
        for entry in witness_entries(25, stamp_ns=lambda sequence: sequence * NS):
            store.witness.add(entry)
        store.flush()
        while not store.apply_retention().done:
            pass
    return path


def test_message_definition_appends_dependencies_the_way_rosbag2_does():
    text = mcap_io.message_definition('becomingone_msgs/msg/MeshState')
    sections = text.split('=' * 80 + '\n')
    assert 'std_msgs/Header header' in sections[0].splitlines()
    names = [s.splitlines()[0] for s in sections[1:]]
    assert names == ['MSG: std_msgs/Header', 'MSG: builtin_interfaces/Time',
                     'MSG: becomingone_msgs/PeerStatus', 'MSG: becomingone_msgs/PeerState']


def test_export_writes_ros2_cdr_channels_per_topic(store_path, tmp_path):
    output = tmp_path / 'memory.mcap'
    with MemoryStore(store_path, read_only=True) as store:
        written = mcap_io.export(store, output, namespace='/cell1')
    assert written == {'resonance': 40, 'sync': 40, 'mesh': 40, 'witness': 25, 'buckets': 8}
    with open(output, 'rb') as stream:
        reader = make_reader(stream)
        assert reader.get_header().profile == 'ros2'
        summary = reader.get_summary()
    channels = {c.topic: summary.schemas[c.schema_id] for c in summary.channels.values()}
    assert set(channels) == {'/cell1/sync/state', '/cell1/master/resonance',
                             '/cell1/emissary/resonance', '/cell1/mesh/state', '/cell1/witness',
                             '/cell1/memory/buckets'}
    assert channels['/cell1/sync/state'].name == 'becomingone_msgs/msg/SyncState'
    assert channels['/cell1/sync/state'].encoding == 'ros2msg'
    assert all(c.message_encoding == 'cdr' for c in summary.channels.values())


def test_export_then_import_round_trips_every_record(store_path, tmp_path):
    output = tmp_path / 'memory.mcap'
    with MemoryStore(store_path, read_only=True) as store:
        mcap_io.export(store, output)
        originals = {kind: list(store.iter_records(kind))
                     for kind in ('resonance', 'sync', 'mesh', 'witness')}
        buckets = list(store.iter_buckets())
    with MemoryStore(tmp_path / 'copy.sqlite3') as copy:
        counts = mcap_io.import_into(copy, output)
        assert counts == {'resonance': 40, 'sync': 40, 'mesh': 40, 'witness': 25, 'buckets': 8}
        assert copy.witness.chain_breaks == {}
        for kind, records in originals.items():
            assert list(copy.iter_records(kind)) == records, kind
        assert list(copy.iter_buckets()) == buckets
        [mesh] = copy.query('mesh', 45 * NS, 45 * NS).records
        assert mesh.fields['peers'][0]['state']['host'] == 'pi-2.local'
        assert mesh.fields['aggregation'] == 'weighted_mean'
        [resonance] = copy.query('resonance', 44 * NS, 45 * NS, source='emissary').records
        assert resonance.fields['gamma_imag'] == [0.1, -0.2]


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_cli_info_query_reconstruct_and_verify(store_path, capsys):
    code, [info], _ = _run(capsys, '--store', str(store_path), 'info')
    assert code == 0 and info['total'] == 60 * 3 + 25 and info['witness_chain_breaks'] == {}
    code, lines, err = _run(capsys, '--store', str(store_path), 'query', 'sync',
                            '--start', '5', '--end', '40', '--limit', '5')
    assert code == 0 and 'truncated' in err
    assert [line['type'] for line in lines] == ['bucket', 'bucket', 'record', 'record', 'record']
    code, [answer], _ = _run(capsys, '--store', str(store_path), 'reconstruct', '45.0')
    assert code == 0 and answer['source'] == 'record' and answer['stamp_ns'] == 45 * NS
    code, [answer], _ = _run(capsys, '--store', str(store_path), 'reconstruct', '999')
    assert code == 1 and not answer['known']
    code, [report], _ = _run(capsys, '--store', str(store_path), 'verify')
    assert code == 0 and report['integrity_check'] == 'ok'


def test_cli_verify_fails_on_a_tampered_witness_record(store_path, capsys):
    connection = sqlite3.connect(store_path)
    connection.execute("UPDATE witness SET event = 'quiet' WHERE sequence = 12")
    connection.commit()
    connection.close()
    code, [report], _ = _run(capsys, '--store', str(store_path), 'verify')
    assert code == 1 and report['witness_chain_breaks'] == {'cell/witness': 12}


def test_cli_verify_passes_a_restarted_chain_and_counts_the_restart(store_path, capsys):
    with MemoryStore(store_path) as store:
        for entry in witness_entries(5, stamp_ns=lambda sequence: (100 + sequence) * NS):
            store.witness.add(entry)
        store.flush()
    code, [report], _ = _run(capsys, '--store', str(store_path), 'verify')
    assert code == 0 and report['witness_chain_breaks'] == {}
    assert report['witness_chain_restarts'] == {'cell/witness': 1}
    connection = sqlite3.connect(store_path)
    connection.execute("UPDATE witness SET event = 'quiet' WHERE epoch = 1 AND sequence = 3")
    connection.commit()
    connection.close()
    code, [report], _ = _run(capsys, '--store', str(store_path), 'verify')
    assert code == 1 and report['witness_chain_breaks'] == {'cell/witness': 3}


def test_cli_export_and_import(store_path, tmp_path, capsys):
    output = tmp_path / 'out.mcap'
    code, [exported], _ = _run(capsys, '--store', str(store_path), 'export', str(output))
    assert code == 0 and exported['messages']['sync'] == 40
    copy = tmp_path / 'copy.sqlite3'
    code, [imported], _ = _run(capsys, '--store', str(copy), 'import', str(output))
    assert code == 0 and imported['messages']['witness'] == 25


def test_cli_names_a_missing_or_foreign_file(tmp_path, capsys):
    assert cli.main(['--store', str(tmp_path / 'none.sqlite3'), 'info']) == 2
    assert 'none.sqlite3' in capsys.readouterr().err
    foreign = tmp_path / 'foreign.sqlite3'
    foreign.write_text('hello')
    assert cli.main(['--store', str(foreign), 'verify']) == 2
    assert 'foreign.sqlite3' in capsys.readouterr().err


def test_records_with_any_source_round_trip_through_the_store(tmp_path):
    with MemoryStore(tmp_path / 's.sqlite3') as store:
        record = make_record(MESH, 5, 'node/with/slashes', 0.25, 0.5 + 0j, {'x': [1, 2]})
        store.add(record)
        store.flush()
        assert list(store.iter_records(MESH)) == [record]
