"""
Adapter benchmarks (printed figures, not tests).

1. Converter cost: audio (analytic pitch phase) as a real-time factor, images per second by
   size and encoding, scalar/IMU/text encodings per second.
2. One input node over real DDS: Float64 messages in -> Phase out per second at full tilt, and
   the node's CPU share.
3. HTTP output: submit() latency while the server is down (it must never wait for the network),
   and records per second to a loopback server.
4. Motor output: delay from "released" on sync/state to the zero Twist, over DDS.

    python bench_adapters.py [--seconds 5]
"""

import argparse
import os
import pathlib
import statistics
import sys
import time

from becomingone_adapters import audio, image, scalars, text
from becomingone_adapters.encoding import RangeEncoder
from becomingone_adapters.http_post import HttpPoster
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import Phase, SyncState
from geometry_msgs.msg import Twist
import numpy as np
from rclpy.qos import qos_profile_sensor_data
from std_msgs.msg import Float64

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'test'))
from http_server import closed_port_url, LoopbackServer  # noqa: E402, I100

TICKS = os.sysconf('SC_CLK_TCK')


def _rate(function, seconds=1.0):
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        function()
        count += 1
    return count / (time.perf_counter() - start)


def converters():
    print('1) converter cost (one core)')
    for rate in (16000, 48000):
        signal = np.sin(2 * np.pi * 440 * np.arange(rate * 10) / rate)
        tracker = audio.AnalyticPhase(rate, 200.0)
        start = time.perf_counter()
        for i in range(0, signal.size, 1024):
            tracker.push(signal[i:i + 1024])
        elapsed = time.perf_counter() - start
        print(f'   audio {rate} Hz, blocks of 1024: {10 / elapsed:7.1f}x real time')
    for width, height in ((320, 240), (640, 480), (1280, 720)):
        for encoding, channels in (('rgb8', 3), ('mono8', 1)):
            data = np.random.default_rng(0).integers(
                0, 255, (height, width * channels), dtype=np.uint8).tobytes()
            fps = _rate(lambda: image.encode_luma(
                image.luma(encoding, height, width, width * channels, data), True))
            print(f'   image {width}x{height} {encoding:5s} (+spatial): {fps:8.0f} frames/s')
    encoder = RangeEncoder(0, 1)
    print(f'   scalar: {_rate(lambda: scalars.encode_scalar(0.5, encoder)):10.0f} /s')
    print(f'   imu:    {_rate(lambda: scalars.encode_imu((0, 0, 1), (0, 9.8, 0), encoder, encoder)):10.0f} /s')  # noqa: E501
    print(f'   text hash (40 chars): '
          f'{_rate(lambda: text.encode_hash("the quick brown fox jumps over the dog")):10.0f} /s')
    stream = text.TokenStream()
    token = '{"token": "fox", "position": 3, "confidence": 0.9}'
    print(f'   llm token (json):     {_rate(lambda: stream.encode(token)):10.0f} /s')


def _cpu_s(pid):
    with open(f'/proc/{pid}/stat') as handle:
        fields = handle.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def input_node(seconds):
    print('2) float64_to_phase over DDS: Phase out for paced Float64 in')
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'float64_to_phase', env,
            ros_arguments=['-p', 'max_rate_hz:=1000000.0']) as node:
        phases = probe.collect(Phase, 'phase', qos_profile_sensor_data)
        publisher = probe.node.create_publisher(Float64, 'value', qos_profile_sensor_data)
        probe.spin_until(lambda: (publisher.publish(Float64(data=0.5)),
                                  probe.spin_for(0.05), phases)[2], 60)
        for rate in (500, 2000, 5000, 20000):
            phases.clear()
            cpu0, start, sent = _cpu_s(node.process.pid), time.monotonic(), 0
            while time.monotonic() - start < seconds:
                due = int((time.monotonic() - start) * rate)
                while sent < due:
                    publisher.publish(Float64(data=0.5))
                    sent += 1
                probe.executor.spin_once(timeout_sec=0.001)
            elapsed = time.monotonic() - start
            cpu = (_cpu_s(node.process.pid) - cpu0) / elapsed
            probe.spin_for(0.3)
            print(f'   in {sent / elapsed:7.0f} msg/s -> phase out {len(phases) / elapsed:7.0f} '
                  f'msg/s ({100 * len(phases) / max(sent, 1):5.1f} %), node CPU '
                  f'{100 * cpu:5.1f} % of a core')


def http(seconds):
    print('3) HTTP output')
    poster = HttpPoster(closed_port_url(), timeout_s=0.5, retries=3, queue_size=100)
    latencies = []
    for n in range(20000):
        start = time.perf_counter()
        poster.submit({'n': n})
        latencies.append(time.perf_counter() - start)
    poster.close()
    latencies.sort()
    print(f'   submit() with the server down: p50 {1e6 * latencies[len(latencies) // 2]:.1f} us, '
          f'p99 {1e6 * latencies[int(len(latencies) * 0.99)]:.1f} us, '
          f'dropped {poster.counters.dropped} of 20000 (queue 100)')
    with LoopbackServer() as server:
        poster = HttpPoster(server.url, queue_size=100000)
        start = time.monotonic()
        for n in range(100000):
            poster.submit({'n': n})
            if time.monotonic() - start > seconds:
                break
        while poster.queued and time.monotonic() - start < seconds:
            time.sleep(0.01)
        elapsed = time.monotonic() - start
        sent = poster.counters.sent
        poster.close()
    print(f'   loopback server: {sent / elapsed:.0f} records/s (one worker, keep-alive)')


def motor(cycles):
    print('4) motor_output: released on sync/state -> zero Twist, over DDS')
    env = isolated_ros_env()
    with RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'motor_output', env,
            ros_arguments=['-p', 'rate_hz:=50.0', '-p', 'watchdog_s:=1.0']):
        twists = []
        probe.node.create_subscription(Twist, 'cmd_vel',
                                       lambda m: twists.append((time.perf_counter(), m)), 50)
        publisher = probe.node.create_publisher(SyncState, 'sync/state', 10)
        delays = []
        for _ in range(cycles):
            probe.spin_until(lambda: (publisher.publish(SyncState(
                collapsed=True, coherence=0.9, sync_real=1.0, sync_imag=1.0)),
                probe.spin_for(0.02), twists and twists[-1][1].linear.x > 0)[2], 60)
            released = time.perf_counter()
            publisher.publish(SyncState(collapsed=False, coherence=0.1))
            probe.spin_until(lambda: twists[-1][1].linear.x == 0.0, 10)
            delays.append(twists[-1][0] - released)
    delays.sort()
    print(f'   {cycles} releases: p50 {1e3 * statistics.median(delays):.2f} ms, '
          f'max {1e3 * delays[-1]:.2f} ms')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    parser.add_argument('--seconds', type=float, default=5.0)
    args = parser.parse_args()
    converters()
    input_node(args.seconds)
    http(args.seconds)
    motor(20)


if __name__ == '__main__':
    main()
