"""
Mesh benchmark: the cost of peer updates and ticks, and what one peer costs on the wire.

Prints, for 10, 100 and 1000 simulated peers in one process:

* admitting one received update (message -> plain value -> peer table), in microseconds;
* one aggregation tick (liveness + T_global) per aggregation rule, in microseconds;
* building the MeshState message of the whole table, in microseconds;

and the bytes per second one peer puts on the wire at the default publish rate: the CDR
payload of its PeerState, and that plus the RTPS and UDP/IPv4 headers of one DATA message.
As root, it also measures the wire: three mesh nodes in network namespaces on a private LAN,
and the bytes each host's interface sends and receives per second once discovery has settled.

Run with ``make bench`` or ``python src/becomingone_core/benchmark/bench_mesh.py``.
"""

import cmath
import random
import subprocess
import time

from becomingone_core.mesh import AGGREGATIONS, MeshConfig, PeerTable, PeerUpdate, ROLE_FULL
from becomingone_core.nodes.mesh_node import (message_from_update, status_from_view,
                                              update_from_message)
from becomingone_core.testing.netns import unavailable_reason, VirtualLan
from becomingone_core.testing.processes import executable, isolated_ros_env, NodeProcess
from becomingone_msgs.msg import MeshState
from rclpy.serialization import serialize_message

PEER_COUNTS = (10, 100, 1000)
PUBLISH_RATE_HZ = 5.0  # the mesh node's default publish_rate_hz
# One RTPS DATA message: RTPS header (20) + INFO_TS (12) + DATA submessage header (24),
# inside UDP (8) and IPv4 (20) headers. Inline QoS and fragmentation add nothing at this size.
RTPS_UDP_OVERHEAD_BYTES = 20 + 12 + 24 + 8 + 20


def peer(index, sequence, now):
    return PeerUpdate(
        node_id=f'cell_{index:04d}', host=f'pi-{index:04d}.local', role=ROLE_FULL,
        weight=1.0, t=cmath.rect(random.uniform(0.5, 1.0), random.uniform(-0.2, 0.2)),
        coherence=random.uniform(0.3, 1.0), collapsed=True, sequence=sequence, stamp_s=now)


def best_of(repeats, function):
    """Return the fastest of ``repeats`` timings of ``function()`` in seconds."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def bench_updates(count):
    now = 1000.0
    messages = [message_from_update(peer(i, s, now)) for s in range(1, 11)
                for i in range(count)]
    table = PeerTable(MeshConfig(max_update_age_s=1e9))

    def admit():
        for message in messages:
            table.offer(update_from_message(message), now)
    seconds = best_of(1, admit)
    return seconds / len(messages) * 1e6, table


def bench_aggregate(table, aggregation, now=1000.0):
    table.config = MeshConfig(aggregation=aggregation, max_update_age_s=1e9)
    repeats = 200 if len(table.peers) <= 100 else 30
    return best_of(5, lambda: [table.aggregate(now) for _ in range(repeats)]) / repeats * 1e6


def bench_mesh_state(table, now=1000.0):
    def build():
        message = MeshState()
        message.peers = [status_from_view(*entry) for entry in table.view(now)]
        return message
    return best_of(5, build) * 1e6, len(serialize_message(build()))


def main():
    random.seed(1)
    print(f'{"peers":>6} {"admit µs/update":>16} '
          + ' '.join(f'{a + " µs/tick":>22}' for a in AGGREGATIONS)
          + f' {"MeshState µs":>13} {"MeshState B":>12}')
    for count in PEER_COUNTS:
        admit_us, table = bench_updates(count)
        ticks = [bench_aggregate(table, a) for a in AGGREGATIONS]
        state_us, state_bytes = bench_mesh_state(table)
        print(f'{count:>6} {admit_us:>16.1f} ' + ' '.join(f'{t:>22.1f}' for t in ticks)
              + f' {state_us:>13.0f} {state_bytes:>12}')

    payload = len(serialize_message(message_from_update(peer(1, 2**40, time.time()))))
    on_wire = payload + RTPS_UDP_OVERHEAD_BYTES
    per_peer = on_wire * PUBLISH_RATE_HZ
    print(f'\nPeerState per peer at {PUBLISH_RATE_HZ:g} Hz: {payload} B CDR payload '
          f'({payload * PUBLISH_RATE_HZ:.0f} B/s), {on_wire} B per UDP datagram '
          f'({per_peer:.0f} B/s per sender-receiver pair)')
    # Fast DDS sends each sample to every matched reader (unicast unless the readers announce a
    # multicast locator): a host sends N-1 copies and receives N-1 streams.
    for count in PEER_COUNTS:
        host = (count - 1) * per_peer
        lan = count * (count - 1) * per_peer
        print(f'{count:>6} peers: each host sends and receives {host / 1e3:9.1f} kB/s of '
              f'PeerState; the LAN carries {lan / 1e6:9.2f} MB/s (with data multicast: '
              f'{count * per_peer / 1e6:.3f} MB/s)')
    measure_wire()


def _interface_bytes(lan, host):
    def read(counter):
        path = f'/sys/class/net/eth0/statistics/{counter}'
        return int(subprocess.run(lan.command(host, ['cat', path]), check=True,
                                  capture_output=True, text=True).stdout)
    return read('tx_bytes'), read('rx_bytes')


def measure_wire(hosts=3, settle_s=8.0, measure_s=10.0):
    """Bytes per second on each host's LAN interface with ``hosts`` mesh nodes (root only)."""
    reason = unavailable_reason()
    if reason is not None:
        print(f'\nwire measurement skipped: {reason}')
        return
    env = isolated_ros_env()
    env.update(ROS_AUTOMATIC_DISCOVERY_RANGE='SUBNET', FASTDDS_BUILTIN_TRANSPORTS='UDPv4')
    with VirtualLan(hosts=hosts) as lan:
        nodes = [NodeProcess(lan.command(host, [
            executable('becomingone_core', 'mesh'), '--ros-args', '-r', f'__ns:=/h{i}',
            '-p', f'host:={host}', '-p', f'publish_rate_hz:={PUBLISH_RATE_HZ}']), env)
            for i, host in enumerate(lan.hosts)]
        try:
            time.sleep(settle_s)  # a benchmark may wait: discovery's burst is not steady state
            before = [_interface_bytes(lan, h) for h in lan.hosts]
            time.sleep(measure_s)
            after = [_interface_bytes(lan, h) for h in lan.hosts]
        finally:
            for node in nodes:
                node.stop()
    print(f'\nmeasured on the wire, {hosts} mesh nodes at {PUBLISH_RATE_HZ:g} Hz on a namespace '
          f'LAN (UDP, multicast discovery), over {measure_s:g} s:')
    for host, (tx0, rx0), (tx1, rx1) in zip(lan.hosts, before, after):
        tx, rx = (tx1 - tx0) / measure_s, (rx1 - rx0) / measure_s
        print(f'  {host}: sends {tx:7.0f} B/s, receives {rx:7.0f} B/s; '
              f'{tx / (hosts - 1):6.0f} B/s sent per other peer')


if __name__ == '__main__':
    main()
