"""
Recording players: a CSV recording replayed as the standard messages a sensor driver sends.

``imu_player``, ``temperature_player``, ``fluid_pressure_player`` and ``tokens_player`` (an LLM
token stream) each publish on the topic their adapter reads, in the same namespace.

Feeds the standard-topic adapters (``imu_to_phase``, ``temperature_to_phase``, ...) without
hardware: each row goes out when its time (from the first row) has passed since the node
started, stamped with that time, so the adapter and the cell see what a driver would have sent.
The rows are read by :class:`becomingone.sdk.recordings.Recording`.
"""

import json

from becomingone.sdk.recordings import Recording
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.parameters import declare, ParameterError
from becomingone_core.ros.stamps import time_from_seconds
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import FluidPressure, Imu, Temperature
from std_msgs.msg import String


def _imu(values):
    message = Imu()
    w, a = message.angular_velocity, message.linear_acceleration
    w.x, w.y, w.z, a.x, a.y, a.z = (float(v) for v in values)
    message.orientation_covariance[0] = -1.0  # no orientation, as most IMUs
    return message


def _token(values):
    token, confidence = values
    return String(data=json.dumps({'token': token, 'confidence': float(confidence)}))


#: kind -> (columns, message type, topic the adapter reads, builder, stamped)
KINDS = {
    'imu': (('gx', 'gy', 'gz', 'ax', 'ay', 'az'), Imu, 'imu', _imu, True),
    'temperature': (('value',), Temperature, 'temperature',
                    lambda v: Temperature(temperature=float(v[0])), True),
    'fluid_pressure': (('value',), FluidPressure, 'fluid_pressure',
                       lambda v: FluidPressure(fluid_pressure=float(v[0])), True),
    'tokens': (('token', 'confidence'), String, 'text', _token, False),
}


class RecordingPlayer(GuardedNode):
    """Publishes one recording's rows at the pace they were recorded (``kind``: KINDS)."""

    kind = ''

    def __init__(self, name=None, **kwargs):
        super().__init__(name or f'{self.kind}_player', **kwargs)
        path = declare(self, 'file_path', '', f'the CSV recording: time_s, '
                       f'{", ".join(KINDS[self.kind][0])}')
        self.loop = declare(self, 'loop', False, 'replay the recording forever')
        columns, message_type, topic, self._build, self._stamped = KINDS[self.kind]
        try:
            self.recording = Recording(path, columns)
        except (OSError, ValueError) as error:
            raise ParameterError(f"parameter 'file_path': {error}") from error
        self.publisher = self.create_publisher(message_type, topic, qos_profile_sensor_data)
        self.origin_s = self._now_s()
        self.next_row = 0
        self.published = 0
        self.finished = False
        self.create_timer(0.01, self._tick)

    def _now_s(self):
        return self.get_clock().now().nanoseconds * 1e-9

    def _tick(self):
        times = self.recording.t
        while not self.finished and times[self.next_row] <= self._now_s() - self.origin_s:
            message = self._build(self.recording.rows[self.next_row])
            if self._stamped:
                message.header.stamp = time_from_seconds(self.origin_s + times[self.next_row])
            self.publisher.publish(message)
            self.published += 1
            self.next_row += 1
            if self.next_row < len(times):
                continue
            if not self.loop:
                self.finished = True
                self.get_logger().info(f'end of {self.recording.path}: '
                                       f'{self.published} messages')
                return
            # Looping: the first row again one mean row interval after the last.
            self.next_row = 0
            self.origin_s += self.recording.duration_s * len(times) / max(1, len(times) - 1)


class ImuPlayer(RecordingPlayer):
    """``sensor_msgs/Imu`` on ``imu`` (for ``imu_to_phase``)."""

    kind = 'imu'


class TemperaturePlayer(RecordingPlayer):
    """``sensor_msgs/Temperature`` on ``temperature`` (for ``temperature_to_phase``)."""

    kind = 'temperature'


class PressurePlayer(RecordingPlayer):
    """``sensor_msgs/FluidPressure`` on ``fluid_pressure`` (for ``fluid_pressure_to_phase``)."""

    kind = 'fluid_pressure'


class TokenPlayer(RecordingPlayer):
    """An LLM token stream, ``std_msgs/String`` JSON tokens on ``text`` (``text_to_phase``)."""

    kind = 'tokens'


PLAYERS = {cls.kind: cls for cls in (ImuPlayer, TemperaturePlayer, PressurePlayer, TokenPlayer)}
