"""Parameters every cell node shares: the scale preset, and the QoS of the cell's topics."""

from becomingone_core.nodes.parameters import declare, ParameterError
from becomingone_core.scales import preset, SCALES
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy

# Resonance: a stream of state, every cycle matters to the witness: reliable, a few deep.
RESONANCE_QOS = QoSProfile(depth=20, reliability=QoSReliabilityPolicy.RELIABLE)
# sync/state: latched, so an output adapter that starts late learns at once whether to act.
SYNC_STATE_QOS = QoSProfile(depth=1, reliability=QoSReliabilityPolicy.RELIABLE,
                            durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
# witness: every record is part of the chain: reliable, and transient local so that a reader
# matched late (the memory starting after the witness, or restarting) still receives the last
# WITNESS_HISTORY_DEPTH records; a volatile reader (ros2 topic echo, rviz) matches it too, but a
# transient-local reader does not match a volatile writer. 1000 records are 5 s at the default
# micro + meso budget of 200/s and minutes of macro/meta records; at most about 1 KB each in
# the writer's history, so ~1 MB per witness (and per memory subscription), small on a Pi too.
WITNESS_HISTORY_DEPTH = 1000
WITNESS_QOS = QoSProfile(depth=WITNESS_HISTORY_DEPTH, reliability=QoSReliabilityPolicy.RELIABLE,
                         durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)


def declare_scale(node):
    """Declare ``scale`` and return its :class:`becomingone_core.scales.ScalePreset`."""
    name = declare(node, 'scale', 'demo',
                   'Scale preset giving every other parameter its default: '
                   + ', '.join(SCALES) + '. Any parameter set explicitly wins over the preset.',
                   choices=SCALES, read_only=True)
    return preset(name)


def declare_fixed(node, name, default, description, **limits):
    """
    Declare a parameter that is read once at start-up (read-only afterwards).

    Changing a lag bank or a window means a new bank, so these are set through YAML or
    ``--ros-args -p`` and ``ros2 param set`` refuses them instead of silently ignoring them.
    """
    return declare(node, name, default, description, read_only=True, **limits)


def refused(error):
    """Turn a pure module's ``ValueError('name: why')`` into a ParameterError naming ``name``."""
    name, _, why = str(error).partition(':')
    return ParameterError(f'parameter {name.strip()!r}: {why.strip()}')
