"""
The memory as a lifecycle node, in its own process, driven like ``ros2 lifecycle set``.

A store that cannot open leaves the node unconfigured with the reason logged once, still
running and answering GetState (no exit code, so no respawn loop). With ``autostart:=false``
and a good path, configure and activate bring it up and it acknowledges records; deactivate
stops ingest, cleanup closes the store, and configure + activate bring it up again.
"""

import math

from becomingone_core.memory.store import MemoryStore
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, Lifecycle, RosProbe
from becomingone_msgs.msg import MemoryAck, SyncState
from lifecycle_msgs.msg import Transition
import pytest
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

NODE = '/memory'
RELIABLE = QoSProfile(depth=100, reliability=QoSReliabilityPolicy.RELIABLE)


def _unopenable(tmp_path, kind):
    if kind == 'corrupt':
        path = tmp_path / 'cell.sqlite3'
        path.write_bytes(b'not a database at all' * 50)
        return path
    blocker = tmp_path / 'a_file'  # a directory that is a file: even root cannot create it
    blocker.write_text('x')
    return blocker / 'cell.sqlite3'


@pytest.mark.parametrize('kind', ['corrupt', 'not_a_directory'])
def test_a_store_that_cannot_open_leaves_memory_unconfigured_and_running(tmp_path, kind):
    env = isolated_ros_env()
    path = _unopenable(tmp_path, kind)
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'memory', env, ros_arguments=['-p', f'path:={path}']) as node:
        lifecycle = Lifecycle(probe, NODE)
        probe.spin_for(3.0)
        assert node.running, node.output()
        assert lifecycle.get() == 'unconfigured'
        output = node.output()
        assert output.count('cannot configure') == 1, output
        assert "parameter 'path'" in output and str(path) in output, output
        assert 'Traceback' not in output, output
        probe.spin_for(2.0)
        assert node.running and node.output().count('cannot configure') == 1
        if kind == 'corrupt':
            assert path.read_bytes().startswith(b'not a database')
        assert node.stop() == 0, node.output()


def _sync_publisher(probe):
    publisher = probe.node.create_publisher(SyncState, 'sync/state', RELIABLE)
    clock = probe.node.get_clock()

    def send():
        message = SyncState()
        message.header.stamp = clock.now().to_msg()
        message.sync_real, message.sync_imag = math.sqrt(0.9), 0.0
        message.coherence, message.threshold, message.collapsed = 0.9, 0.6, True
        publisher.publish(message)
    return send


def test_configure_and_activate_on_a_good_path_acknowledges_records(tmp_path):
    env = isolated_ros_env()
    path = tmp_path / 'cell.sqlite3'
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'memory', env,
            ros_arguments=['-p', f'path:={path}', '-p', 'autostart:=false']) as node:
        acks = probe.collect(MemoryAck, 'memory/acknowledged', latched_qos())
        send = _sync_publisher(probe)
        lifecycle = Lifecycle(probe, NODE)
        assert lifecycle.get() == 'unconfigured' and not path.exists()

        assert lifecycle.change(Transition.TRANSITION_CONFIGURE), node.output()
        assert lifecycle.get() == 'inactive' and path.exists()
        for _ in range(5):
            send()
            probe.spin_for(0.1)
        assert acks == [], 'an inactive memory published its mark'

        assert lifecycle.change(Transition.TRANSITION_ACTIVATE), node.output()

        def acknowledged(total):
            def reached():
                send()
                probe.spin_for(0.05)
                return acks and acks[-1].total >= total
            return reached
        assert probe.spin_until(acknowledged(5), 30), node.output()

        assert lifecycle.change(Transition.TRANSITION_DEACTIVATE), node.output()
        probe.spin_for(0.5)
        stored = acks[-1].total
        for _ in range(5):
            send()
            probe.spin_for(0.1)
        assert acks[-1].total == stored, 'an inactive memory kept storing'

        assert lifecycle.change(Transition.TRANSITION_CLEANUP), node.output()
        assert lifecycle.get() == 'unconfigured'
        with MemoryStore(path, read_only=True) as store:  # closed, everything committed
            assert store.acknowledged.total == stored

        assert lifecycle.change(Transition.TRANSITION_CONFIGURE), node.output()
        assert lifecycle.change(Transition.TRANSITION_ACTIVATE), node.output()
        assert probe.spin_until(acknowledged(stored + 3), 30), node.output()
        assert node.stop() == 0, node.output()
    with MemoryStore(path, read_only=True) as store:
        assert store.acknowledged.total >= stored + 3
