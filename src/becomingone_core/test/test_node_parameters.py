"""Parameters at run time: sync thresholds change safely, a transducer's bank is read-only."""

from becomingone_core.nodes.sync_node import SyncNode
from becomingone_core.nodes.transducer_node import TransducerNode
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
import pytest
from rclpy.parameter import Parameter


@pytest.fixture
def probe():
    with RosProbe(isolated_ros_env()) as probe:
        yield probe


def test_sync_thresholds_change_only_to_valid_values(probe):
    node = SyncNode(context=probe.context)
    [result] = node.set_parameters([Parameter('threshold', value=0.8)])
    assert result.successful and node.layer.threshold == 0.8
    [result] = node.set_parameters([Parameter('hysteresis', value=0.85)])
    assert not result.successful and 'hysteresis' in result.reason
    assert node.layer.hysteresis == pytest.approx(0.1)
    assert node.get_parameter('hysteresis').value == pytest.approx(0.1)
    results = node.set_parameters_atomically([Parameter('threshold', value=0.3),
                                             Parameter('hysteresis', value=0.2)])
    assert results.successful and (node.layer.threshold, node.layer.hysteresis) == (0.3, 0.2)
    node.destroy_node()


def test_transducer_bank_parameters_are_read_only(probe):
    node = TransducerNode('master', context=probe.context,
                          parameter_overrides=[Parameter('window_s', value=3.0)])
    assert node.transducer.config.window_s == 3.0
    [result] = node.set_parameters([Parameter('window_s', value=5.0)])
    assert not result.successful and node.transducer.config.window_s == 3.0
    assert node.describe_parameter('window_s').read_only
    node.destroy_node()
