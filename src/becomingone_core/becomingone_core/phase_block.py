"""
Check and unpack blocks of phase samples as they arrive from the wire (pure: no rclpy).

A ``becomingone_msgs/Phase`` message carries N samples of C complex channels, sample-major, with
a stamp for the first sample and per-sample offsets. Nodes pass the message's plain fields
here; a block that cannot be trusted is refused whole with a
:class:`~becomingone_core.input_rules.RejectedInput` whose ``reason`` is a short counter key:

``empty``, ``size_mismatch``, ``too_large`` (more values than ``max_samples``), ``too_long``
(more channels than ``max_channels``), ``non_finite``, ``time_order`` (offsets not starting at
0 or not increasing), ``span`` (the block covers more than ``max_span_s``: no sensor sends
blocks that long, and a huge offset would otherwise reach the integration as a time).
Whether the stamps lie near the receiver's clock is the transducer's rule (per sample).
"""

from becomingone_core.input_rules import NANOSECONDS, RejectedInput
import numpy as np

__all__ = ['pack', 'RejectedInput', 'unpack']


def unpack(stamp_ns, stamps_offset, real, imag, channels=0, epoch_ns=0, max_samples=1 << 20,
           max_channels=256, max_span_s=60.0):
    """
    Return ``(t, phase)``: float64[N] seconds since ``epoch_ns`` and complex128[N, C].

    Times are formed from integer nanoseconds relative to ``epoch_ns`` before turning into
    floats, so sample spacing keeps full precision however far the epoch lies from 1970.
    """
    real = np.asarray(real, dtype=float)
    imag = np.asarray(imag, dtype=float)
    offsets = np.asarray(stamps_offset, dtype=float)
    count = max(1, offsets.size)
    if real.size == 0:
        raise RejectedInput('empty', 'no phase values')
    if real.size != imag.size:
        raise RejectedInput('size_mismatch', f'{real.size} real vs {imag.size} imag values')
    if real.size > max_samples:
        raise RejectedInput('too_large', f'{real.size} values > {max_samples}')
    if offsets.size > max_samples:
        raise RejectedInput('too_large', f'{offsets.size} offsets > {max_samples}')
    if int(channels) > max_channels:
        raise RejectedInput('too_long', f'{channels} channels > {max_channels}')
    width = int(channels) or real.size // count
    if width < 1 or real.size != count * width:
        raise RejectedInput(
            'size_mismatch', f'{real.size} values for {count} samples of {channels} channels')
    if not (np.all(np.isfinite(real)) and np.all(np.isfinite(imag))
            and np.all(np.isfinite(offsets))):
        raise RejectedInput('non_finite', 'NaN or inf in the block')
    if offsets.size and (offsets[0] < 0 or np.any(np.diff(offsets) <= 0)):
        raise RejectedInput('time_order', 'stamps_offset must start >= 0 and increase')
    if offsets.size and offsets[-1] > max_span_s:
        raise RejectedInput('span', f'block spans {offsets[-1]:.3g} s > {max_span_s:g} s')
    base = (int(stamp_ns) - int(epoch_ns)) / NANOSECONDS
    t = base + (offsets if offsets.size else np.zeros(1))
    return t, (real + 1j * imag).reshape(count, width)


def pack(t, phase, epoch_ns=0):
    """
    Inverse of :func:`unpack` for publishers: return the message's plain fields as a dict.

    ``t`` is float64[N] seconds since ``epoch_ns``, ``phase`` complex[N, C] (or [N] for C = 1).
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    phase = np.asarray(phase, dtype=complex).reshape(t.size, -1)
    first_ns = int(epoch_ns) + int(round(t[0] * NANOSECONDS))
    offsets = t - (first_ns - int(epoch_ns)) / NANOSECONDS
    offsets[0] = 0.0
    return {
        'stamp_ns': first_ns,
        'stamps_offset': offsets.tolist() if t.size > 1 else [],
        'channels': phase.shape[1],
        'real': phase.real.ravel().tolist(),
        'imag': phase.imag.ravel().tolist(),
    }
