"""
Ctrl-C ends a node or a cell cleanly wherever it lands.

SIGINT shuts the rclpy context down at any moment, also in the middle of a callback, whose
next publish then raises; ``becomingone_cell`` used to exit 1 with that traceback now and then.
The in-process tests shut the context down inside a callback, as SIGINT would, every time.
"""

from becomingone_core.nodes import cell
from becomingone_core.nodes.witness_node import WitnessNode
from becomingone_core.ros import runner
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess, wait_until
from becomingone_msgs.msg import WitnessRecord
import pytest
import rclpy
from rclpy.node import Node


@pytest.fixture
def ros_env(monkeypatch):
    for key, value in isolated_ros_env({}).items():
        monkeypatch.setenv(key, value)


class _ShutDownMidCallback(Node):
    def __init__(self):
        super().__init__('shut_down_mid_callback')
        self._publisher = self.create_publisher(WitnessRecord, 'witness', 10)
        self.create_timer(0.05, self._tick)

    def _tick(self):
        rclpy.shutdown()  # as SIGINT does, between two statements of a callback
        self._publisher.publish(WitnessRecord())  # RCLError: the context is invalid


def test_a_node_shut_down_inside_a_callback_exits_0(ros_env):
    assert runner.run_nodes(_ShutDownMidCallback, args=['test']) == 0


def test_a_cell_shut_down_while_its_witness_publishes_exits_0(ros_env, monkeypatch):
    emit = WitnessNode._emit

    def shut_down_then_emit(node, records):
        if records:
            rclpy.shutdown()
        emit(node, records)
    monkeypatch.setattr(WitnessNode, '_emit', shut_down_then_emit)
    assert cell.main(['--sim', '--scale', 'demo', '--duration', '30']) == 0


def test_sigint_to_a_running_cell_exits_0():
    env = isolated_ros_env()
    for delay_s in (0.0, 0.3, 0.7, 1.1):
        with NodeProcess.run('becomingone_core', 'becomingone_cell', env,
                             arguments=['--sim', '--scale', 'demo']) as process:
            # Once it is witnessing, SIGINT lands among callbacks and publishes.
            assert wait_until(lambda: 'realign' in process.output() or not process.running,
                              timeout_s=60), process.output()
            wait_until(lambda: False, timeout_s=delay_s)
            assert process.stop() == 0, process.output()
            assert 'Traceback' not in process.output(), process.output()
