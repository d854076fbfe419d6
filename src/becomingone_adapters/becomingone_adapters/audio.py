"""
Audio blocks to phase: how steadily the analytic signal turns, on a slow reference rotation.

Raw amplitude says how loud a sound is, not whether it is steady. The analytic signal
a = x + i H{x} (scipy.signal.hilbert) has an unwrapped phase phi(t) that grows at the pitch:
exactly linearly for a steady tone, as a random walk for noise. The adapter follows the mean
pitch f (smoothed over ``pitch_tau_s``), keeps the residual phase psi = (phi - 2 pi f t) / D
(D = ``divider``), and publishes

    z(t) = exp(i (2 pi f_ref t + psi(t)))

sampled at ``output_rate``. A steady tone keeps psi constant, so z turns at exactly f_ref
(``reference_hz``): coherent at any integration rate of the cell. Noise makes psi diffuse (its
variance grows by about fs pi^2 / (3 D^2) rad^2 per second), so the phase velocity the cell
correlates is random. Publishing the audio-rate phasor itself would not do: a cell integrating
at 10 Hz averages a 440 Hz rotation to almost nothing; and i.i.d. pitch jitter would be averaged
away by the same bins, which is why the residual is integrated rather than sampled. Blocks are
transformed with one block of context on each side and emitted one block late, so block edges
do not bend the phase.
"""

import wave

from becomingone_core.input_rules import RejectedInput
import numpy as np
from scipy.signal import hilbert

_SILENCE = 1e-12


class AnalyticPhase:
    """Streams mono audio blocks in, steadiness-on-reference phasors (``output_rate``) out."""

    def __init__(self, sample_rate, output_rate=200.0, reference_hz=2.0, divider=16.0,
                 pitch_tau_s=0.5):
        if not sample_rate > 0 or not 0 < output_rate <= sample_rate:
            raise ValueError('need sample_rate > 0 and 0 < output_rate <= sample_rate')
        if not divider >= 1 or not pitch_tau_s > 0:
            raise ValueError('need divider >= 1 and pitch_tau_s > 0')
        self.sample_rate = float(sample_rate)
        self.step = max(1, int(round(sample_rate / output_rate)))
        self.output_rate = self.sample_rate / self.step
        self.reference_hz = float(reference_hz)
        self.divider = float(divider)
        self.pitch_tau_s = float(pitch_tau_s)
        self.mean_step = None  # mean phase step per sample (rad): the pitch
        self._residual = 0.0
        self._blocks = []
        self._start_index = 0

    @property
    def pitch_hz(self):
        """Return the followed mean pitch (Hz), NaN before the first block."""
        if self.mean_step is None:
            return float('nan')
        return self.mean_step * self.sample_rate / (2.0 * np.pi)

    def push(self, samples):
        """
        Add a block; return (first_sample_time_s, phasors) for the previous block, or None.

        Times count from the first sample pushed; the caller adds its own time origin.
        """
        block = np.asarray(samples, dtype=float).reshape(-1)
        if block.size == 0:
            raise RejectedInput('empty', 'empty audio block')
        if not np.all(np.isfinite(block)):
            raise RejectedInput('non_finite', 'audio contains NaN or inf')
        self._blocks.append(block)
        if len(self._blocks) < 2:
            return None
        if len(self._blocks) > 3:
            self._start_index += self._blocks.pop(0).size
        return self._emit(middle=len(self._blocks) - 2)

    def flush(self):
        """Emit the last block (with context on its left only), or None."""
        if not self._blocks:
            return None
        result = self._emit(middle=len(self._blocks) - 1)
        self._blocks.clear()
        return result

    def _emit(self, middle):
        joined = np.concatenate(self._blocks)
        # The phase does not depend on scale: normalising first keeps huge samples finite.
        peak = np.max(np.abs(joined))
        joined = joined / peak if peak > 0 else joined
        analytic = hilbert(joined - joined.mean())
        magnitude = np.abs(analytic)
        unit = np.where(magnitude > _SILENCE, analytic / np.maximum(magnitude, _SILENCE), 1.0)
        begin = sum(b.size for b in self._blocks[:middle])
        end = begin + self._blocks[middle].size
        # Phase step into each sample of this block (the first sample ever has none).
        previous = unit[begin - 1:end - 1] if begin else np.concatenate([unit[:1], unit[:end - 1]])
        steps = np.angle(unit[begin:end] * np.conj(previous))
        block_mean = float(np.angle(np.mean(np.exp(1j * steps))))
        if self.mean_step is None:
            self.mean_step = block_mean
        else:
            alpha = min(1.0, steps.size / (self.pitch_tau_s * self.sample_rate))
            self.mean_step += alpha * (block_mean - self.mean_step)
        residual = self._residual + np.cumsum(steps - self.mean_step) / self.divider
        self._residual = float(residual[-1] % (2.0 * np.pi))
        # Keep the decimation grid continuous across blocks.
        offset = (-(self._start_index + begin)) % self.step
        local = np.arange(offset, end - begin, self.step)
        if local.size == 0:
            return None
        times = (self._start_index + begin + local) / self.sample_rate
        values = np.exp(1j * (2.0 * np.pi * self.reference_hz * times + residual[local]))
        return float(times[0]), values


class WavSource:
    """Reads a PCM WAV file block by block, as mono floats in [-1, 1]."""

    def __init__(self, path, block_frames=1024, loop=False):
        self.path = path
        self.block_frames = int(block_frames)
        self.loop = loop
        self._wav = wave.open(str(path), 'rb')
        self.sample_rate = self._wav.getframerate()
        self.channels = self._wav.getnchannels()
        self.width = self._wav.getsampwidth()
        if self.width not in (1, 2, 3, 4):
            raise ValueError(f'{path}: unsupported sample width {self.width}')

    def read(self):
        """Return the next block (mono float array), or None at the end of the file."""
        frames = self._wav.readframes(self.block_frames)
        if not frames and self.loop:
            self._wav.rewind()
            frames = self._wav.readframes(self.block_frames)
        if not frames:
            return None
        return pcm_to_float(frames, self.width, self.channels)

    def close(self):
        self._wav.close()


def pcm_to_float(frames, width, channels):
    """Little-endian PCM bytes -> mono float samples in [-1, 1] (channels averaged)."""
    raw = np.frombuffer(frames, dtype=np.uint8)
    raw = raw[:raw.size - raw.size % (width * channels)]
    if width == 1:
        samples = (raw.astype(float) - 128.0) / 128.0
    elif width == 3:
        triplets = raw.reshape(-1, 3).astype(np.int32)
        value = triplets[:, 0] | (triplets[:, 1] << 8) | (triplets[:, 2] << 16)
        samples = np.where(value >= 1 << 23, value - (1 << 24), value) / float(1 << 23)
    else:
        dtype = np.dtype('<i2' if width == 2 else '<i4')
        samples = raw.view(dtype).astype(float) / float(2 ** (8 * width - 1))
    return samples.reshape(-1, channels).mean(axis=1)


def write_wav(path, samples, sample_rate):
    """Write mono float samples in [-1, 1] as 16-bit PCM."""
    pcm = np.clip(np.asarray(samples, dtype=float), -1.0, 1.0)
    with wave.open(str(path), 'wb') as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes((pcm * 32767.0).astype('<i2').tobytes())


def open_stream(kind, **options):
    """
    Open and start a sounddevice ``InputStream`` or ``OutputStream`` (``kind``).

    sounddevice is imported here, lazily: it fails to import on machines without libportaudio.
    Every failure (no library, no device, a bad device name) is raised as OSError saying why.
    """
    try:
        import sounddevice
    except (ImportError, OSError) as error:
        raise OSError(f'sounddevice unavailable: {error}') from error
    try:
        stream = getattr(sounddevice, kind)(**options)
        stream.start()
    except (sounddevice.PortAudioError, ValueError) as error:
        raise OSError(f'no usable sound device: {error}') from error
    return stream
