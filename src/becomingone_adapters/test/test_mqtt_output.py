"""
``mqtt_output`` against a real Mosquitto, over real DDS.

Records are retained QoS 1 JSON, only for sync states the node accepts (out-of-range ones
never reach the broker); nothing is published while the lifecycle node is inactive; the broker
publishes the will (``online: false``, retained) when the node dies.
"""

import json

from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import Lifecycle, RosProbe, stamped
from becomingone_msgs.msg import SyncState
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
import mqtt_testing
from mqtt_testing import needs_mosquitto, Subscriber

pytestmark = needs_mosquitto
broker = mqtt_testing.broker

GOOD = {'collapsed': True, 'coherence': 0.81, 'sync_real': 0.9, 'sync_imag': 0.0,
        'threshold': 0.7}


def test_the_state_output_is_retained_qos1_and_the_will_says_offline(broker):
    env = isolated_ros_env()
    topic = 'becomingone/out/state'
    watcher = Subscriber(broker.port, topic)
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'mqtt_output', env, ros_arguments=[
                '-p', f'broker_port:={broker.port}', '-p', f'topic:={topic}',
                '-p', 'max_rate_hz:=50.0']) as output:
        sync = probe.node.create_publisher(SyncState, 'sync/state', 10)
        arrays = probe.collect(DiagnosticArray, '/diagnostics', 50)

        def send_good():
            sync.publish(stamped(SyncState(**GOOD), probe.node))
            probe.spin_for(0.05)
            return any(r['collapsed'] for r in watcher.records())
        assert probe.spin_until(send_good, 30), output.output()
        first = next(r for r in watcher.records() if r['collapsed'])
        assert first['coherence'] == 0.81 and first['phase'] == {'real': 0.9, 'imag': 0.0}
        assert watcher.messages[-1].qos == 1

        # Out-of-range states never reach the broker; they are counted.
        count = len(watcher.records())
        for bad in (SyncState(collapsed=True, coherence=7.0, sync_real=0.9),
                    SyncState(collapsed=True, coherence=0.8, sync_real=float('nan'))):
            sync.publish(stamped(bad, probe.node))

        def counted():
            values = {kv.key: float(kv.value) for a in arrays for s in a.status
                      if s.name == 'mqtt_output: input' for kv in s.values}
            return (values.get('rejected_out_of_range', 0) >= 1
                    and values.get('rejected_non_finite', 0) >= 1)
        assert probe.spin_until(counted, 10), output.output()
        assert all(r['coherence'] <= 1.0 for r in watcher.records()[count:])

        # The output dies (SIGKILL): the broker publishes its will, retained.
        output.kill()
        assert probe.spin_until(lambda: any(not r['online'] for r in watcher.records()), 90), \
            broker.log()
        late = Subscriber(broker.port, topic)
        try:
            assert probe.spin_until(lambda: late.messages, 10)
            assert late.messages[0].retain and json.loads(late.messages[0].payload) == {
                'node': 'mqtt_output', 'stamp': 0.0, 'coherence': 0.0,
                'phase': {'real': 0.0, 'imag': 0.0}, 'collapsed': False, 'online': False}
        finally:
            late.close()
    watcher.close()


def test_nothing_is_published_while_inactive(broker):
    env = isolated_ros_env()
    topic = 'becomingone/managed/state'
    watcher = Subscriber(broker.port, topic)
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'mqtt_output', env, ros_arguments=[
                '-p', f'broker_port:={broker.port}', '-p', f'topic:={topic}',
                '-p', 'autostart:=false']) as output:
        sync = probe.node.create_publisher(SyncState, 'sync/state', 10)
        lifecycle = Lifecycle(probe, '/mqtt_output')
        assert lifecycle.change(Transition.TRANSITION_CONFIGURE), output.output()
        assert lifecycle.get() == 'inactive'
        for _ in range(20):  # configured (connected, gate current) but inactive: silent
            sync.publish(stamped(SyncState(**GOOD), probe.node))
            probe.spin_for(0.05)
        assert watcher.records() == []
        assert lifecycle.change(Transition.TRANSITION_ACTIVATE), output.output()

        def published():
            sync.publish(stamped(SyncState(**GOOD), probe.node))
            probe.spin_for(0.05)
            return any(r['collapsed'] for r in watcher.records())
        assert probe.spin_until(published, 30), output.output()
        assert lifecycle.change(Transition.TRANSITION_DEACTIVATE)
        assert probe.spin_until(lambda: watcher.records()[-1]['collapsed'] is False, 10)
    watcher.close()
