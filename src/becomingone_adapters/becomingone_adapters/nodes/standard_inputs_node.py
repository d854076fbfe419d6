"""
Standard ROS topics in, ``phase`` out.

Any ROS driver or Gazebo (through ros_gz_bridge) can feed a cell. One small node per message
type; the encodings live in the pure modules.
"""

from becomingone_adapters import image, scalars, text
from becomingone_adapters.encoding import RangeEncoder
from becomingone_adapters.nodes.input_node import PhaseInputNode
from becomingone_core.input_rules import RejectedInput
from becomingone_core.ros.parameters import declare, require
from becomingone_core.ros.runner import main_for
from becomingone_core.ros.stamps import seconds
from sensor_msgs.msg import FluidPressure, Image, Imu, Temperature
from std_msgs.msg import Float64, Float64MultiArray, String


def declare_range(node, prefix, low, high, unit):
    low = declare(node, f'{prefix}_min', low, f'{prefix} mapped to the start of the phase '
                  f'half circle ({unit}); lower values are clipped and counted')
    high = declare(node, f'{prefix}_max', high, f'{prefix} mapped to the end of the phase '
                   f'half circle ({unit}); higher values are clipped and counted')
    require(low < high, f'{prefix}_max', f'must be greater than {prefix}_min ({low})')
    encoder = RangeEncoder(low, high, prefix)
    node.encoders.append(encoder)
    return encoder


class Float64ToPhase(PhaseInputNode):
    """std_msgs/Float64 on ``value`` (unstamped: the receive time is used)."""

    def __init__(self):
        super().__init__('float64_to_phase', 'float64')
        self.encoder = declare_range(self, 'value', 0.0, 1.0, 'units of the input')
        self.subscribe(Float64, 'value', self._on_value)

    def _on_value(self, message):
        self.accept(0.0, lambda: scalars.encode_scalar(message.data, self.encoder))


class Float64ArrayToPhase(PhaseInputNode):
    """std_msgs/Float64MultiArray on ``values``: one channel per element."""

    def __init__(self):
        super().__init__('float64_array_to_phase', 'float64_array')
        self.encoder = declare_range(self, 'value', 0.0, 1.0, 'units of the input')
        self.channels = declare(self, 'channels', 0,
                                'expected number of elements (0: any, up to max_channels)',
                                minimum=0, maximum=4096)
        self.max_channels = declare(self, 'max_channels', 256,
                                    'longer arrays are refused as too_large',
                                    minimum=1, maximum=4096)
        self.subscribe(Float64MultiArray, 'values', self._on_values)

    def _on_values(self, message):
        self.accept(0.0, lambda: scalars.encode_vector(
            message.data, self.encoder, self.channels, self.max_channels))


class TemperatureToPhase(PhaseInputNode):
    """sensor_msgs/Temperature on ``temperature``."""

    def __init__(self):
        super().__init__('temperature_to_phase', 'temperature', max_rate_hz=100.0)
        self.encoder = declare_range(self, 'temperature', -20.0, 100.0, 'degrees Celsius')
        self.subscribe(Temperature, 'temperature', self._on_message)

    def _on_message(self, message):
        self.accept(seconds(message.header.stamp),
                    lambda: scalars.encode_scalar(message.temperature, self.encoder))


class FluidPressureToPhase(PhaseInputNode):
    """sensor_msgs/FluidPressure on ``fluid_pressure``."""

    def __init__(self):
        super().__init__('fluid_pressure_to_phase', 'fluid_pressure', max_rate_hz=100.0)
        self.encoder = declare_range(self, 'pressure', 80000.0, 110000.0, 'Pa')
        self.subscribe(FluidPressure, 'fluid_pressure', self._on_message)

    def _on_message(self, message):
        self.accept(seconds(message.header.stamp),
                    lambda: scalars.encode_scalar(message.fluid_pressure, self.encoder))


class ImuToPhase(PhaseInputNode):
    """sensor_msgs/Imu on ``imu``: gyro xyz then accel xyz, six channels."""

    def __init__(self):
        super().__init__('imu_to_phase', 'imu', max_rate_hz=1000.0)
        self.gyro = declare_range(self, 'angular_velocity', -5.0, 5.0, 'rad/s')
        self.accel = declare_range(self, 'linear_acceleration', -20.0, 20.0, 'm/s^2')
        self.subscribe(Imu, 'imu', self._on_message)

    def _on_message(self, message):
        w, a = message.angular_velocity, message.linear_acceleration
        self.accept(seconds(message.header.stamp), lambda: scalars.encode_imu(
            (w.x, w.y, w.z), (a.x, a.y, a.z), self.gyro, self.accel))


class ImageToPhase(PhaseInputNode):
    """sensor_msgs/Image on ``image_raw``: brightness, optionally a coarse spatial phase."""

    def __init__(self):
        super().__init__('image_to_phase', 'camera', max_rate_hz=60.0)
        self.spatial = declare(self, 'spatial_phase', False,
                               'add two channels: horizontal and vertical spatial phase')
        self.max_bytes = declare(self, 'max_image_bytes', 32 << 20,
                                 'larger images are refused as too_large (bytes)',
                                 minimum=1, maximum=1 << 31)
        self.subscribe(Image, 'image_raw', self._on_image)

    def _on_image(self, message):
        self.accept(seconds(message.header.stamp), lambda: image.encode_luma(
            image.luma(message.encoding, message.height, message.width, message.step,
                       message.data, bool(message.is_bigendian), self.max_bytes),
            self.spatial))


class TextToPhase(PhaseInputNode):
    """std_msgs/String on ``text``: hash, embedding or LLM token-stream encoding."""

    def __init__(self):
        super().__init__('text_to_phase', 'text', max_rate_hz=200.0)
        mode = declare(self, 'mode', 'hash', 'hash | embedding | tokens (see README)',
                       choices=text.MODES)
        model = declare(self, 'embedding_model', 'all-MiniLM-L6-v2',
                        'sentence-transformers model for mode=embedding, loaded from local '
                        'files only')
        self.max_chars = declare(self, 'max_chars', 100000,
                                 'longer texts are refused as too_large', minimum=1,
                                 maximum=10000000)
        period = declare(self, 'position_period', 64,
                         'tokens per turn of the position channel (mode=tokens)',
                         minimum=1, maximum=1000000)
        self.tokens = text.TokenStream(period, self.max_chars)
        self.embed = None
        if mode == 'embedding':
            try:
                self.embed = text.load_embedder(model)
            except (ImportError, OSError, ValueError) as error:
                self.get_logger().warning(
                    f'no local sentence-embedding model {model!r} ({error}); using mode=hash')
                mode = 'hash'
        self.mode = mode
        self.subscribe(String, 'text', self._on_text)

    def _on_text(self, message):
        self.accept(0.0, lambda: self._encode(message.data))

    def _encode(self, data):
        if self.mode == 'tokens':
            return self.tokens.encode(data)
        if self.mode == 'embedding':
            text.check_text(data, self.max_chars)
            try:
                vector = self.embed(data)
            except Exception as error:  # noqa: B902 - a model failure is one refused input
                raise RejectedInput('embedding_failed', str(error)[:60]) from error
            return [[text.project_embedding(vector)]]
        return text.encode_hash(data, self.max_chars)


float64_main = main_for(Float64ToPhase)
float64_array_main = main_for(Float64ArrayToPhase)
temperature_main = main_for(TemperatureToPhase)
fluid_pressure_main = main_for(FluidPressureToPhase)
imu_main = main_for(ImuToPhase)
image_main = main_for(ImageToPhase)
text_main = main_for(TextToPhase)
