"""Parameters every cell node shares: the scale preset, and the QoS of the cell's topics."""

from becomingone_core.nodes.parameters import declare, ParameterError
from becomingone_core.scales import preset, SCALES
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy

# Resonance: a stream of state, every cycle matters to the witness: reliable, a few deep.
RESONANCE_QOS = QoSProfile(depth=20, reliability=QoSReliabilityPolicy.RELIABLE)
# sync/state: latched, so an output adapter that starts late learns at once whether to act.
SYNC_STATE_QOS = QoSProfile(depth=1, reliability=QoSReliabilityPolicy.RELIABLE,
                            durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
# witness: every record is part of the chain: reliable and deep enough for bursts.
WITNESS_QOS = QoSProfile(depth=200, reliability=QoSReliabilityPolicy.RELIABLE)


def declare_scale(node):
    """Declare ``scale`` and return its :class:`becomingone_core.scales.ScalePreset`."""
    name = declare(node, 'scale', 'demo',
                   'Scale preset giving every other parameter its default: '
                   + ', '.join(SCALES) + '. Any parameter set explicitly wins over the preset.',
                   choices=SCALES, read_only=True)
    return preset(name)


def refused(error):
    """Turn a pure module's ``ValueError('name: why')`` into a ParameterError naming ``name``."""
    name, _, why = str(error).partition(':')
    return ParameterError(f'parameter {name.strip()!r}: {why.strip()}')


def seconds(stamp):
    """Return a ``builtin_interfaces/Time`` as float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def stamp_ns(stamp):
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def set_stamp(stamp, nanoseconds):
    stamp.sec, stamp.nanosec = divmod(int(nanoseconds), 1_000_000_000)
