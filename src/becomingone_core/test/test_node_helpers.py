"""Parameter declaration and diagnostics helpers, on real rclpy nodes."""

from becomingone_core.health import Status, WARN
from becomingone_core.ros.diagnostics import DiagnosticsPublisher
from becomingone_core.ros.parameters import declare, ParameterError
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
from diagnostic_msgs.msg import DiagnosticArray
import pytest
import rclpy
from rclpy.parameter import Parameter


@pytest.fixture
def probe():
    with RosProbe(isolated_ros_env()) as probe:
        yield probe


def _node(probe, **overrides):
    return rclpy.create_node(
        'subject', context=probe.context,
        parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])


def test_declare_returns_value_and_keeps_description(probe):
    node = _node(probe, window=2.5)
    assert declare(node, 'window', 1.0, 'integration window (s)', minimum=0.01) == 2.5
    descriptor = node.describe_parameter('window')
    assert descriptor.description == 'integration window (s)'
    assert descriptor.floating_point_range[0].from_value == pytest.approx(0.01)
    node.destroy_node()


def test_out_of_range_override_fails_naming_the_parameter(probe):
    node = _node(probe, window=-1.0)
    with pytest.raises(ParameterError, match="'window'"):
        declare(node, 'window', 1.0, 'integration window (s)', minimum=0.01)
    node.destroy_node()


def test_choice_outside_list_fails(probe):
    node = _node(probe, scale='huge')
    with pytest.raises(ParameterError, match="'scale'.*huge"):
        declare(node, 'scale', 'mini', 'scale preset', choices=['micro', 'mini'])
    node.destroy_node()


def test_diagnostics_are_published_with_node_prefix_and_values(probe):
    node = _node(probe)
    diagnostics = DiagnosticsPublisher(node, period_s=0.1, hardware_id='test-host')
    diagnostics.add('input', lambda: Status(WARN, 'late', {'age_s': 1.5}))
    diagnostics.add('broken', lambda: 1 / 0)
    probe.executor.add_node(node)
    arrays = probe.collect(DiagnosticArray, '/diagnostics')
    assert probe.spin_until(lambda: arrays, timeout_s=20)
    by_name = {status.name: status for status in arrays[0].status}
    assert set(by_name) == {'subject: input', 'subject: broken'}
    assert by_name['subject: input'].level == bytes([WARN])
    assert by_name['subject: input'].hardware_id == 'test-host'
    assert [(kv.key, kv.value) for kv in by_name['subject: input'].values] == [('age_s', '1.5')]
    assert by_name['subject: broken'].level == bytes([2])
    probe.executor.remove_node(node)
    node.destroy_node()
