"""
`make demo` until the cell exists: a simulated phase stream crossing DDS, reported as it goes.

A talker publishes e^{i 2 pi f t} as ``becomingone_msgs/Phase`` at a fixed rate; a listener in
the same process (separate node, real DDS) reports the rate it receives and the phase step
between samples. The full cell replaces this demo.
"""

import argparse
import cmath
import math
import sys
import time

from becomingone_msgs.msg import Phase
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data


class PhaseTalker(Node):

    def __init__(self, rate_hz=100.0, frequency_hz=1.0):
        super().__init__('demo_phase_talker')
        self._publisher = self.create_publisher(Phase, 'phase', qos_profile_sensor_data)
        self._frequency_hz = frequency_hz
        self.create_timer(1.0 / rate_hz, self._publish)

    def _publish(self):
        now = self.get_clock().now()
        value = cmath.exp(2j * math.pi * self._frequency_hz * now.nanoseconds * 1e-9)
        message = Phase()
        message.header.stamp = now.to_msg()
        message.header.frame_id = 'demo_sine'
        message.real = [value.real]
        message.imag = [value.imag]
        self._publisher.publish(message)


class PhaseListener(Node):

    def __init__(self):
        super().__init__('demo_phase_listener')
        self.received = 0
        self._last = None
        self.last_step = 0.0
        self.create_subscription(Phase, 'phase', self._on_phase, qos_profile_sensor_data)

    def _on_phase(self, message):
        value = complex(message.real[0], message.imag[0])
        if self._last is not None:
            self.last_step = cmath.phase(value / self._last)
        self._last = value
        self.received += 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--duration', type=float, default=20.0, help='seconds to run')
    args, ros_args = parser.parse_known_args(argv if argv is not None else sys.argv[1:])
    rclpy.init(args=[sys.argv[0], *ros_args])
    talker, listener = PhaseTalker(), PhaseListener()
    executor = SingleThreadedExecutor()
    executor.add_node(talker)
    executor.add_node(listener)
    start = time.monotonic()
    next_report = start + 1.0
    try:
        while time.monotonic() - start < args.duration:
            executor.spin_once(timeout_sec=0.05)
            if time.monotonic() >= next_report:
                next_report += 1.0
                print(f'[{time.monotonic() - start:5.1f} s] received {listener.received} phase '
                      f'samples, phase step {listener.last_step:+.4f} rad', flush=True)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        elapsed = time.monotonic() - start
        print(f'summary: {listener.received} samples over DDS in {elapsed:.1f} s '
              f'({listener.received / max(elapsed, 1e-9):.1f} Hz)', flush=True)
        executor.shutdown()
        talker.destroy_node()
        listener.destroy_node()
        rclpy.try_shutdown()
    return 0 if listener.received > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
