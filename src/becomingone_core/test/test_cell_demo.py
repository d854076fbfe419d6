"""``becomingone_cell --demo`` (what `make demo` runs) and the sync node's markers."""

import re

from becomingone_core.nodes import sync_node
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import Resonance, SyncState
import pytest
from visualization_msgs.msg import Marker, MarkerArray


def test_demo_collapses_releases_collapses_and_prints_a_summary():
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'becomingone_cell', env,
            arguments=['--demo', '--duration', '20']) as cell:
        states = probe.collect(SyncState, 'sync/state', latched_qos(depth=50))
        markers = probe.collect(MarkerArray, 'sync/markers', 10)
        assert probe.spin_until(lambda: markers and states, timeout_s=40), cell.output()
        cell.process.wait(timeout=60)
        output = cell.output()
        assert cell.process.returncode == 0, output
    assert 'collapse -> release -> collapse: seen' in output
    for line in ('time to collapse', 'time in collapse', 'records witnessed', 'inputs rejected'):
        assert line in output, output
    collapse = float(re.search(r'time to collapse: ([\d.]+) s', output).group(1))
    assert 0 < collapse <= 10.0  # 5 windows of the demo Master
    assert int(re.search(r'records witnessed: (\d+)', output).group(1)) > 100
    kinds = {m.type for m in markers[-1].markers}
    assert {Marker.ARROW, Marker.LINE_STRIP, Marker.TEXT_VIEW_FACING} <= kinds
    assert len(markers[-1].markers) == 6


def test_markers_are_built_only_while_someone_subscribes(monkeypatch):
    built = []
    original = sync_node.phase_markers
    monkeypatch.setattr(sync_node, 'phase_markers',
                        lambda *args: built.append(1) or original(*args))
    with RosProbe(isolated_ros_env()) as probe:
        node = sync_node.SyncNode(context=probe.context)
        probe.executor.add_node(node)
        publisher = probe.node.create_publisher(Resonance, 'emissary/resonance', 10)

        def send(count):
            for _ in range(count):
                message = Resonance(summary_real=0.9)
                message.header.stamp = probe.node.get_clock().now().to_msg()
                publisher.publish(message)
                probe.spin_for(0.02)

        assert probe.spin_until(lambda: node.count_publishers('emissary/resonance'), 20)
        assert probe.spin_until(lambda: (send(1), node.decisions)[1] > 0, 20)
        send(5)
        assert node.decisions > 1 and built == []
        received = probe.collect(MarkerArray, 'sync/markers', 10)
        assert probe.spin_until(lambda: (send(1), received)[1], 20)
        assert built
        probe.executor.remove_node(node)
        node.destroy_node()


@pytest.mark.parametrize('arguments', [['--scale', 'galactic']])
def test_cell_refuses_unknown_scale(arguments):
    env = isolated_ros_env()
    with NodeProcess.run('becomingone_core', 'becomingone_cell', env, arguments=arguments) as c:
        c.process.wait(timeout=30)
        assert c.process.returncode == 2 and 'galactic' in c.output()
