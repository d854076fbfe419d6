"""
MQTT round trip through a real Mosquitto, a real cell and real DDS; the broker restarted.

The leaf publishes a 2 Hz sine (stamped, over TLS with a client certificate and a password)
-> ``mqtt_to_phase`` -> a ``becomingone_cell`` (scale demo) collapses -> ``mqtt_output``
publishes the state retained with QoS 1 -> a subscriber that comes later gets it at once.
Then the broker is killed and started again: both bridges reconnect, the gap and the
reconnect are counted in /diagnostics, and the cell collapses again on MQTT input.
"""

import subprocess

from becomingone_core.ros.stamps import seconds
from becomingone_core.testing.processes import executable, isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import Phase, SyncState
from diagnostic_msgs.msg import DiagnosticArray
import mqtt_testing
from mqtt_testing import leaf_command, needs_mosquitto, Subscriber, tls_arguments
import pytest
from rclpy.qos import qos_profile_sensor_data

broker = mqtt_testing.broker


def _cell_installed():
    try:
        executable('becomingone_core', 'becomingone_cell')
    except (FileNotFoundError, LookupError):
        return False
    return True


pytestmark = [needs_mosquitto, pytest.mark.skipif(
    not _cell_installed(), reason='becomingone_core has no becomingone_cell executable here')]

PHASE_TOPIC = 'becomingone/test/phase'
STATE_TOPIC = 'becomingone/test/state'


def _values(arrays, name):
    """Return the newest numeric values of the status ``name`` ({} if none yet)."""
    for array in reversed(arrays):
        for status in array.status:
            if status.name == name:
                return {kv.key: float(kv.value) for kv in status.values}
    return {}


def test_a_sine_over_mqtt_collapses_the_cell_and_its_state_survives_a_broker_restart(broker):
    env = isolated_ros_env()
    probe = RosProbe(env)
    states = probe.collect(SyncState, 'sync/state', latched_qos(depth=100))
    arrays = probe.collect(DiagnosticArray, '/diagnostics', 50)
    phases = probe.collect(Phase, 'phase', qos_profile_sensor_data)
    cell = NodeProcess.run('becomingone_core', 'becomingone_cell', env)
    bridge_in = NodeProcess.run('becomingone_adapters', 'mqtt_to_phase', env, ros_arguments=[
        *tls_arguments(broker), '-p', f'topics:=[{PHASE_TOPIC}]'])
    bridge_out = NodeProcess.run('becomingone_adapters', 'mqtt_output', env, ros_arguments=[
        *tls_arguments(broker), '-p', f'topic:={STATE_TOPIC}', '-p', 'node_name:=cell_a'])
    leaf_log = open(broker.directory / 'leaf.log', 'w+')
    leaf = subprocess.Popen(leaf_command(broker, PHASE_TOPIC, '--source', 'sine', '--frequency',
                                         '2', '--rate', '50', '--duration', '120'),
                            stdout=leaf_log, stderr=subprocess.STDOUT, env=env)
    watcher = Subscriber(broker.port, STATE_TOPIC)
    late = None

    def logs():
        leaf_log.seek(0)
        return (f'cell:\n{cell.output()[-1500:]}\nin:\n{bridge_in.output()[-1500:]}\n'
                f'out:\n{bridge_out.output()[-1500:]}\nleaf:\n{leaf_log.read()[-500:]}\n'
                f'broker:\n{broker.log()[-1500:]}')

    def collapsed_on_the_broker():
        return any(r['collapsed'] for r in watcher.records())

    try:
        # 1. The sine collapses the cell; the state reaches the broker.
        assert probe.spin_until(lambda: any(s.collapsed for s in states), 90), logs()
        assert probe.spin_until(collapsed_on_the_broker, 20), logs()
        record = next(r for r in watcher.records() if r['collapsed'])
        assert record['node'] == 'cell_a' and record['online'] is True
        assert 0.0 < record['coherence'] <= 1.0 and set(record['phase']) == {'real', 'imag'}

        # 2. A subscriber that comes later gets the retained state at once.
        late = Subscriber(broker.port, STATE_TOPIC)
        assert probe.spin_until(lambda: late.messages, 10), logs()
        assert late.messages[0].retain and late.messages[0].qos == 1

        # 3. The broker dies and comes back: both bridges reconnect and count the gap.
        broker.kill()
        assert probe.spin_until(
            lambda: _values(arrays, 'mqtt_to_phase: mqtt').get('connected') == 0.0, 20), logs()
        broker.start()
        restarted = len(phases)
        for name in ('mqtt_to_phase: mqtt', 'mqtt_output: mqtt'):
            assert probe.spin_until(lambda n=name: _values(arrays, n).get('reconnects', 0) >= 1
                                    and _values(arrays, n).get('connected') == 1.0, 30), logs()
            values = _values(arrays, name)
            assert values['gap_s'] > 0.0 and values['connection_losses'] >= 1, values

        # 4. The leaf's samples flow again, and the cell collapses on them (a state stamped
        # a Master window after they resumed) and says so on the broker.
        assert probe.spin_until(lambda: len(phases) > restarted, 30), logs()
        resumed_s = seconds(phases[restarted].header.stamp)
        assert probe.spin_until(lambda: any(
            r['collapsed'] and r['stamp'] >= resumed_s + 2.0 for r in watcher.records()),
            90), logs()
        assert bridge_in.running and bridge_out.running, logs()
        assert _values(arrays, 'mqtt_to_phase: internal errors').get('internal_error') == 0.0
        assert broker.password not in bridge_in.output() + bridge_out.output()

        # 5. A clean stop says goodbye itself (the broker sends the will only for a crash).
        assert bridge_out.stop() == 0
        assert probe.spin_until(lambda: watcher.records()[-1]['online'] is False, 10), logs()
    finally:
        leaf.kill()
        leaf.wait()
        leaf_log.close()
        for subscriber in (watcher, late):
            if subscriber is not None:
                subscriber.close()
        for node in (bridge_out, bridge_in, cell):
            node.stop()
        probe.close()
