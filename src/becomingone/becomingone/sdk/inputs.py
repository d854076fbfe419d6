"""
What a cell listens to: each input is one adapter node (plus a replay node for a recording).

An input is a small typed description; :meth:`Input.nodes` builds the real adapter node for the
in-process cell, :meth:`Input.recorded` turns the same recording into ``(t, phase)`` arrays with
the same pure encodings, for the offline mode. Every setting the two modes share is a field
here and is passed to the node explicitly, so both modes always use the same values.
"""

from dataclasses import dataclass
import json

from becomingone.sdk.node_options import configured
from becomingone.sdk.offline import Recorded
from becomingone.sdk.recordings import Recording, stack
from becomingone_adapters import image, scalars, text
from becomingone_adapters.audio import AnalyticPhase, WavSource
from becomingone_adapters.encoding import RangeEncoder
import numpy as np


@dataclass(kw_only=True)
class Input:
    """Base of every input: ``source`` names it (the Phase source, one per input)."""

    source: str = ''
    channels = 1  # complex channels this input gives the cell

    def nodes(self, namespace=''):
        """Return the node(s) that feed the cell (``rclpy`` initialised)."""
        raise NotImplementedError

    def recorded(self):
        """Return the recording as a :class:`~.offline.Recorded` (times from its start, s)."""
        raise ValueError(f'{type(self).__name__} has no recording to run offline; give file=')

    def _adapter(self, node_class, parameters, namespace):
        parameters = dict(parameters, source_name=self.source or self.default_source)
        return configured(node_class, parameters, namespace, name=self._node_name())()

    def _node_name(self):
        return f'{self.source}_to_phase' if self.source else None


@dataclass(kw_only=True)
class Microphone(Input):
    """A sound card, or a WAV file replayed at real time (``file``)."""

    file: str = ''
    device: str = ''
    loop: bool = False
    block_frames: int = 1024
    output_rate_hz: float = 200.0
    reference_hz: float = 2.0
    divider: float = 16.0
    pitch_tau_s: float = 0.5
    default_source = 'microphone'

    def nodes(self, namespace=''):
        from becomingone_adapters.nodes.microphone_node import MicrophoneToPhase
        return [self._adapter(MicrophoneToPhase, {
            'source': 'file' if self.file else 'device', 'file_path': str(self.file),
            'device': self.device, 'loop': self.loop, 'block_frames': self.block_frames,
            'output_rate_hz': self.output_rate_hz, 'reference_hz': self.reference_hz,
            'divider': self.divider, 'pitch_tau_s': self.pitch_tau_s}, namespace)]

    def recorded(self):
        if not self.file:
            return super().recorded()
        wav = WavSource(self.file, self.block_frames)
        analytic = AnalyticPhase(wav.sample_rate, self.output_rate_hz, self.reference_hz,
                                 self.divider, self.pitch_tau_s)
        times, values = [], []
        try:
            block = wav.read()
            while True:  # the node's order: each block pushed, the last one flushed
                result = analytic.push(block) if block is not None else analytic.flush()
                if result is not None:
                    first_s, phasors = result
                    times.append(first_s + np.arange(phasors.size) / analytic.output_rate)
                    values.append(phasors)
                if block is None:
                    break
                block = wav.read()
        finally:
            wav.close()
        ends = np.cumsum([block.size for block in times])  # one Phase message per block
        return Recorded(np.concatenate(times), np.concatenate(values).reshape(-1, 1), ends)


@dataclass(kw_only=True)
class Camera(Input):
    """An OpenCV camera, or a video file read at ``rate_hz`` (``file``)."""

    file: str = ''
    device: int = 0
    rate_hz: float = 15.0
    spatial: bool = False
    loop: bool = False
    default_source = 'camera'

    @property
    def channels(self):
        return 3 if self.spatial else 1

    def nodes(self, namespace=''):
        from becomingone_adapters.nodes.camera_node import CameraToPhase
        return [self._adapter(CameraToPhase, {
            'source': 'file' if self.file else 'device', 'file_path': str(self.file),
            'device': self.device, 'rate_hz': self.rate_hz, 'spatial_phase': self.spatial,
            'loop': self.loop}, namespace)]

    def recorded(self):
        if not self.file:
            return super().recorded()
        from becomingone_adapters.video import open_capture
        capture = open_capture(str(self.file))
        encoded = []
        try:
            ok, frame = capture.read()
            while ok:
                encoded.append(image.encode_luma(image.luma_from_array(frame), self.spatial))
                ok, frame = capture.read()
        finally:
            capture.release()
        # The node reads frame k on its (k + 1)-th timer tick.
        return Recorded(np.arange(1, len(encoded) + 1) / self.rate_hz, stack(encoded))


@dataclass(kw_only=True)
class _StandardInput(Input):
    """A standard-topic adapter fed by ``topic``, or by a CSV recording replayed (``file``)."""

    topic: str = ''
    file: str = ''
    loop: bool = False
    kind = ''

    def nodes(self, namespace=''):
        from becomingone.sdk.replay import KINDS, PLAYERS
        read_topic = KINDS[self.kind][2]
        source = self.source or self.default_source
        # A recording goes over a private topic: two recorded inputs never hear each other.
        topic = f'recording/{source}/{read_topic}' if self.file else self.topic
        remaps = {read_topic: topic} if topic else {}
        built = [configured(self._adapter_class(), dict(self._parameters(), source_name=source),
                            namespace, remaps, name=self._node_name())()]
        if self.file:
            built.append(configured(PLAYERS[self.kind], {
                'file_path': str(self.file), 'loop': self.loop},
                namespace, remaps, name=f'{source}_player')())
        return built

    def recorded(self):
        if not self.file:
            return super().recorded()
        from becomingone.sdk.replay import KINDS
        recording = Recording(self.file, KINDS[self.kind][0])
        return Recorded(recording.t, self._encode(recording))


@dataclass(kw_only=True)
class Imu(_StandardInput):
    """``sensor_msgs/Imu``: gyro xyz and accel xyz, six channels."""

    gyro_range: tuple = (-5.0, 5.0)
    accel_range: tuple = (-20.0, 20.0)
    channels = 6
    kind = 'imu'
    default_source = 'imu'

    def _adapter_class(self):
        from becomingone_adapters.nodes.standard_inputs_node import ImuToPhase
        return ImuToPhase

    def _parameters(self):
        return {'angular_velocity_min': float(self.gyro_range[0]),
                'angular_velocity_max': float(self.gyro_range[1]),
                'linear_acceleration_min': float(self.accel_range[0]),
                'linear_acceleration_max': float(self.accel_range[1])}

    def _encode(self, recording):
        gyro = RangeEncoder(*self.gyro_range, 'angular_velocity')
        accel = RangeEncoder(*self.accel_range, 'linear_acceleration')
        return stack(scalars.encode_imu(row[:3], row[3:], gyro, accel)
                     for row in recording.numbers())


@dataclass(kw_only=True)
class Temperature(_StandardInput):
    """``sensor_msgs/Temperature`` (degrees Celsius), one channel."""

    range_c: tuple = (-20.0, 100.0)
    kind = 'temperature'
    default_source = 'temperature'

    def _adapter_class(self):
        from becomingone_adapters.nodes.standard_inputs_node import TemperatureToPhase
        return TemperatureToPhase

    def _parameters(self):
        return {'temperature_min': float(self.range_c[0]),
                'temperature_max': float(self.range_c[1])}

    def _encode(self, recording):
        encoder = RangeEncoder(*self.range_c, 'temperature')
        return stack(scalars.encode_scalar(row[0], encoder) for row in recording.numbers())


@dataclass(kw_only=True)
class Pressure(_StandardInput):
    """``sensor_msgs/FluidPressure`` (pascal), one channel."""

    range_pa: tuple = (80000.0, 110000.0)
    kind = 'fluid_pressure'
    default_source = 'fluid_pressure'

    def _adapter_class(self):
        from becomingone_adapters.nodes.standard_inputs_node import FluidPressureToPhase
        return FluidPressureToPhase

    def _parameters(self):
        return {'pressure_min': float(self.range_pa[0]), 'pressure_max': float(self.range_pa[1])}

    def _encode(self, recording):
        encoder = RangeEncoder(*self.range_pa, 'pressure')
        return stack(scalars.encode_scalar(row[0], encoder) for row in recording.numbers())


@dataclass(kw_only=True)
class Text(_StandardInput):
    """``std_msgs/String`` text or an LLM token stream (``mode`` tokens: two channels)."""

    mode: str = 'tokens'
    position_period: int = 64
    max_chars: int = 100000
    kind = 'tokens'
    default_source = 'text'

    @property
    def channels(self):
        return 2 if self.mode == 'tokens' else 1

    def _adapter_class(self):
        from becomingone_adapters.nodes.standard_inputs_node import TextToPhase
        return TextToPhase

    def _parameters(self):
        return {'mode': self.mode, 'position_period': self.position_period,
                'max_chars': self.max_chars}

    def _encode(self, recording):
        if self.mode != 'tokens':
            raise ValueError('offline, Text replays token streams only (mode tokens)')
        stream = text.TokenStream(self.position_period, self.max_chars)
        return stack(stream.encode(json.dumps({'token': token, 'confidence': float(c)}))
                     for token, c in recording.rows)


@dataclass(kw_only=True)
class Thermal(Input):
    """A Linux thermal/hwmon sensor, or a CSV recording of it (``file``)."""

    file: str = ''
    sensor_path: str = ''
    rate_hz: float = 2.0
    range_c: tuple = (20.0, 90.0)
    default_source = 'thermal'

    def nodes(self, namespace=''):
        from becomingone_adapters.nodes.thermal_node import ThermalToPhase
        return [self._adapter(ThermalToPhase, {
            'source': 'file' if self.file else 'sysfs', 'file_path': str(self.file),
            'sensor_path': self.sensor_path, 'rate_hz': self.rate_hz,
            'temperature_min': float(self.range_c[0]),
            'temperature_max': float(self.range_c[1])}, namespace)]

    def recorded(self):
        if not self.file:
            return super().recorded()
        recording = Recording(self.file, ('value',))
        encoder = RangeEncoder(*self.range_c, 'temperature')
        return Recorded(recording.t, stack(scalars.encode_scalar(row[0], encoder)
                                           for row in recording.numbers()))
