"""
Memory node ingest over real DDS: sync states published at rising rates, acknowledged.

Prints, per rate, how many published records the node durably acknowledged (reliable QoS,
keep-last depth 1000: a stream faster than the node drops at the publisher's queue). The store
alone is measured in bench_memory.py; this shows what rclpy and DDS leave of it.
"""

import tempfile
import time

from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_msgs.msg import MemoryAck, SyncState
from rclpy.qos import QoSProfile, QoSReliabilityPolicy

RATES_HZ = (500, 2000, 5000, 10000)
SECONDS = 3.0
DEPTH = 1000


def _sync(i):
    message = SyncState()
    message.header.stamp.sec, message.header.stamp.nanosec = divmod(i * 1_000_000, 10**9)
    message.coherence = (i % 100) / 100.0
    return message


def main():
    env = isolated_ros_env()
    with tempfile.TemporaryDirectory() as directory, RosProbe(env) as probe, NodeProcess.run(
            'becomingone_core', 'memory', env, ros_arguments=[
                '-p', f'path:={directory}/bench.sqlite3', '-p', f'qos_depth:={DEPTH}']) as node:
        acks = probe.collect(MemoryAck, 'memory/acknowledged', latched_qos())
        publisher = probe.node.create_publisher(
            SyncState, 'sync/state',
            QoSProfile(depth=DEPTH, reliability=QoSReliabilityPolicy.RELIABLE))
        if not probe.spin_until(lambda: acks and publisher.get_subscription_count(), 60):
            print('memory node did not come up:\n' + node.output())
            return 1
        sent = 0
        for rate_hz in RATES_HZ:
            count = int(rate_hz * SECONDS)
            start = time.perf_counter()
            for i in range(count):
                publisher.publish(_sync(sent + i))
                if i % 50 == 49:  # pace the stream, keep the probe's executor alive
                    due = start + (i + 1) / rate_hz
                    while time.perf_counter() < due:
                        probe.executor.spin_once(timeout_sec=due - time.perf_counter())
            sent += count
            probe.spin_until(lambda: acks[-1].total >= sent, timeout_s=10.0)
            elapsed = time.perf_counter() - start
            acknowledged = acks[-1].total - (sent - count)
            print(f'{rate_hz:>6,} sync states/s for {SECONDS:g} s: {acknowledged:,} of {count:,} '
                  f'acknowledged ({100.0 * acknowledged / count:.1f} %), '
                  f'{elapsed:.2f} s until the last ack')
            if acknowledged < count:
                break
    return 0


if __name__ == '__main__':
    main()
