"""
Cell benchmarks (printed figures, not tests).

1. What Python sustains per scale preset: the cost of :class:`Transducer.push` per input sample
   for each preset's Emissary and Master, and the input rate one core could take.
2. Latency, input stamp -> sync decision, over real DDS with every role its own process: a
   1 kHz ``sim_source`` feeds the cell (emissary -> sync) and, in the same run, a bare rclpy relay
   chain with the same number of hops (relay -> relay); p50/p99 of both and their ratio.
3. CPU per node process at that 1 kHz input.

    python bench_cell.py [--seconds 15] [--rate 1000]
"""

import argparse
import os
import statistics
import sys
import time

from becomingone_core.cell_model import transducer_config
from becomingone_core.nodes.cell_parameters import seconds
from becomingone_core.scales import PRESETS
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess, wait_until
from becomingone_core.testing.ros import latched_qos, RosProbe
from becomingone_core.transducer import Transducer
import numpy as np

TICKS = os.sysconf('SC_CLK_TCK')


def python_cost_per_scale(rate_hz=1000.0, duration_s=5.0, block=10):
    print(f'1) Transducer.push cost per input sample ({rate_hz:g} Hz input, blocks of {block}):')
    print(f'   {"scale":9s} {"role":9s} {"lags":>5s} {"bins/s":>7s} {"us/sample":>10s} '
          f'{"max input Hz (1 core)":>22s}')
    t = np.arange(int(rate_hz * duration_s)) / rate_hz
    phase = np.exp(2j * np.pi * 2.0 * t)[:, None]
    for name in PRESETS:
        for role in ('emissary', 'master'):
            transducer = Transducer(transducer_config(name, role))
            started = time.perf_counter()
            for start in range(0, t.size, block):
                transducer.push('bench', t[start:start + block], phase[start:start + block],
                                now_s=t[start])
                if start % 100 == 0:
                    transducer.state()  # as a node publishing at most every 0.1 s does
            cost = (time.perf_counter() - started) / t.size
            config = transducer.config
            print(f'   {name:9s} {role:9s} {len(config.lags):5d} {config.sample_rate_hz:7g} '
                  f'{cost * 1e6:10.1f} {1 / cost:22,.0f}')


def relay_main(source, target):
    """Run a bare rclpy relay: republish every Phase from ``source`` on ``target``."""
    from becomingone_core.nodes.runner import run_nodes
    from becomingone_msgs.msg import Phase
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data

    class Relay(Node):
        def __init__(self):
            super().__init__(f'relay_{target}')
            self.out = self.create_publisher(Phase, target, 10)
            self.create_subscription(Phase, source, self.out.publish, qos_profile_sensor_data)

    return run_nodes(Relay, args=[sys.argv[0]])


def _cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def latency_and_cpu(rate_hz, duration_s):
    from becomingone_msgs.msg import Phase, SyncState
    env = isolated_ros_env()
    here = os.path.abspath(__file__)
    processes = {
        'emissary': NodeProcess.run('becomingone_core', 'emissary', env,
                                    ros_arguments=['-p', 'publish_rate_hz:=10000.0']),
        'master': NodeProcess.run('becomingone_core', 'master', env),
        'sync': NodeProcess.run('becomingone_core', 'sync', env),
        'witness': NodeProcess.run('becomingone_core', 'witness', env),
        'relay 1': NodeProcess([sys.executable, here, '--relay', 'phase', 'hop1'], env, 'relay1'),
        'relay 2': NodeProcess([sys.executable, here, '--relay', 'hop1', 'hop2'], env, 'relay2'),
    }
    try:
        with RosProbe(env, 'bench_probe') as probe:
            cell, bare = [], []

            def latency(message):
                return probe.node.get_clock().now().nanoseconds * 1e-9 - seconds(
                    message.header.stamp)

            def on_state(message):
                cell.append(latency(message))

            def on_relay(message):
                bare.append(latency(message))

            probe.node.create_subscription(SyncState, 'sync/state', on_state, latched_qos(100))
            probe.node.create_subscription(Phase, 'hop2', on_relay, 100)
            names = {'emissary', 'master', 'sync', 'witness', 'relay_hop1', 'relay_hop2'}
            wait_until(lambda: names <= set(probe.node.get_node_names()), 60, 0.2)
            processes['sim_source'] = NodeProcess.run(
                'becomingone_core', 'sim_source', env, ros_arguments=[
                    '-p', f'rate_hz:={rate_hz}', '-p', 'frequency_hz:=2.0',
                    '-p', 'snr_db:=10.0'])
            probe.spin_until(lambda: len(cell) > 20 and len(bare) > 200, 60)
            probe.spin_for(2.0)  # warm-up
            cell.clear()
            bare.clear()
            cpu_before = {n: _cpu_seconds(p.process.pid) for n, p in processes.items()}
            started = time.monotonic()
            probe.spin_for(duration_s)
            elapsed = time.monotonic() - started
            cpu = {n: (_cpu_seconds(p.process.pid) - cpu_before[n]) / elapsed
                   for n, p in processes.items()}
    finally:
        for process in processes.values():
            process.stop()
    print(f'\n2) Latency, input stamp -> decision, {rate_hz:g} Hz input, {elapsed:.0f} s, '
          'three DDS hops each (source -> 1st node -> 2nd node -> probe):')
    p50_cell, p99_cell = _percentiles(cell)
    p50_bare, p99_bare = _percentiles(bare)
    print(f'   cell  (emissary -> sync):  p50 {p50_cell * 1e3:7.2f} ms  '
          f'p99 {p99_cell * 1e3:7.2f} ms  ({len(cell)} decisions)')
    print(f'   bare  (relay -> relay):    p50 {p50_bare * 1e3:7.2f} ms  '
          f'p99 {p99_bare * 1e3:7.2f} ms  ({len(bare)} messages)')
    print(f'   ratio cell / bare:         p50 {p50_cell / p50_bare:7.2f} x   p99 '
          f'{p99_cell / p99_bare:7.2f} x')
    print(f'\n3) CPU per process at {rate_hz:g} Hz input (share of one core):')
    for name, share in cpu.items():
        print(f'   {name:11s} {share * 100:6.1f} %')


def _percentiles(values):
    if len(values) < 2:
        return float('nan'), float('nan')
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[98]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--seconds', type=float, default=15.0)
    parser.add_argument('--rate', type=float, default=1000.0)
    parser.add_argument('--relay', nargs=2, metavar=('IN', 'OUT'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay:
        return relay_main(*args.relay)
    python_cost_per_scale()
    latency_and_cpu(args.rate, args.seconds)
    return 0


if __name__ == '__main__':
    sys.exit(main())
