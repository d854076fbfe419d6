"""
Every kind of node a host configuration can start: where its class is and what it is called.

One :class:`NodeKind` per entry (pure data, no rclpy): the key used in the configuration file,
the ROS node name the class gives itself, and the class as an import path. The inputs and
outputs sections of a configuration pick adapters by :attr:`NodeKind.kind`; adding an adapter
is one entry here and ``python -m becomingone.config.catalogue --write`` to record its
parameters. A kind whose module is not installed (an optional adapter) is left out by
:func:`available`.

``probe`` holds parameters that let the catalogue build the node without hardware (a file
source instead of a device); ``{tmp}`` in a probe value is a scratch directory with
``probe.wav`` and ``probe.csv`` in it.
"""

from dataclasses import dataclass, field
import importlib
import importlib.util

CELL, HOST, INPUT, OUTPUT, API = 'cell', 'host', 'input', 'output', 'api'


@dataclass(frozen=True)
class NodeKind:
    """One startable node: configuration key, ROS node name, class and construction."""

    kind: str
    node_name: str
    target: str  # 'module:attribute'
    section: str
    arguments: tuple = ()
    lifecycle: bool = False
    probe: dict = field(default_factory=dict)

    @property
    def module(self):
        return self.target.partition(':')[0]

    def load(self):
        """Import and return the node class (or factory)."""
        module, _, attribute = self.target.partition(':')
        return getattr(importlib.import_module(module), attribute)

    def create(self):
        """Build the node in the default rclpy context (parameters come from its arguments)."""
        return self.load()(*self.arguments)


_ADAPTERS = 'becomingone_adapters.nodes.'
_INPUTS = _ADAPTERS + 'standard_inputs_node:'
_PLAYERS = 'becomingone.sdk.replay:'

KINDS = (
    # The cell and the host's own nodes (becomingone_core.mesh.ROLE_NODES names them).
    NodeKind('master', 'master', 'becomingone_core.nodes.transducer_node:TransducerNode', CELL,
             ('master',)),
    NodeKind('emissary', 'emissary', 'becomingone_core.nodes.transducer_node:TransducerNode',
             CELL, ('emissary',)),
    NodeKind('sync', 'sync', 'becomingone_core.nodes.sync_node:SyncNode', CELL),
    NodeKind('witness', 'witness', 'becomingone_core.nodes.witness_node:WitnessNode', CELL),
    NodeKind('sim_source', 'sim_source', 'becomingone_core.nodes.sim_source_node:SimSourceNode',
             CELL),
    NodeKind('memory', 'memory', 'becomingone_core.nodes.memory_node:MemoryNode', HOST,
             lifecycle=True, probe={'path': '{tmp}/probe.sqlite3'}),
    NodeKind('mesh', 'mesh', 'becomingone_core.nodes.mesh_node:MeshNode', HOST),
    NodeKind('gateway', 'gateway', 'becomingone_api.nodes.gateway_node:GatewayNode', API,
             probe={'port': 0, 'tokens_file': '{tmp}/tokens'}),
    # Inputs: something in, becomingone_msgs/Phase out on the host's ``phase``.
    NodeKind('float64', 'float64_to_phase', _INPUTS + 'Float64ToPhase', INPUT),
    NodeKind('float64_array', 'float64_array_to_phase', _INPUTS + 'Float64ArrayToPhase', INPUT),
    NodeKind('temperature', 'temperature_to_phase', _INPUTS + 'TemperatureToPhase', INPUT),
    NodeKind('fluid_pressure', 'fluid_pressure_to_phase', _INPUTS + 'FluidPressureToPhase',
             INPUT),
    NodeKind('imu', 'imu_to_phase', _INPUTS + 'ImuToPhase', INPUT),
    NodeKind('image', 'image_to_phase', _INPUTS + 'ImageToPhase', INPUT),
    NodeKind('text', 'text_to_phase', _INPUTS + 'TextToPhase', INPUT),
    NodeKind('microphone', 'microphone_to_phase',
             _ADAPTERS + 'microphone_node:MicrophoneToPhase', INPUT,
             probe={'source': 'file', 'file_path': '{tmp}/probe.wav'}),
    NodeKind('camera', 'camera_to_phase', _ADAPTERS + 'camera_node:CameraToPhase', INPUT,
             probe={'source': 'file', 'file_path': '{tmp}/missing.avi'}),
    NodeKind('thermal', 'thermal_to_phase', _ADAPTERS + 'thermal_node:ThermalToPhase', INPUT,
             probe={'source': 'file', 'file_path': '{tmp}/probe.csv'}),
    NodeKind('mqtt', 'mqtt_to_phase', _ADAPTERS + 'mqtt_input_node:MqttToPhase', INPUT),
    NodeKind('serial', 'serial_to_phase', _ADAPTERS + 'serial_input_node:SerialToPhase', INPUT),
    # Recordings replayed as the standard messages a driver sends, for the adapters above
    # (the applications' recorded inputs: becomingone.sdk.replay).
    NodeKind('imu_recording', 'imu_player', _PLAYERS + 'ImuPlayer', INPUT),
    NodeKind('temperature_recording', 'temperature_player', _PLAYERS + 'TemperaturePlayer',
             INPUT),
    NodeKind('fluid_pressure_recording', 'fluid_pressure_player', _PLAYERS + 'PressurePlayer',
             INPUT),
    NodeKind('text_recording', 'tokens_player', _PLAYERS + 'TokenPlayer', INPUT),
    # Outputs: the cell's sync/state out to the world, acting only while collapsed.
    NodeKind('motor', 'motor_output', _ADAPTERS + 'motor_node:MotorOutput', OUTPUT,
             lifecycle=True),
    NodeKind('speaker', 'speaker_output', _ADAPTERS + 'speaker_node:SpeakerOutput', OUTPUT,
             probe={'sink': 'file', 'wav_path': '{tmp}/speaker.wav'}),
    NodeKind('lock', 'lock_output', _ADAPTERS + 'lock_node:LockOutput', OUTPUT),
    NodeKind('display', 'display_output', _ADAPTERS + 'display_node:DisplayOutput', OUTPUT),
    NodeKind('http', 'http_output', _ADAPTERS + 'http_node:HttpOutput', OUTPUT, lifecycle=True,
             probe={'url': 'http://127.0.0.1:9/records'}),
    NodeKind('mqtt', 'mqtt_output', _ADAPTERS + 'mqtt_output_node:MqttOutput', OUTPUT,
             lifecycle=True),
)


def _installed(kind):
    try:
        return importlib.util.find_spec(kind.module) is not None
    except ModuleNotFoundError:
        return False


def available(section):
    """Return ``{kind: NodeKind}`` of the installed kinds of one ``section``."""
    return {k.kind: k for k in KINDS if k.section == section and _installed(k)}


def by_node_name():
    """Return ``{node_name: NodeKind}`` of every installed kind."""
    return {k.node_name: k for k in KINDS if _installed(k)}
