"""
Camera images to phase: brightness, and optionally a coarse spatial phase.

Channel 0 is the mean luma (Rec. 601 weights) normalised to [0, 1] by the encoding's full scale
and put on the half circle (see :mod:`becomingone_adapters.encoding`): flicker, a passing shadow
or a blinking light becomes phase motion. With ``spatial`` on, channels 1 and 2 are the phase of
the first horizontal and vertical spatial Fourier coefficient of a coarse luma grid: where the
bright structure sits along each axis, as an angle, so movement across the view turns the phase.
Their magnitude is the relative strength of that structure (0 for a uniform image).
"""

from becomingone_adapters.encoding import half_circle
from becomingone_core.input_rules import RejectedInput
import numpy as np


# encoding -> (numpy dtype, channels, luma weights in channel order or None for mono)
_REC601 = (0.299, 0.587, 0.114)
ENCODINGS = {
    'mono8': (np.uint8, 1, None),
    'mono16': (np.uint16, 1, None),
    '8UC1': (np.uint8, 1, None),
    '16UC1': (np.uint16, 1, None),
    'rgb8': (np.uint8, 3, _REC601),
    'bgr8': (np.uint8, 3, _REC601[::-1]),
    'rgba8': (np.uint8, 4, _REC601 + (0.0,)),
    'bgra8': (np.uint8, 4, _REC601[::-1] + (0.0,)),
    'rgb16': (np.uint16, 3, _REC601),
    'bgr16': (np.uint16, 3, _REC601[::-1]),
}
GRID = 16


def luma(encoding, height, width, step, data, is_bigendian=False, max_bytes=64 << 20):
    """Decode a sensor_msgs/Image's fields into a (height, width) luma array in [0, 1]."""
    if encoding not in ENCODINGS:
        raise RejectedInput('unknown_encoding', repr(encoding)[:40])
    dtype, channels, weights = ENCODINGS[encoding]
    dtype = np.dtype(dtype).newbyteorder('>' if is_bigendian else '<')
    if height <= 0 or width <= 0:
        raise RejectedInput('empty', f'{width}x{height} image')
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise RejectedInput('wrong_size', f'step {step} < {row_bytes} bytes per row')
    if step * height > max_bytes:
        raise RejectedInput('too_large', f'{step * height} bytes > {max_bytes}')
    if len(data) != step * height:
        raise RejectedInput('wrong_size', f'{len(data)} bytes, expected {step * height}')
    rows = np.frombuffer(bytes(data), dtype=np.uint8).reshape(height, step)[:, :row_bytes]
    pixels = np.ascontiguousarray(rows).view(dtype).reshape(height, width, channels)
    full_scale = float(np.iinfo(dtype).max)
    if weights is None:
        return pixels[:, :, 0].astype(float) / full_scale
    return pixels.astype(float) @ np.asarray(weights) / full_scale


def luma_from_array(frame):
    """Decode a (H, W) grey or (H, W, 3) BGR uint8 frame (as OpenCV gives) to luma."""
    frame = np.asarray(frame)
    if frame.ndim == 2:
        frame = frame[:, :, None]
    if frame.ndim != 3 or frame.shape[2] not in (1, 3) or frame.size == 0:
        raise RejectedInput('wrong_size', f'frame of shape {frame.shape}')
    encoding = 'mono8' if frame.shape[2] == 1 else 'bgr8'
    data = np.ascontiguousarray(frame, dtype=np.uint8)
    return luma(encoding, frame.shape[0], frame.shape[1], frame.shape[1] * frame.shape[2],
                data.tobytes(), max_bytes=data.nbytes)


def encode_luma(lum, spatial=False):
    """Luma image -> phase array of shape (1, 1) or, with ``spatial``, (1, 3)."""
    brightness = half_circle(float(np.mean(lum)))
    if not spatial:
        return np.array([[brightness]])
    return np.array([[brightness, *_spatial_phase(lum)]])


def _spatial_phase(lum):
    grid = _coarse(lum, GRID)
    total = float(grid.sum())
    result = []
    for axis in (1, 0):
        profile = grid.sum(axis=1 - axis)
        n = profile.size
        coefficient = np.sum(profile * np.exp(-2j * np.pi * np.arange(n) / n))
        strength = abs(coefficient) / total if total > 0 else 0.0
        angle = np.angle(coefficient) if strength > 0 else 0.0
        result.append(min(1.0, strength) * np.exp(1j * angle))
    return result


def _coarse(lum, size):
    """Block-average ``lum`` to at most size x size cells (whole pixels only)."""
    h, w = lum.shape
    rows, cols = min(size, h), min(size, w)
    trimmed = lum[:h - h % rows, :w - w % cols]
    return trimmed.reshape(rows, trimmed.shape[0] // rows, cols,
                           trimmed.shape[1] // cols).mean(axis=(1, 3))
