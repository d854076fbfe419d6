"""
What a cell drives: each output is one gated adapter node (or the cell's temporal memory).

Every output acts only while the cell is collapsed (the gate in
:mod:`becomingone_adapters.gate`); the fields are the node's parameters, passed explicitly.
"""

from dataclasses import dataclass

from becomingone.sdk.node_options import configured


@dataclass(kw_only=True)
class Output:
    """Base of every output; ``topic`` (where it has one) remaps the node's output topic."""

    topic: str = ''
    output_topic = ''

    def nodes(self, namespace=''):
        """Return the node(s) this output runs (``rclpy`` initialised)."""
        node_class = self._node_class()
        remaps = {self.output_topic: self.topic} if self.topic and self.output_topic else {}
        return [configured(node_class, self._parameters(), namespace, remaps)()]

    def _parameters(self):
        return {}


@dataclass(kw_only=True)
class Speaker(Output):
    """A tone: pitch from the cell's phase, volume from its coherence; silent while released."""

    sink: str = 'device'
    wav_path: str = 'becomingone_speaker.wav'
    volume: float = 0.5
    base_hz: float = 440.0
    span_hz: float = 440.0
    output_topic = 'audio'

    def _node_class(self):
        from becomingone_adapters.nodes.speaker_node import SpeakerOutput
        return SpeakerOutput

    def _parameters(self):
        return {'sink': self.sink, 'wav_path': str(self.wav_path), 'volume': self.volume,
                'base_hz': self.base_hz, 'span_hz': self.span_hz}


@dataclass(kw_only=True)
class Display(Output):
    """``color`` (std_msgs/ColorRGBA): hue from phase, brightness from coherence; dark released."""

    rate_hz: float = 10.0
    terminal: bool = False
    output_topic = 'color'

    def _node_class(self):
        from becomingone_adapters.nodes.display_node import DisplayOutput
        return DisplayOutput

    def _parameters(self):
        return {'rate_hz': self.rate_hz, 'terminal': self.terminal}


@dataclass(kw_only=True)
class Motor(Output):
    """``cmd_vel`` (geometry_msgs/Twist) from the cell's phase, zero unless collapsed."""

    max_linear: float = 0.2
    max_angular: float = 0.5
    rate_hz: float = 20.0
    output_topic = 'cmd_vel'

    def _node_class(self):
        from becomingone_adapters.nodes.motor_node import MotorOutput
        return MotorOutput

    def _parameters(self):
        return {'max_linear': self.max_linear, 'max_angular': self.max_angular,
                'rate_hz': self.rate_hz}


@dataclass(kw_only=True)
class Lock(Output):
    """A twist_mux lock (std_msgs/Bool, latched): true while the cell is NOT collapsed."""

    rate_hz: float = 10.0
    output_topic = 'lock'

    def _node_class(self):
        from becomingone_adapters.nodes.lock_node import LockOutput
        return LockOutput

    def _parameters(self):
        return {'rate_hz': self.rate_hz}


@dataclass(kw_only=True)
class Http(Output):
    """POST a JSON record per decision while collapsed, and one on release, to ``url``."""

    url: str = ''
    max_rate_hz: float = 5.0
    token_env: str = ''
    timeout_s: float = 2.0

    def _node_class(self):
        from becomingone_adapters.nodes.http_node import HttpOutput
        return HttpOutput

    def _parameters(self):
        return {'url': self.url, 'max_rate_hz': self.max_rate_hz, 'token_env': self.token_env,
                'timeout_s': self.timeout_s}


@dataclass(kw_only=True)
class Memory(Output):
    """The cell's temporal memory: every resonance, sync state and witness record, in SQLite."""

    path: str = ''

    def _node_class(self):
        from becomingone_core.nodes.memory_node import MemoryNode
        return MemoryNode

    def _parameters(self):
        return {'path': str(self.path)} if self.path else {}
