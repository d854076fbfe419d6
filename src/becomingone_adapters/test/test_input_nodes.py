"""Input adapter nodes over real DDS: recordings replayed, bad input counted, floods shed."""

import math
import time

from becomingone_adapters.audio import write_wav
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from builtin_interfaces.msg import Time
import numpy as np
import pytest
from sensor_msgs.msg import Image, Temperature
from std_msgs.msg import Float64


def _phasors(messages):
    return np.concatenate([np.asarray(m.real) + 1j * np.asarray(m.imag) for m in messages])


def _steadiness(z):
    """Return |mean unit phase-step phasor|: 1 for a constant phase velocity, ~0 for noise."""
    steps = z[1:] * np.conj(z[:-1])
    return abs(np.mean(steps / np.maximum(np.abs(steps), 1e-12)))


@pytest.mark.parametrize('kind', ['tone', 'noise'])
def test_microphone_replays_a_wav_file_as_analytic_phase(adapter, tmp_path, kind):
    rate, seconds = 16000, 1.5
    t = np.arange(int(rate * seconds)) / rate
    signal = (0.4 * np.sin(2 * np.pi * 440 * t) if kind == 'tone'
              else 0.3 * np.random.default_rng(7).standard_normal(t.size))
    write_wav(tmp_path / f'{kind}.wav', signal, rate)
    # source=device on a machine without PortAudio falls back to the file, and says so. Looping
    # keeps blocks coming however late discovery lets the probe join.
    mic = adapter('microphone_to_phase', '-p', f'file_path:={tmp_path / kind}.wav',
                  '-p', 'output_rate_hz:=200.0', '-p', 'block_frames:=1600', '-p', 'loop:=true')
    assert mic.probe.spin_until(lambda: len(mic.phases) >= 25, 60), mic.node.output()
    first = mic.phases[0]
    assert first.source == 'microphone' and first.channels == 1
    assert len(first.real) == 20  # 1600 frames at 16 kHz, decimated to 200 Hz
    assert np.allclose(np.diff(first.stamps_offset), 1 / 200.0)
    stamps = [m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 for m in mic.phases]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    blocks = [_phasors([m]) for m in mic.phases[5:]]  # after the pitch has been followed
    assert all(np.allclose(np.abs(z), 1.0) for z in blocks)
    # Each message is one 0.1 s bin, as a cell integrating at 10 Hz sees it.
    steadiness = _steadiness(np.array([z.mean() for z in blocks]))
    if kind == 'tone':
        assert steadiness > 0.95
    else:
        assert steadiness < 0.5


def test_bad_temperatures_are_counted_per_reason_and_good_ones_still_pass(adapter):
    node = adapter('temperature_to_phase', '-p', 'temperature_min:=0.0',
                   '-p', 'temperature_max:=50.0')
    publisher = node.probe.node.create_publisher(Temperature, 'temperature', 10)

    def now():
        return node.probe.node.get_clock().now().nanoseconds * 1e-9

    def send(value, stamp_s):
        message = Temperature(temperature=value)
        message.header.stamp = Time(sec=int(math.floor(stamp_s)),
                                    nanosec=int((stamp_s % 1) * 1e9))
        publisher.publish(message)
        node.probe.spin_for(0.05)

    node.wait_for_path(lambda: send(25.0, now()))
    start = now()
    send(float('nan'), start + 0.01)
    send(float('inf'), start + 0.02)
    send(20.0, -5.0)
    send(20.0, start + 3600.0)
    send(20.0, start - 10.0)
    send(80.0, start + 0.03)  # clipped, not refused
    assert node.probe.spin_until(lambda: node.values('input').get('rejected_total') == 5, 30), \
        (node.values('input'), len(node.phases))
    counts = node.values('input')
    assert counts['rejected_non_finite'] == 2
    assert counts['rejected_negative_stamp'] == 1
    assert counts['rejected_future_stamp'] == 1
    assert counts['rejected_stamp_backwards'] == 1
    assert node.probe.spin_until(lambda: node.values('range').get('clipped_temperature') == 1,
                                 30)
    assert complex(node.phases[0].real[0], node.phases[0].imag[0]) == pytest.approx(1.0)
    assert complex(node.phases[-1].real[0], node.phases[-1].imag[0]) == pytest.approx(1j)
    assert node.node.running


def test_flood_is_shed_visibly_and_the_node_keeps_serving(adapter):
    node = adapter('float64_to_phase', '-p', 'max_rate_hz:=20.0')
    publisher = node.probe.node.create_publisher(Float64, 'value', 1000)
    node.wait_for_path(lambda: publisher.publish(Float64(data=0.25)))
    # NaN paced below the 20 Hz cap, so the rate limit cannot take it first: counted non_finite.
    for _ in range(5):
        publisher.publish(Float64(data=float('nan')))
        node.probe.spin_for(0.1)
    before = len(node.phases)
    start = time.monotonic()
    # A sustained 1 kHz stream, a tenth of it NaN, against a 20 Hz cap...
    for n in range(2000):
        publisher.publish(Float64(data=float('nan') if n % 10 == 0 else 0.5))
        if n % 10 == 9:
            node.probe.spin_for(0.01)
    # ...then 5000 messages at once, faster than any subscriber can take them.
    for n in range(5000):
        publisher.publish(Float64(data=0.5))
    elapsed = time.monotonic() - start
    flood_phases = len(node.phases) - before

    def shed_visibly():
        values = {**node.values('input'), **node.values('transport')}
        # Whether DDS itself reports lost samples depends on where the burst overflows (writer,
        # transport or the reader's keep-last queue), so the counter must be shown, not non-zero.
        return (values.get('rejected_rate_limited', 0) > 50
                and values.get('rejected_non_finite', 0) > 0
                and 'messages_lost' in values)
    assert node.probe.spin_until(shed_visibly, 60), (node.values('input'),
                                                     node.values('transport'))
    # Shedding keeps the output at the declared rate (plus a burst of 2), never the flood's.
    assert flood_phases <= 20 * elapsed + 5, (flood_phases, elapsed)
    node.probe.spin_for(0.2)  # let the bucket refill
    heard = len(node.phases)
    node.wait_for_path(lambda: publisher.publish(Float64(data=1.0)), lambda: any(
        m.imag[0] == pytest.approx(1.0) for m in node.phases[heard:]))
    assert node.node.running


def test_image_adapter_encodes_brightness_and_spatial_phase(adapter):
    node = adapter('image_to_phase', '-p', 'spatial_phase:=true')
    publisher = node.probe.node.create_publisher(Image, 'image_raw', 10)
    node.wait_for_path(lambda: publisher.publish(
        Image(height=1, width=1, encoding='mono8', step=1, data=b'\x00')))
    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    pixels[:, :4] = 255
    publisher.publish(Image(height=8, width=8, encoding='rgb8', step=24,
                            data=pixels.tobytes()))
    publisher.publish(Image(height=2, width=2, encoding='yuv422', step=4, data=bytes(8)))
    assert node.probe.spin_until(lambda: len(node.phases) >= 2, 30), node.node.output()
    assert node.phases[-1].channels == 3 and len(node.phases[-1].real) == 3
    assert node.probe.spin_until(
        lambda: node.values('input').get('rejected_unknown_encoding') == 1, 30)


def test_bad_parameter_stops_start_up_naming_it():
    env = isolated_ros_env()
    with NodeProcess.run('becomingone_adapters', 'temperature_to_phase', env, ros_arguments=[
            '-p', 'temperature_min:=50.0', '-p', 'temperature_max:=10.0']) as node:
        assert node.process.wait(timeout=60) == 2
        assert "'temperature_max'" in node.output()
