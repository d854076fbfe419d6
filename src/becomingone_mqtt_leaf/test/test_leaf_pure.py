"""The leaf's payloads and sources, without a broker (and without ROS)."""

import io
import json
import subprocess
import sys

from becomingone_mqtt_leaf import sources
from becomingone_mqtt_leaf.cli import parse_arguments
from becomingone_mqtt_leaf.payload import BadSample, format_sample, MAX_PAYLOAD_BYTES, parse_line
from becomingone_mqtt_leaf.testing import free_port
import pytest


def test_samples_are_the_json_the_bridge_reads():
    assert json.loads(format_sample(0.25, 1764620000.1234567)) == {
        'value': 0.25, 'stamp': 1764620000.123457}
    assert json.loads(format_sample([1, 2.5])) == {'values': [1.0, 2.5]}
    for bad in (float('nan'), [0.1, float('inf')], [], [0.5] * MAX_PAYLOAD_BYTES):
        with pytest.raises(BadSample):
            format_sample(bad)


def test_lines_of_numbers_parse_and_garbage_is_refused():
    assert parse_line(b'0.5\n') == [0.5] and parse_line(' 1, 2 ,3 ') == [1.0, 2.0, 3.0]
    for bad in (b'', b'\xff', b'abc', b'1,,2', b'nan', b'1e999', b'1_000', '\u0663'):
        with pytest.raises(BadSample):
            parse_line(bad)


def test_the_pacer_keeps_a_fixed_grid_without_drift_or_bursts():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds
    pacer = sources.Pacer(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pacer.wait()
        now[0] += 0.03  # work between ticks
    assert slept == pytest.approx([0.07] * 4)
    now[0] += 5.0  # far behind: restart the grid instead of bursting to catch up
    pacer.wait()
    pacer.wait()
    assert slept[-1] == pytest.approx(0.1)


def test_the_sine_is_offset_plus_amplitude_sine_at_the_wall_time():
    wall = iter([100.0, 100.0, 100.125, 100.25])
    pacer = sources.Pacer(1000.0, clock=lambda: 0.0, sleep=lambda s: None)
    samples = list(sources.sine(2.0, 8.0, 0.5, 0.5, count=3, wall=lambda: next(wall),
                                pacer=pacer))
    assert [t for t, _ in samples] == [100.0, 100.125, 100.25]
    assert [v[0] for _, v in samples] == pytest.approx([0.5, 1.0, 0.5])


def test_a_csv_recording_replays_in_real_time(tmp_path):
    path = tmp_path / 'breath.csv'
    path.write_text('# a comment\ntime_s,value\n10.0,0.1\n10.5,0.2,0.3\n11.0,0.4\n')
    clock, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds
    replay = sources.csv_recording(path, wall=lambda: 1000.0 + clock[0],
                                   clock=lambda: clock[0], sleep=sleep)
    assert list(replay) == [(1000.0, [0.1]), (1000.5, [0.2, 0.3]), (1001.0, [0.4])]
    assert slept == pytest.approx([0.5, 0.5])
    (tmp_path / 'back.csv').write_text('1,0.1\n0.5,0.2\n')
    with pytest.raises(ValueError):
        list(sources.csv_recording(tmp_path / 'back.csv'))


def test_a_line_source_skips_and_counts_bad_lines(capsys):
    source = sources.LineSource(io.StringIO('0.5\nnope\n0.1,0.2\n\n'), wall=lambda: 5.0)
    assert list(source) == [(5.0, [0.5]), (5.0, [0.1, 0.2])]
    assert source.skipped == 2 and 'skipped' in capsys.readouterr().err


def test_the_command_line_refuses_incomplete_options():
    for argv in (['--source', 'file'], ['--source', 'serial'], ['--password-file', 'x'],
                 ['--rate', '0'], ['--flush-timeout', 'nan'], ['--flush-timeout', '-1'],
                 ['--flush-timeout', '1e308'], ['--flush-timeout', 'inf']):
        with pytest.raises(SystemExit):
            parse_arguments(argv)
    assert parse_arguments(['--source', 'stdin']).topic == 'becomingone/phase'


def test_no_ros_module_comes_with_the_leaf():
    code = ('import sys, becomingone_mqtt_leaf.cli, becomingone_mqtt_leaf.sources; '
            'print(" ".join(sys.modules))')
    loaded = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            check=True, timeout=60).stdout.split()
    assert 'paho.mqtt.client' in loaded
    assert not [m for m in loaded if m.startswith(('rclpy', 'rosidl', 'becomingone_core'))]


def test_queued_messages_the_broker_never_took_are_reported_and_fail_the_run():
    port = free_port()  # nobody listens on it
    done = subprocess.run(
        [sys.executable, '-m', 'becomingone_mqtt_leaf.cli', '--broker', '127.0.0.1', '--port',
         str(port), '--qos', '1', '--source', 'stdin', '--flush-timeout', '0.5'],
        input='0.5\n0.25\n', capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert '2 sent, 0 acknowledged' in done.stderr
    assert '2 QoS 1 message(s) not acknowledged' in done.stderr
