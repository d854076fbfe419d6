"""The memory node over real DDS: stores what its cell publishes, acknowledges, answers queries."""

import math

from becomingone_core.memory.store import MemoryStore
from becomingone_core.ros.qos import WITNESS_QOS
from becomingone_core.testing.memory_records import witness_entries
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess, wait_until
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import MemoryAck, Resonance, SyncState, WitnessRecord
from becomingone_msgs.srv import QueryMemory, ReconstructCoherence
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
import pytest
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

NS = '/cell7'
RELIABLE = QoSProfile(depth=100, reliability=QoSReliabilityPolicy.RELIABLE)


def _sync(second, coherence):
    message = SyncState()
    message.header.stamp = Time(sec=second, nanosec=0)
    message.sync_real, message.sync_imag = math.sqrt(abs(coherence)), 0.0
    message.coherence, message.threshold, message.collapsed = coherence, 0.6, coherence >= 0.6
    return message


def _witness(entry):
    message = WitnessRecord()
    message.header.stamp = Time(sec=entry.stamp_ns // 10**9, nanosec=entry.stamp_ns % 10**9)
    message.observer = entry.observer
    message.layer, message.subject, message.event = entry.layer, entry.subject, entry.event
    message.names, message.values = list(entry.names), list(entry.values)
    message.sequence = entry.sequence
    message.previous_digest, message.digest = entry.previous_digest, entry.digest
    return message


def _resonance(second, transducer):
    message = Resonance()
    message.header.stamp = Time(sec=second, nanosec=0)
    message.transducer = transducer
    message.tau, message.omega = [0.01, 0.1, 1.0], 2.0
    message.gamma_real, message.gamma_imag = [0.9, 0.5, 0.1], [0.0, 0.5, 0.0]
    message.coherence = [0.81, 0.5, 0.01]
    message.summary_real, message.summary_coherence, message.summary_tau = 0.9, 0.81, 0.01
    return message


def _call(probe, service_type, name, request):
    return probe.call(probe.node.create_client(service_type, f'{NS}/{name}'), request)


def _stamp(seconds):
    return Time(sec=int(seconds), nanosec=int(round((seconds % 1) * 1e9)))


def test_memory_node_stores_acknowledges_and_answers(tmp_path):
    env = isolated_ros_env()
    env['XDG_STATE_HOME'] = str(tmp_path)
    store_path = tmp_path / 'becomingone' / 'cell7.sqlite3'
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'memory', env,
            # The records below are stamped in 1970: accept them (the stamp window has its own
            # tests in test_memory_bad_input.py).
            ros_arguments=['-r', f'__ns:={NS}', '-p', 'diagnostics_period_s:=0.2',
                           '-p', 'max_record_age_s:=3e9']) as node:
        acks = probe.collect(MemoryAck, f'{NS}/memory/acknowledged', latched_qos())
        diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
        publishers = {
            'sync': probe.node.create_publisher(SyncState, f'{NS}/sync/state', RELIABLE),
            # Transient local, like the witness: the memory's subscription does not match less.
            'witness': probe.node.create_publisher(WitnessRecord, f'{NS}/witness', WITNESS_QOS),
            'master': probe.node.create_publisher(Resonance, f'{NS}/master/resonance', RELIABLE),
        }
        assert probe.spin_until(
            lambda: acks and all(p.get_subscription_count() for p in publishers.values()),
            timeout_s=60), node.output()
        assert acks[-1].total == 0

        for second, coherence in zip(range(100, 105), (0.2, 0.4, 0.65, 0.8, 0.7)):
            publishers['sync'].publish(_sync(second, coherence))
        publishers['sync'].publish(_sync(106, math.nan))  # refused, counted
        for entry in witness_entries(3, stamp_ns=lambda sequence: (100 + sequence) * 10**9):
            publishers['witness'].publish(_witness(entry))
        publishers['master'].publish(_resonance(101, 'master'))
        publishers['master'].publish(_resonance(102, 'master'))

        assert probe.spin_until(lambda: acks[-1].total == 10, timeout_s=30), node.output()
        counts = dict(zip(acks[-1].kinds, acks[-1].counts))
        assert counts == {'resonance': 2, 'sync': 5, 'mesh': 0, 'witness': 3}
        assert acks[-1].newest_stamp.sec == 104

        request = QueryMemory.Request(kind='sync', start=_stamp(101), end=_stamp(103.5))
        reply = _call(probe, QueryMemory, 'memory/query', request)
        assert reply.success and not reply.truncated
        assert [(s.header.stamp.sec, s.coherence, s.collapsed) for s in reply.sync_states] == \
            [(101, 0.4, False), (102, 0.65, True), (103, 0.8, True)]

        request = QueryMemory.Request(kind='witness', max_results=2, newest_first=True)
        reply = _call(probe, QueryMemory, 'memory/query', request)
        assert reply.truncated and [w.sequence for w in reply.witness_records] == [2, 1]
        assert reply.witness_records[0].previous_digest == reply.witness_records[1].digest

        request = QueryMemory.Request(kind='resonance', transducer='master')
        reply = _call(probe, QueryMemory, 'memory/query', request)
        assert len(reply.signatures) == 6
        assert [s.tau for s in reply.signatures[:3]] == [0.01, 0.1, 1.0]
        assert reply.signatures[1].t_imag == 0.5 and reply.signatures[1].coherence == 0.5

        reply = _call(probe, QueryMemory, 'memory/query', QueryMemory.Request(kind='weather'))
        assert not reply.success and 'weather' in reply.message

        answer = _call(probe, ReconstructCoherence, 'memory/reconstruct',
                       ReconstructCoherence.Request(stamp=_stamp(102.3)))
        assert answer.known and answer.source == 'record'
        assert answer.nearest_stamp.sec == 102 and answer.state.coherence == 0.65
        answer = _call(probe, ReconstructCoherence, 'memory/reconstruct',
                       ReconstructCoherence.Request(stamp=_stamp(5000)))
        assert not answer.known and answer.source == ''

        def _statuses():
            latest = {}
            for array in diagnostics:
                latest.update({s.name: s for s in array.status})
            return latest

        def _rejection_reported():
            status = _statuses().get('cell7/memory: input')
            # Refused by the input rule (input_rules.check_sync_state) before the store.
            return status and ('rejected_non_finite', '1') in [
                (kv.key, kv.value) for kv in status.values]

        def _store_values():
            status = _statuses().get('cell7/memory: store')
            return {kv.key: kv.value for kv in status.values} if status else {}

        assert probe.spin_until(_rejection_reported, timeout_s=30)
        # The newest array may have been published before the last commit: wait for the one
        # after it (the count never goes past 10).
        assert probe.spin_until(lambda: _store_values().get('acknowledged_total') == '10',
                                timeout_s=30), _store_values()
        statuses = _statuses()
        store_values = _store_values()
        assert store_values['path'] == str(store_path)
        assert int(store_values['disk_bytes']) > 0
        assert statuses['cell7/memory: witness chain'].level == b'\x00'

        assert node.stop() == 0, node.output()
    with MemoryStore(store_path, read_only=True) as store:
        assert store.acknowledged.total == 10 and store.witness.chain_breaks == {}


@pytest.mark.parametrize('move_aside', [False, True])
def test_corrupt_store_is_refused_or_moved_aside_when_told(tmp_path, move_aside):
    env = isolated_ros_env()
    path = tmp_path / 'cell.sqlite3'
    path.write_bytes(b'not a database at all' * 50)
    with NodeProcess.run('becomingone_core', 'memory', env, ros_arguments=[
            '-p', f'path:={path}', '-p', f'move_aside_corrupt:={str(move_aside).lower()}']
            ) as node:
        if not move_aside:
            # Refused by configure: the node stays unconfigured and running (lifecycle).
            assert wait_until(lambda: 'cannot configure' in node.output(), timeout_s=60), \
                node.output()
            assert node.running and 'move_aside_corrupt' in node.output()
            assert str(path) in node.output()
            assert path.read_bytes().startswith(b'not a database')
            assert node.stop() == 0, node.output()
            return
        assert wait_until(lambda: 'records acknowledged' in node.output(), timeout_s=60), \
            node.output()
        assert 'moved it to' in node.output()
    [moved] = tmp_path.glob('cell.sqlite3.corrupt-*')
    assert moved.read_bytes().startswith(b'not a database')
    with MemoryStore(path) as store:
        assert store.acknowledged.total == 0


def test_a_tampered_witness_record_in_the_file_is_reported_at_its_sequence(tmp_path):
    path = tmp_path / 'cell.sqlite3'
    with MemoryStore(path) as store:
        for entry in witness_entries(20):
            store.witness.add(entry)
        store.flush()
        store._connection.execute("UPDATE witness SET event = 'quiet' WHERE sequence = 12")
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run('becomingone_core', 'memory', env, ros_arguments=[
            '-p', f'path:={path}', '-p', 'diagnostics_period_s:=0.2']) as node:
        diagnostics = probe.collect(DiagnosticArray, '/diagnostics')

        def _chain_status():
            for array in diagnostics:
                for status in array.status:
                    if status.name == 'memory: witness chain':
                        return status
        assert probe.spin_until(_chain_status, timeout_s=60), node.output()
        status = _chain_status()
        assert status.level == b'\x02' and 'sequence 12' in status.message
        assert [(kv.key, kv.value) for kv in status.values] == \
            [('first_bad_sequence_cell/witness', '12'), ('first_bad_epoch_cell/witness', '0'),
             ('duplicates_ignored', '0')]
    with MemoryStore(path) as store:  # reported, never repaired
        assert store.witness.chain_breaks == {'cell/witness': 12}
