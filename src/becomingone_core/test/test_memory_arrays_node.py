"""
The memory node over real DDS, in its own process: bulk array reads and a burst of ingest.

``memory/query_arrays`` answers with the store's own arrays and refuses hostile requests by
range (counted in ``/diagnostics``, the node answering on); a burst of 10,000 sync states in
about a second is acknowledged whole.
"""

import time

from becomingone_core.memory.records import make_record, MESH, RESONANCE, SYNC
from becomingone_core.memory.store import MemoryStore
from becomingone_core.nodes.memory_node import STATE_QOS_DEPTH
from becomingone_core.testing.memory_records import sync_record
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import MemoryAck, SyncState
from becomingone_msgs.srv import QueryMemoryArrays
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray
import numpy as np
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

NS = 10**9
BURST = 10_000


def _time(stamp_ns):
    return Time(sec=stamp_ns // NS, nanosec=stamp_ns % NS)


def _fill(path):
    with MemoryStore(path) as store:
        for i in range(3000):
            store.add(sync_record(1000 * NS + i * 100_000_000 + i % 3))
            store.add(make_record(RESONANCE, 1000 * NS + i * NS, ('master', 'emissary')[i % 2],
                                  0.5, complex(0.5, -1 / 3)))
        store.add(make_record(MESH, 1000 * NS, 'mesh/a', 5e-324, complex(-1.0, 0.0)))
        store.flush()


def _arrays(reply):
    return (np.frombuffer(reply.stamp_ns, dtype=np.int64),
            np.frombuffer(reply.coherence), np.frombuffer(reply.t_real),
            np.frombuffer(reply.t_imag), np.array(reply.collapsed, dtype=bool),
            np.frombuffer(reply.source_index, dtype=np.uint32), list(reply.sources))


def _same(reply, result):
    stamps, coherence, real, imag, collapsed, index, sources = _arrays(reply)
    assert reply.success and reply.truncated == result.truncated
    for got, want in ((stamps, result.stamp_ns), (coherence, result.coherence),
                      (real, result.t_real), (imag, result.t_imag),
                      (collapsed, result.collapsed), (index, result.source_index)):
        assert got.tobytes() == np.ascontiguousarray(want, dtype=got.dtype).tobytes()
    assert tuple(sources) == result.sources


def test_query_arrays_answers_with_the_stores_arrays_and_refuses_hostile_requests(tmp_path):
    path = tmp_path / 'cell.sqlite3'
    _fill(path)
    with MemoryStore(path, read_only=True) as store:
        expected = {
            'hour': store.query_arrays(SYNC, 1000 * NS, 1100 * NS, limit=100_000),
            'resonance': store.query_arrays(RESONANCE, limit=1000),
            'master': store.query_arrays(RESONANCE, source='master', limit=1000),
            'newest': store.query_arrays(SYNC, limit=7, newest_first=True),
            'clamped': store.query_arrays(SYNC, limit=1000),
            'default': store.query_arrays(SYNC, limit=500),
            'mesh': store.query_arrays(MESH)}
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'memory', env, ros_arguments=[
                '-p', f'path:={path}', '-p', 'diagnostics_period_s:=0.2',
                '-p', 'query_arrays_max_limit:=1000',
                '-p', 'query_arrays_default_limit:=500']) as node:
        client = probe.node.create_client(QueryMemoryArrays, 'memory/query_arrays')
        diagnostics = probe.collect(DiagnosticArray, '/diagnostics')

        def ask(**fields):
            return probe.call(client, QueryMemoryArrays.Request(**fields))

        # 100 s at 10 Hz: exactly the node's maximum, so not truncated.
        assert len(expected['hour']) == 1000 and not expected['hour'].truncated
        _same(ask(kind='sync', start=_time(1000 * NS), end=_time(1100 * NS), max_results=1000),
              expected['hour'])
        _same(ask(kind='resonance', max_results=1000), expected['resonance'])
        _same(ask(kind='resonance', source='master', max_results=1000), expected['master'])
        _same(ask(kind='sync', max_results=7, newest_first=True), expected['newest'])
        _same(ask(kind='mesh'), expected['mesh'])
        # A limit past int64 (up to uint64 max) is the node's maximum; 0 is its default.
        for limit in (2**64 - 1, 2**63, 1001):
            reply = ask(kind='sync', max_results=limit)
            _same(reply, expected['clamped'])
            assert reply.truncated and 'truncated' in reply.message
        _same(ask(kind='sync'), expected['default'])
        # The widest range a Time can say: everything, clamped the same way.
        _same(ask(kind='sync', start=_time(0), end=Time(sec=2**31 - 1, nanosec=NS - 1),
                  max_results=2**64 - 1), expected['clamped'])

        hostile = {
            'witness': {'kind': 'witness'},  # not numbers: memory/query serves them
            'weather': {'kind': 'weather'},
            'giant kind': {'kind': 'k' * 100_000},
            'giant source': {'kind': 'sync', 'source': 's' * 100_000},
            'nanosec past a second': {'kind': 'sync',
                                      'start': Time(sec=1, nanosec=2**32 - 1)},
            'negative start': {'kind': 'sync', 'start': Time(sec=-5)},
            'end before start': {'kind': 'sync', 'start': _time(2000 * NS), 'end': _time(NS)},
        }
        for name, fields in hostile.items():
            reply = ask(**fields)
            assert not reply.success and not len(reply.stamp_ns), name
            assert len(reply.message) < 400, name  # shortened, not echoed whole
        _same(ask(kind='mesh'), expected['mesh'])  # and it answers on

        def refused():
            for array in reversed(diagnostics):
                for status in array.status:
                    if status.name.endswith('memory: requests'):
                        return {kv.key: float(kv.value) for kv in status.values}
            return {}
        # Counted by reason (refusals of memory/query count there too).
        assert probe.spin_until(lambda: refused().get('rejected_total') == len(hostile),
                                timeout_s=30), (refused(), node.output())
        assert refused() == {'rejected_out_of_range': 4, 'rejected_too_long': 1,
                             'rejected_bad_stamp': 2, 'rejected_total': 7}
        assert node.stop() == 0, node.output()


def test_a_burst_of_sync_states_is_acknowledged_whole(tmp_path):
    env = isolated_ros_env()
    path = tmp_path / 'burst.sqlite3'
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'memory', env, ros_arguments=['-p', f'path:={path}']) as node:
        acks = probe.collect(MemoryAck, 'memory/acknowledged', latched_qos())
        publisher = probe.node.create_publisher(SyncState, 'sync/state', QoSProfile(
            depth=STATE_QOS_DEPTH, reliability=QoSReliabilityPolicy.RELIABLE))
        assert probe.spin_until(lambda: acks and publisher.get_subscription_count(), 60), \
            node.output()
        assert acks[-1].total == 0
        # Stamped a little in the past, one microsecond apart: all inside the node's window.
        first_ns = probe.node.get_clock().now().nanoseconds - 5 * NS
        message = SyncState()
        begin = time.perf_counter()
        for i in range(BURST):
            message.header.stamp = _time(first_ns + i * 1000)
            message.coherence = (i % 100) / 100
            publisher.publish(message)
            if i % 100 == 99:  # about 10,000/s, the probe's executor kept alive
                due = begin + (i + 1) / BURST
                while time.perf_counter() < due:
                    probe.executor.spin_once(timeout_sec=max(0.0, due - time.perf_counter()))
        assert probe.spin_until(lambda: acks[-1].total >= BURST, timeout_s=60), (
            f'{acks[-1].total} of {BURST} acknowledged\n{node.output()}')
        assert acks[-1].total == BURST
        assert node.stop() == 0, node.output()
    with MemoryStore(path, read_only=True) as store:
        stored = store.query_arrays(SYNC)
        np.testing.assert_array_equal(stored.stamp_ns, first_ns + np.arange(BURST) * 1000)
        np.testing.assert_array_equal(stored.coherence, (np.arange(BURST) % 100) / 100)
