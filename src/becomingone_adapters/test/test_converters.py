"""The pure converters: encodings are right, stable and refuse what they must."""

import json
import math
import subprocess
import sys

from becomingone_adapters import audio, image, scalars, text, thermal
from becomingone_adapters.encoding import half_circle, RangeEncoder
from becomingone_adapters.input_guard import StampGuard
from becomingone_core.input_rules import RejectedInput
from becomingone_core.token_bucket import TokenBucket
import numpy as np
import pytest


def test_range_encoder_maps_ends_to_half_circle_and_counts_clipping():
    encoder = RangeEncoder(10.0, 20.0, 'x')
    z = encoder.encode([10.0, 15.0, 20.0, 25.0, 0.0])
    assert np.allclose(np.abs(z), 1.0)
    assert z[0] == pytest.approx(-1j)
    assert z[1] == pytest.approx(1.0)
    assert z[2] == pytest.approx(1j)
    assert z[3] == pytest.approx(1j) and z[4] == pytest.approx(-1j)
    assert encoder.clipped == 2


def test_range_encoder_refuses_non_finite():
    with pytest.raises(RejectedInput) as rejected:
        RangeEncoder(0, 1).encode([0.5, math.nan])
    assert rejected.value.reason == 'non_finite'


def test_vector_size_is_enforced():
    encoder = RangeEncoder(0, 1)
    assert scalars.encode_vector([0.1, 0.2, 0.3], encoder, channels=3).shape == (1, 3)
    for values, reason in (([], 'empty'), ([0.1], 'wrong_size'), ([0.0] * 300, 'too_large')):
        with pytest.raises(RejectedInput) as rejected:
            scalars.encode_vector(values, encoder, channels=3 if values else 0)
        assert rejected.value.reason == reason


def test_imu_has_six_channels_gyro_first():
    gyro, accel = RangeEncoder(-1, 1, 'g'), RangeEncoder(-10, 10, 'a')
    z = scalars.encode_imu((1, 0, -1), (0, 0, 10), gyro, accel)
    assert z.shape == (1, 6)
    assert np.allclose(z[0], [1j, 1, -1j, 1, 1, 1j])


@pytest.mark.parametrize('encoding,channels,dtype', [
    ('mono8', 1, np.uint8), ('mono16', 1, np.uint16), ('rgb8', 3, np.uint8),
    ('bgr8', 3, np.uint8)])
def test_image_luma_for_each_encoding(encoding, channels, dtype):
    full = np.iinfo(dtype).max
    pixels = np.zeros((4, 6, channels), dtype=dtype)
    pixels[:, :3] = full  # left half white
    step = 6 * channels * np.dtype(dtype).itemsize + 2  # padded rows, as drivers send
    data = np.zeros((4, step), dtype=np.uint8)
    data[:, :step - 2] = pixels.reshape(4, -1).view(np.uint8)
    lum = image.luma(encoding, 4, 6, step, data.tobytes())
    assert lum.shape == (4, 6)
    assert np.allclose(lum[:, :3], 1.0) and np.allclose(lum[:, 3:], 0.0)
    z = image.encode_luma(lum, spatial=True)
    assert z.shape == (1, 3)
    assert z[0, 0] == pytest.approx(half_circle(0.5))
    assert abs(z[0, 1]) > 0.3 and abs(z[0, 2]) == pytest.approx(0.0, abs=1e-9)


def test_red_and_blue_swap_between_rgb8_and_bgr8():
    red = np.array([[[255, 0, 0]]], dtype=np.uint8).tobytes()
    assert image.luma('rgb8', 1, 1, 3, red)[0, 0] == pytest.approx(0.299, abs=1e-3)
    assert image.luma('bgr8', 1, 1, 3, red)[0, 0] == pytest.approx(0.114, abs=1e-3)


def test_spatial_phase_turns_as_a_bright_bar_moves():
    angles = []
    for column in (2, 6, 10):
        frame = np.zeros((16, 16), dtype=np.uint8)
        frame[:, column:column + 2] = 255
        angles.append(np.angle(image.encode_luma(image.luma_from_array(frame), True)[0, 1]))
    steps = np.diff(np.unwrap(angles))
    assert np.all(steps < 0) and np.allclose(steps, steps[0])


@pytest.mark.parametrize('fields,reason', [
    (('yuv422', 1, 1, 2, b'\0\0'), 'unknown_encoding'),
    (('mono8', 0, 1, 1, b''), 'empty'),
    (('rgb8', 2, 2, 5, bytes(10)), 'wrong_size'),
    (('mono8', 2, 2, 2, bytes(3)), 'wrong_size'),
    (('mono8', 4096, 4096, 4096, b''), 'too_large'),
])
def test_bad_images_are_refused_with_a_reason(fields, reason):
    with pytest.raises(RejectedInput) as rejected:
        image.luma(*fields, max_bytes=1 << 20)
    assert rejected.value.reason == reason


def test_text_angle_is_the_same_in_another_process():
    sample = 'coherence is real \u00e9\u6f22'
    here = text.text_angle(sample)
    there = subprocess.run(
        [sys.executable, '-c', 'import sys; from becomingone_adapters.text import text_angle; '
         'print(repr(text_angle(sys.argv[1])))', sample],
        capture_output=True, text=True, check=True, env={'PYTHONHASHSEED': 'random',
                                                         **__import__('os').environ})
    assert float(there.stdout) == here
    assert text.text_angle('a') != text.text_angle('b')
    assert -math.pi <= here < math.pi


def test_token_stream_carries_position_and_confidence():
    stream = text.TokenStream(position_period=4)
    first = stream.encode('Hello')
    second = stream.encode(json.dumps({'token': 'world', 'position': 1, 'confidence': 0.25}))
    assert first.shape == second.shape == (1, 2)
    assert abs(first[0, 0]) == pytest.approx(1.0)
    assert abs(second[0, 0]) == pytest.approx(0.25)
    assert second[0, 1] == pytest.approx(1j)
    assert stream.encode('!')[0, 1] == pytest.approx(-1.0)  # position 2 of 4
    for bad, reason in (('{"token": 3}', 'bad_json'), ('{oops', 'bad_json'),
                        ('{"token": "x", "confidence": 2}', 'bad_confidence'),
                        ('{"token": "x", "position": -1}', 'bad_position'), ('', 'empty')):
        with pytest.raises(RejectedInput) as rejected:
            stream.encode(bad)
        assert rejected.value.reason == reason


def test_embedding_projection_is_deterministic_and_continuous():
    rng = np.random.default_rng(3)
    v = rng.standard_normal(384)
    assert text.project_embedding(v) == text.project_embedding(v.copy())
    near = text.project_embedding(v + 1e-3 * rng.standard_normal(384))
    assert abs(near - text.project_embedding(v)) < 0.05


def _stream(signal, sample_rate, block=1024):
    phase = audio.AnalyticPhase(sample_rate, 200.0)
    blocks = [phase.push(signal[i:i + block]) for i in range(0, signal.size, block)]
    blocks.append(phase.flush())
    blocks = [b for b in blocks if b is not None]
    times = np.concatenate([t + np.arange(z.size) / phase.output_rate for t, z in blocks])
    return times, np.concatenate([z for _, z in blocks]), phase


def binned_steadiness(z, per_bin=20):
    """Return |mean phase step| of ``z`` averaged in bins, as a cell integrating at 10 Hz would."""
    bins = z[:z.size // per_bin * per_bin].reshape(-1, per_bin).mean(axis=1)
    steps = bins[1:] * np.conj(bins[:-1])
    return abs(np.mean(steps / np.maximum(np.abs(steps), 1e-12)))


def test_tone_turns_steadily_at_the_reference_and_noise_diffuses():
    rate = 16000
    t = np.arange(3 * rate) / rate
    rng = np.random.default_rng(0)
    times, tone, tracker = _stream(0.3 * np.sin(2 * np.pi * 440 * t), rate)
    assert tracker.pitch_hz == pytest.approx(440.0, abs=2.0)
    _, noisy_tone, _ = _stream(0.5 * np.sin(2 * np.pi * 440 * t) + 0.1 * rng.standard_normal(
        t.size), rate)
    _, noise, _ = _stream(rng.standard_normal(t.size), rate)
    assert np.allclose(np.diff(times), 1 / 200.0)  # continuous time base across blocks
    assert np.allclose(np.abs(tone), 1.0)
    # A steady tone turns at reference_hz (2 Hz), once the pitch is followed (a second).
    steps = np.angle(tone[1:] * np.conj(tone[:-1]))
    assert np.allclose(steps[200:], 2 * np.pi * 2.0 / 200.0, atol=1e-3)  # after pitch_tau_s
    assert binned_steadiness(tone) > 0.99
    assert binned_steadiness(noisy_tone) > 0.95
    assert binned_steadiness(noise) < 0.3


def test_wav_round_trip_and_pcm_widths(tmp_path):
    samples = np.sin(np.linspace(0, 20, 3000)) * 0.5
    audio.write_wav(tmp_path / 'x.wav', samples, 8000)
    source = audio.WavSource(tmp_path / 'x.wav', block_frames=1000)
    assert source.sample_rate == 8000
    read = np.concatenate([source.read() for _ in range(3)])
    assert source.read() is None
    assert np.allclose(read, samples, atol=1e-4)
    pcm24 = (np.array([0x7FFFFF, -0x800000, 0]).astype('<i4').view(np.uint8)
             .reshape(-1, 4)[:, :3].tobytes())
    assert np.allclose(audio.pcm_to_float(pcm24, 3, 1), [1.0, -1.0, 0.0], atol=1e-6)


def test_stamp_guard_reasons():
    guard = StampGuard(max_future_skew_s=1.0)
    assert guard.check(0.0, 100.0) == 100.0  # unstamped: receive time
    guard.accept(guard.check(99.0, 100.0))
    for stamp, reason in ((-1.0, 'negative_stamp'), (102.0, 'future_stamp'),
                          (98.0, 'stamp_backwards'), (math.inf, 'non_finite')):
        with pytest.raises(RejectedInput) as rejected:
            guard.check(stamp, 100.0)
        assert rejected.value.reason == reason


def test_rate_limiter_sheds_a_flood_and_recovers():
    limiter = TokenBucket(100.0, burst=10)
    admitted = sum(limiter.admit(5.0) for _ in range(1000))
    assert admitted == 10
    assert limiter.admit(5.5)  # tokens refill with time
    before = limiter.tokens
    limiter.refill(4.0)  # a clock going back earns nothing
    assert limiter.tokens == before


def test_csv_source_replays_by_elapsed_time(tmp_path):
    path = tmp_path / 'temp.csv'
    path.write_text('time_s,value\n10.0,40\n10.5,41\n11.0,42\n')
    source = thermal.CsvSource(path)
    assert source.due(0.0) == [(10.0, 40.0)]
    assert source.due(1.0) == [(10.5, 41.0), (11.0, 42.0)]
    assert source.finished
    path.write_text('1,2\n0,3\n')
    with pytest.raises(ValueError, match='increasing'):
        thermal.CsvSource(path)


def test_sysfs_reading(tmp_path):
    path = tmp_path / 'temp'
    path.write_text('48250\n')
    assert thermal.read_millidegrees(path) == pytest.approx(48.25)
    path.write_text('n/a\n')
    with pytest.raises(RejectedInput):
        thermal.read_millidegrees(path)
