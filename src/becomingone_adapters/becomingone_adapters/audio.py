"""
Audio blocks to phase: the analytic signal's unit phasor, decimated to a rate the cell takes.

Raw amplitude says how loud a sound is, not when it repeats. The analytic signal
x + i H{x} (scipy.signal.hilbert) turns a tone of frequency f into exp(i 2 pi f t): its phase
velocity is constant, so a steady tone is perfectly coherent while noise has a random phase
velocity. The phasor is normalised to unit magnitude (loudness is not coherence) and decimated
to ``output_rate`` (aliasing keeps a steady tone's phase step constant, which is all the kernel
needs). Blocks are transformed with one block of context on each side and emitted one block
late, so block edges do not bend the phase.
"""

import wave

from becomingone_adapters.encoding import InputRejected
import numpy as np
from scipy.signal import hilbert


_SILENCE = 1e-12


class AnalyticPhase:
    """Streams mono audio blocks in, unit-phasor blocks (at ``output_rate``) out."""

    def __init__(self, sample_rate, output_rate=500.0):
        if not sample_rate > 0 or not 0 < output_rate <= sample_rate:
            raise ValueError('need sample_rate > 0 and 0 < output_rate <= sample_rate')
        self.sample_rate = float(sample_rate)
        self.step = max(1, int(round(sample_rate / output_rate)))
        self.output_rate = self.sample_rate / self.step
        self._blocks = []
        self._start_index = 0
        self._emitted = 0

    def push(self, samples):
        """
        Add a block; return (first_sample_time_s, phasors) for the previous block, or None.

        Times count from the first sample pushed; the caller adds its own time origin.
        """
        block = np.asarray(samples, dtype=float).reshape(-1)
        if block.size == 0:
            raise InputRejected('empty', 'empty audio block')
        if not np.all(np.isfinite(block)):
            raise InputRejected('non_finite', 'audio contains NaN or inf')
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
        begin = sum(b.size for b in self._blocks[:middle])
        end = begin + self._blocks[middle].size
        # Keep the decimation grid continuous across blocks.
        first = self._start_index + begin
        offset = (-first) % self.step
        indices = np.arange(begin + offset, end, self.step)
        if indices.size == 0:
            return None
        values = analytic[indices]
        magnitude = np.abs(values)
        values = np.where(magnitude > _SILENCE, values / np.maximum(magnitude, _SILENCE), 1.0)
        self._emitted += indices.size
        return (self._start_index + indices[0]) / self.sample_rate, values


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
