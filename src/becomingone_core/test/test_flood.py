"""
A DDS flood of every core executable, then proof that the same processes still work.

``master``, ``emissary``, ``sync``, ``witness``, ``mesh`` and ``memory`` run as their own
processes (entry points, strict callbacks: any internal error kills the process and fails the
test). For a few seconds a probe publishes on every topic they subscribe to: messages with
field values across the whole wire range (``testing.hostile``) and extreme but valid ones
(blocks stamped an hour ahead, half a second ahead and seconds old from many sources; 20,000
distinct peers; witness records from hundreds of observers with sequence 2**64 - 1 among
them). Then a clean 2 Hz sine from ``sim_source`` must collapse the flooded cell within five
Master windows, the memory must acknowledge and return records newer than the flood, the
mesh must list a clean peer alive, and every process must still be running.
"""

import random
import time

from becomingone_core.input_rules import NANOSECONDS
from becomingone_core.mesh import ESTOP_TOPIC, PEERS_TOPIC
from becomingone_core.nodes.estop_node import make_command
from becomingone_core.ros.guarded_node import STRICT_ENVIRONMENT
from becomingone_core.ros.qos import RESONANCE_QOS, SYNC_STATE_QOS, WITNESS_QOS
from becomingone_core.ros.qos import WITNESS_SIGNATURE_QOS
from becomingone_core.scales import preset
from becomingone_core.security.mesh_auth import OPEN
from becomingone_core.testing import hostile
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import (EStopCommand, MemoryAck, MeshState, PeerState, Phase,
                                  Resonance, SyncState, WitnessRecord, WitnessSignature)
from becomingone_msgs.srv import QueryMemory
from rclpy.qos import qos_profile_sensor_data, QoSProfile, QoSReliabilityPolicy

FLOOD_S = 4.0
MASTER_WINDOWS = 5
WINDOW_S = preset('demo').master.window_s
EXECUTABLES = ('master', 'emissary', 'sync', 'witness', 'mesh', 'memory')
# Topic -> (type, QoS of a publisher that matches the subscribers).
TOPICS = {
    'phase': (Phase, 50),
    'master/resonance': (Resonance, RESONANCE_QOS),
    'emissary/resonance': (Resonance, RESONANCE_QOS),
    'sync/state': (SyncState, SYNC_STATE_QOS),
    'witness': (WitnessRecord, WITNESS_QOS),
    'mesh/state': (MeshState, 50),
    PEERS_TOPIC: (PeerState, QoSProfile(depth=50,
                                        reliability=QoSReliabilityPolicy.BEST_EFFORT)),
    ESTOP_TOPIC: (EStopCommand, latched_qos()),
    'witness/signatures': (WitnessSignature, WITNESS_SIGNATURE_QOS),
}


def _stamp(message, nanoseconds):
    message.header.stamp.sec, message.header.stamp.nanosec = divmod(int(nanoseconds), NANOSECONDS)
    return message


def _extreme_but_valid(topic, now_ns, rng, index):
    """Return a message of ``topic`` that is well formed but chosen to hurt."""
    if topic == 'phase':
        ahead_s = rng.choice([3600.0, 0.45, -5.0, 0.0, 1e-3])
        message = Phase(channels=1, stamps_offset=[0.0, 0.001], real=[1.0, 0.5],
                        imag=[0.0, 0.5])
        message.source = f'source{rng.randrange(64)}'
        return _stamp(message, now_ns + ahead_s * NANOSECONDS)
    if topic.endswith('resonance'):
        value = rng.uniform(-0.7, 0.7)
        message = Resonance(summary_real=value, summary_imag=value,
                            summary_coherence=2 * value * value, samples=2**63 - 1,
                            transducer='z' * 256)
        return _stamp(message, now_ns + rng.uniform(-5.0, 0.4) * NANOSECONDS)
    if topic == 'sync/state':
        message = SyncState(coherence=rng.random(), collapsed=rng.random() < 0.5,
                            threshold=0.5, sync_real=rng.uniform(-0.7, 0.7))
        return _stamp(message, now_ns + rng.uniform(-5.0, 0.4) * NANOSECONDS)
    if topic == 'witness':
        message = WitnessRecord(layer=rng.randrange(4), subject='s', event='e',
                                sequence=rng.choice([0, 1, 2**63 - 1, 2**64 - 1]),
                                previous_digest='0' * 64, digest='f' * 64)
        message.observer = f'observer{index % 500}'
        return _stamp(message, now_ns)
    if topic == 'mesh/state':
        return _stamp(MeshState(node_id='m' * 256, global_coherence=1.0), now_ns)
    if topic == PEERS_TOPIC:
        message = PeerState(node_id=f'peer{index}', host=f'host{index}', role=0, weight=10.0,
                            t_real=0.6, coherence=0.36, sequence=index + 1)
        return _stamp(message, now_ns)
    if topic == 'witness/signatures':
        message = WitnessSignature(observer=f'observer{index % 500}', sequence=2**63 - 1,
                                   digest='a' * 64, certificate=[1] * 100, signature=[2] * 64)
        return _stamp(message, now_ns)
    # An e-stop command from an ever-new source: an open mesh admits it, bounded by max_sources.
    return make_command(OPEN, rng.random() < 0.5, f'source{index}', now_ns)


def _clean_peer(now_ns, sequence):
    message = PeerState(node_id='clean_peer', host='clean_host', role=0, weight=1.0,
                        t_real=0.9, coherence=0.81, collapsed=True, sequence=sequence)
    return _stamp(message, now_ns)


def test_a_flooded_cell_still_collapses_stores_and_meshes(tmp_path):
    env = isolated_ros_env()
    env[STRICT_ENVIRONMENT] = '1'
    common = ['-p', 'scale:=demo']
    arguments = {
        'memory': ['-p', f'path:={tmp_path / "flood.sqlite3"}'],
        'mesh': ['-p', 'node_id:=cell', '-p', 'host:=cell_host'],
    }
    processes = {name: NodeProcess.run('becomingone_core', name, env,
                                       ros_arguments=[*common, *arguments.get(name, [])])
                 for name in EXECUTABLES}
    source = None
    try:
        with RosProbe(env) as probe:
            node = probe.node
            publishers = {topic: node.create_publisher(kind, topic, qos)
                          for topic, (kind, qos) in TOPICS.items()}
            # Every subscriber of every topic matched before the flood starts.
            expected = {'phase': 2, 'master/resonance': 3, 'emissary/resonance': 3,
                        'sync/state': 3, 'witness': 1, 'mesh/state': 1, PEERS_TOPIC: 1,
                        ESTOP_TOPIC: 1, 'witness/signatures': 1}
            assert probe.spin_until(lambda: all(
                publishers[t].get_subscription_count() >= n for t, n in expected.items()), 60)
            rng = random.Random(20261201)
            sent = 0
            deadline = time.monotonic() + FLOOD_S
            while time.monotonic() < deadline:
                now_ns = node.get_clock().now().nanoseconds
                for topic, (kind, _) in TOPICS.items():
                    publishers[topic].publish(hostile.random_message(kind, rng))
                    sent += 1
                    for _ in range(5 if topic == PEERS_TOPIC else 1):
                        publishers[topic].publish(_extreme_but_valid(topic, now_ns, rng, sent))
                        sent += 1
                probe.executor.spin_once(timeout_sec=0)
            publishers[ESTOP_TOPIC].publish(
                make_command(OPEN, False, 'operator', node.get_clock().now().nanoseconds))
            # Reliable publishers wait for the flooded readers: the rate is theirs to set.
            print(f'flood: {sent} messages in {FLOOD_S:g} s on {len(TOPICS)} topics')
            assert sent > 400, f'only {sent} messages in {FLOOD_S} s'
            flood_end_ns = node.get_clock().now().nanoseconds
            crashed = [name for name, p in processes.items() if not p.running]
            assert not crashed, '\n'.join(processes[n].output()[-3000:] for n in crashed)

            # The same processes, now with a clean sensor: the cell collapses in time.
            states = probe.collect(SyncState, 'sync/state', SYNC_STATE_QOS)
            acks = probe.collect(MemoryAck, 'memory/acknowledged', latched_qos())
            meshes = probe.collect(MeshState, 'mesh/state', 10)
            clean_input = []
            probe.node.create_subscription(
                Phase, 'phase', lambda m: m.source == 'clean' and clean_input.append(
                    m.header.stamp.sec * NANOSECONDS + m.header.stamp.nanosec),
                qos_profile_sensor_data)
            source_started_ns = node.get_clock().now().nanoseconds
            source = NodeProcess.run('becomingone_core', 'sim_source', env,
                                     ros_arguments=['-p', 'source_name:=clean'])

            def first_clean_collapse_ns():
                return next((s.header.stamp.sec * NANOSECONDS + s.header.stamp.nanosec
                             for s in states if s.collapsed and s.header.stamp.sec * NANOSECONDS
                             + s.header.stamp.nanosec > flood_end_ns), None)

            def clean_collapse():
                return first_clean_collapse_ns() is not None

            sequence = [0]

            def with_clean_peer(predicate):
                def check():
                    for _ in range(50):  # drain: spin_until takes one callback per poll
                        probe.executor.spin_once(timeout_sec=0)
                    sequence[0] += 1
                    publishers[PEERS_TOPIC].publish(
                        _clean_peer(node.get_clock().now().nanoseconds, sequence[0]))
                    return predicate()
                return check

            # (The wait allows for sim_source's own start-up; the bound is checked on stamps.)
            assert probe.spin_until(with_clean_peer(clean_collapse),
                                    MASTER_WINDOWS * WINDOW_S + 20.0), \
                processes['sync'].output()[-2000:]
            # Within five Master windows of the first clean sample, on the sensors' clock.
            # From the first clean sample the probe saw; on a loaded machine the best-effort
            # probe may see none, and then from the source's start, which no clean sample can
            # precede (so the bound only gets stricter).
            first_clean_ns = min(clean_input, default=source_started_ns)
            took_s = (first_clean_collapse_ns() - first_clean_ns) / NANOSECONDS
            print(f'flooded cell: collapse {took_s:.1f} s after the first clean sample')
            assert took_s <= MASTER_WINDOWS * WINDOW_S, took_s

            # The mesh lists the clean peer alive (dead flood peers make room for it).
            assert probe.spin_until(with_clean_peer(lambda: any(
                s.state.node_id == 'clean_peer' and s.alive
                for m in meshes[-3:] for s in m.peers)),
                20.0), processes['mesh'].output()[-2000:]

            # The memory acknowledges records newer than the flood and returns them.
            assert probe.spin_until(lambda: acks and acks[-1].newest_stamp.sec * NANOSECONDS
                                    + acks[-1].newest_stamp.nanosec > flood_end_ns, 20)
            request = QueryMemory.Request(kind='sync', max_results=10, newest_first=True)
            request.start.sec = flood_end_ns // NANOSECONDS
            reply = probe.call(node.create_client(QueryMemory, 'memory/query'), request)
            assert reply.success and reply.sync_states, reply.message
            crashed = [name for name, p in processes.items() if not p.running]
            assert not crashed, '\n'.join(processes[n].output()[-3000:] for n in crashed)
    finally:
        if source is not None:
            source.stop()
        outputs = {name: (p.stop(), p.output()) for name, p in processes.items()}
    for name, (code, output) in outputs.items():
        assert 'internal_error' not in output, f'{name}:\n{output[-3000:]}'
        assert 'rejected' in output, f'{name} logged no rejection:\n{output[-3000:]}'
        assert code == 0, f'{name} exited {code}:\n{output[-3000:]}'
