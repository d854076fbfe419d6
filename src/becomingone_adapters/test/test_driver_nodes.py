"""Device-driver adapters tested through their file sources: video, thermal CSV/sysfs, text."""

import json

from becomingone_adapters.text import text_angle
from becomingone_adapters.video import write_video
import numpy as np
import pytest
from std_msgs.msg import String


def test_camera_replays_a_video_file(adapter, tmp_path):
    pytest.importorskip('cv2', reason='OpenCV (opencv-python-headless) is not installed')
    frames = []
    for n in range(30):
        frame = np.zeros((48, 64, 3), dtype=np.uint8)
        frame[:, :] = int(255 * (0.5 + 0.5 * np.sin(n / 3.0)))  # a flickering light
        frames.append(frame)
    path = tmp_path / 'flicker.avi'
    write_video(path, frames, 15.0)
    camera = adapter('camera_to_phase', '-p', 'source:=file', '-p', f'file_path:={path}',
                     '-p', 'loop:=true', '-p', 'rate_hz:=30.0', '-p', 'spatial_phase:=true')
    assert camera.probe.spin_until(lambda: len(camera.phases) >= 15, 60), camera.node.output()
    assert all(p.channels == 3 and p.source == 'camera' for p in camera.phases)
    brightness = np.array([complex(p.real[0], p.imag[0]) for p in camera.phases])
    assert np.allclose(np.abs(brightness), 1.0)
    assert np.ptp(np.angle(brightness)) > 1.0, 'the flicker must move the phase'


def test_thermal_replays_csv_and_reads_a_sysfs_file(adapter, tmp_path):
    csv_path = tmp_path / 'cpu.csv'
    csv_path.write_text('time_s,celsius\n' + ''.join(
        f'{0.05 * n:.2f},{55 + 10 * np.sin(n / 4):.3f}\n' for n in range(400)))
    replay = adapter('thermal_to_phase', '-p', 'source:=file', '-p', f'file_path:={csv_path}',
                     '-p', 'rate_hz:=20.0')
    assert replay.probe.spin_until(lambda: len(replay.phases) >= 10, 60), replay.node.output()
    zone = tmp_path / 'temp'
    zone.write_text('55000\n')  # a kernel thermal zone: millidegrees
    sysfs = adapter('thermal_to_phase', '-p', f'sensor_path:={zone}', '-p', 'rate_hz:=20.0',
                    '-p', 'temperature_min:=50.0', '-p', 'temperature_max:=60.0')
    assert sysfs.probe.spin_until(lambda: len(sysfs.phases) >= 3, 60), sysfs.node.output()
    assert complex(sysfs.phases[-1].real[0], sysfs.phases[-1].imag[0]) == pytest.approx(1.0)


def test_text_tokens_carry_position_and_confidence(adapter):
    tokens = adapter('text_to_phase', '-p', 'mode:=tokens', '-p', 'position_period:=4')
    publisher = tokens.probe.node.create_publisher(String, 'text', 10)
    tokens.wait_for_path(lambda: publisher.publish(String(data=json.dumps(
        {'token': 'ping', 'position': 2, 'confidence': 0.5}))))
    first = tokens.phases[0]
    assert first.channels == 2
    identity = complex(first.real[0], first.imag[0])
    position = complex(first.real[1], first.imag[1])
    assert abs(identity) == pytest.approx(0.5)
    assert position == pytest.approx(-1.0)  # position 2 of a period of 4


def test_text_embedding_mode_falls_back_to_hash_without_a_local_model(adapter):
    text = adapter('text_to_phase', '-p', 'mode:=embedding',
                   '-p', 'embedding_model:=/nonexistent/model')
    publisher = text.probe.node.create_publisher(String, 'text', 10)
    text.wait_for_path(lambda: publisher.publish(String(data='hello')))
    assert 'using mode=hash' in text.node.output()
    z = complex(text.phases[0].real[0], text.phases[0].imag[0])
    assert z == pytest.approx(np.exp(1j * text_angle('hello')))
