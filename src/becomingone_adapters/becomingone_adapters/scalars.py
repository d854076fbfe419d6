"""
Scalar and vector sensor readings to phase.

Covers Float64, Float64MultiArray, Temperature, FluidPressure and Imu.

Each reading is normalised with its declared range and put on the half circle (see
:mod:`becomingone_adapters.encoding`): one channel per measured quantity. A rhythm in the signal
(a breathing pressure, a swaying IMU, a heating cycle) becomes a rhythm in phase velocity, which
is what the cell's resonance bank looks for.
"""

from becomingone_adapters.encoding import finite_values, RangeEncoder
from becomingone_core.input_rules import RejectedInput
import numpy as np


def encode_scalar(value, encoder):
    """One reading -> array of shape (1, 1)."""
    return encoder.encode([value]).reshape(1, 1)


def encode_vector(values, encoder, channels=0, max_channels=256):
    """
    Encode a vector of readings (one sample, C channels) as an array of shape (1, C).

    ``channels`` > 0 fixes C: any other length is refused, so a misconfigured publisher cannot
    silently change the meaning of a channel.
    """
    array = finite_values(values, 'array')
    if array.size == 0:
        raise RejectedInput('empty', 'array has no values')
    if array.size > max_channels:
        raise RejectedInput('too_large', f'{array.size} values > {max_channels}')
    if channels and array.size != channels:
        raise RejectedInput('wrong_size', f'{array.size} values, expected {channels}')
    return encoder.encode(array).reshape(1, -1)


def encode_imu(angular_velocity, linear_acceleration, gyro_encoder, accel_encoder):
    """
    Angular velocity (rad/s) and linear acceleration (m/s^2), xyz each -> (1, 6).

    Channels are gyro x, y, z then accel x, y, z. Orientation is left out: it is absent on
    most IMUs (covariance[0] == -1) and is an integral of what the gyro already gives.
    """
    gyro = finite_values(angular_velocity, 'angular_velocity')
    accel = finite_values(linear_acceleration, 'linear_acceleration')
    if gyro.size != 3 or accel.size != 3:
        raise RejectedInput('wrong_size', 'angular_velocity and linear_acceleration need 3 axes')
    return np.concatenate([gyro_encoder.encode(gyro), accel_encoder.encode(accel)]).reshape(1, 6)


def temperature_encoder(low_c=-20.0, high_c=100.0):
    """Return the range encoder for sensor_msgs/Temperature (degrees Celsius)."""
    return RangeEncoder(low_c, high_c, 'temperature')


def pressure_encoder(low_pa=80000.0, high_pa=110000.0):
    """Return the range encoder for sensor_msgs/FluidPressure (pascal; default: atmospheric)."""
    return RangeEncoder(low_pa, high_pa, 'fluid_pressure')
