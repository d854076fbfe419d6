"""Parameters every cell node shares: the scale preset, read-only start-up parameters."""

from becomingone_core.ros.parameters import declare, ParameterError
from becomingone_core.scales import preset, SCALES


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
