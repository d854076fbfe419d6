"""
Every parameter of every core node, given values out of its range, refuses to start cleanly.

The parameters are read from each node itself (``describe_parameters``), so a new parameter is
covered without editing this file. For each one the node is created again with values past the
declared range (both sides, NaN, infinities, the int64 edges), a 100,000-character string, a
5,000-item array, huge and non-finite array items: the node either starts with a value inside
the declared range or refuses with :class:`ParameterError` naming the parameter, or the one it
must agree with (exit code 2 from a process); no other exception may escape.
"""

import math

from becomingone_core.nodes.memory_node import MemoryNode
from becomingone_core.nodes.mesh_node import MeshNode
from becomingone_core.nodes.sim_source_node import SimSourceNode
from becomingone_core.nodes.sync_node import SyncNode
from becomingone_core.nodes.transducer_node import TransducerNode
from becomingone_core.nodes.witness_node import WitnessNode
from becomingone_core.ros.parameters import ParameterError
from becomingone_core.testing.processes import isolated_ros_env
from becomingone_core.testing.ros import RosProbe
import pytest
from rcl_interfaces.msg import ParameterType
from rclpy.parameter import Parameter

HUGE_TEXT = 'x' * 100_000
NODES = {
    'master': lambda **kw: TransducerNode('master', **kw),
    'emissary': lambda **kw: TransducerNode('emissary', **kw),
    'sync': SyncNode,
    'witness': WitnessNode,
    'mesh': MeshNode,
    'memory': MemoryNode,
    'sim_source': SimSourceNode,
}


def _started(make, **kwargs):
    """Create the node; a lifecycle node's failed configure is raised like a plain refusal."""
    node = make(**kwargs)
    if getattr(node, 'configure_error', None) is not None:
        error = node.configure_error
        node.destroy_node()
        raise error
    return node


def _hostile_values(descriptor, current):
    kind = descriptor.type
    if kind == ParameterType.PARAMETER_DOUBLE:
        values = [math.nan, math.inf, -math.inf, 1e308, -1e308]
        for bound in descriptor.floating_point_range:
            values += [bound.from_value - 1.0 - abs(bound.from_value),
                       bound.to_value + 1.0 + abs(bound.to_value)]
        return values
    if kind == ParameterType.PARAMETER_INTEGER:
        values = [2**63 - 1, -2**63]
        for bound in descriptor.integer_range:
            values += [max(-2**63, bound.from_value - 1), min(2**63 - 1, bound.to_value + 1)]
        return values
    if kind == ParameterType.PARAMETER_STRING:
        return [HUGE_TEXT, '\x00', '']
    if kind == ParameterType.PARAMETER_STRING_ARRAY:
        return [[HUGE_TEXT], ['x'] * 5000, []]
    if kind == ParameterType.PARAMETER_DOUBLE_ARRAY:
        return [[math.nan], [math.inf] * 3, [1e300, 1e300, 1e300], [1.0] * 5000, []]
    if kind == ParameterType.PARAMETER_INTEGER_ARRAY:
        return [[2**63 - 1] * 5000, []]
    return []


def _in_declared_range(descriptor, value):
    for bound in descriptor.floating_point_range:
        if not bound.from_value <= value <= bound.to_value:
            return False
    for bound in descriptor.integer_range:
        if not bound.from_value <= value <= bound.to_value:
            return False
    return True


@pytest.mark.parametrize('name', sorted(NODES))
def test_out_of_range_parameters_are_refused_by_name(name, tmp_path):
    make = NODES[name]
    base = [Parameter('path', value=str(tmp_path / 'memory.sqlite3'))] if name == 'memory' \
        else []
    with RosProbe(isolated_ros_env()) as probe:
        node = make(context=probe.context, parameter_overrides=base)
        names = [n for n in node._parameters if n != 'use_sim_time']
        descriptors = dict(zip(names, node.describe_parameters(names)))
        node.destroy_node()
        tried = refused = 0
        for parameter, descriptor in sorted(descriptors.items()):
            if parameter == 'path':
                continue
            for value in _hostile_values(descriptor, None):
                tried += 1
                try:
                    node = _started(make, context=probe.context, parameter_overrides=[
                        *base, Parameter(parameter, value=value)])
                except ParameterError as error:
                    # It names the parameter (or the one it must agree with).
                    assert any(name in str(error) for name in descriptors), str(error)[:200]
                    assert len(str(error)) < 1000, 'the refusal echoes the value whole'
                    refused += 1
                    continue
                accepted = node.get_parameter(parameter).value
                node.destroy_node()
                if isinstance(accepted, (int, float)) and not isinstance(accepted, bool):
                    assert _in_declared_range(descriptor, accepted), (parameter, accepted)
                    assert math.isfinite(accepted), (parameter, accepted)
                if isinstance(accepted, str):
                    assert len(accepted) < len(HUGE_TEXT), parameter
        assert tried and refused, (tried, refused)
