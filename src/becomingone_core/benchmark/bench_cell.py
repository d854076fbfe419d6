"""
Cell benchmarks (printed figures, not tests).

1. What Python sustains per scale preset: the cost of :class:`Transducer.push` per input sample
   for each preset's Emissary and Master, and the input rate one core could take.
2. Latency, input stamp -> sync decision, over real DDS with every role its own process: a
   1 kHz ``sim_source`` (one sample per ``Phase``, stamped with its sample time) feeds the whole
   cell (master, emissary, sync, witness, shipped parameters) and, in the same run and from the
   same stream, a bare rclpy relay chain with the same hops: ``phase`` -> relay 1 -> ``hop1``
   -> relay 2 -> ``hop2`` -> probe against ``phase`` -> emissary or master ->
   ``<role>/resonance`` -> sync -> ``sync/state`` -> probe. Each relay hop has the QoS of the
   cell hop it stands for (sensor data in; reliable depth 20; reliable transient local) and
   the same single-threaded executor; messages differ in size (``Resonance`` ~1.4 kB,
   ``Phase`` ~0.1 kB). Latency = the probe's receive time minus ``header.stamp``: for the
   cell, the stamp of the input sample that closed the integration bin behind the decision
   (a decision can only follow a bin's close); for the chain, the relayed sample's stamp.
   Both include the source's own publishing delay. The cell decides about 22 times a second
   (12.5 + 10 Hz bins), the chain relays every sample; so the chain is also reported for
   exactly the inputs that triggered a decision. Best-effort input drops samples under load
   in both chains (drops are not latencies: the chain's count shows them). ``--breakdown``
   also times ``hop1`` and ``<role>/resonance`` (extra probe load).
3. CPU per node process at that 1 kHz input.

    python bench_cell.py [--seconds 15] [--rate 1000] [--runs 5] [--breakdown]

With ``--runs N`` sections 2 and 3 run N times (fresh processes each) and a last line gives the
latency ratios of every run and the worst of them.
"""

import argparse
import os
import statistics
import sys
import time

from becomingone_core.scales import PRESETS, transducer_config
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
    """
    Run a bare rclpy relay: republish every Phase from ``source`` on ``target``.

    Same runner (single-threaded executor) and the same QoS as the cell's hop it stands for:
    ``hop1`` as ``<role>/resonance`` (reliable, depth 20), ``hop2`` as ``sync/state``
    (reliable, transient local, depth 1); its input as the transducers' (sensor data).
    """
    from becomingone_core.ros.qos import RESONANCE_QOS, SYNC_STATE_QOS
    from becomingone_core.ros.runner import run_nodes
    from becomingone_msgs.msg import Phase
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data

    in_qos = qos_profile_sensor_data if source == 'phase' else RESONANCE_QOS
    out_qos = RESONANCE_QOS if target == 'hop1' else SYNC_STATE_QOS

    class Relay(Node):
        def __init__(self):
            super().__init__(f'relay_{target}')
            self.out = self.create_publisher(Phase, target, out_qos)
            self.create_subscription(Phase, source, self.out.publish, in_qos)

    return run_nodes(Relay, args=[sys.argv[0]])


def _cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as stat:
        fields = stat.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def latency_and_cpu(rate_hz, duration_s, breakdown=False):
    from becomingone_msgs.msg import Phase, Resonance, SyncState
    from becomingone_core.ros.qos import RESONANCE_QOS
    from becomingone_core.ros.stamps import stamp_ns
    env = isolated_ros_env()
    here = os.path.abspath(__file__)
    processes = {
        'emissary': NodeProcess.run('becomingone_core', 'emissary', env),
        'master': NodeProcess.run('becomingone_core', 'master', env),
        'sync': NodeProcess.run('becomingone_core', 'sync', env),
        'witness': NodeProcess.run('becomingone_core', 'witness', env),
        'relay 1': NodeProcess([sys.executable, here, '--relay', 'phase', 'hop1'], env, 'relay1'),
        'relay 2': NodeProcess([sys.executable, here, '--relay', 'hop1', 'hop2'], env, 'relay2'),
    }
    try:
        with RosProbe(env, 'bench_probe') as probe:
            cell, bare = [], []
            arrivals = {}  # topic -> {input stamp ns: probe receive ns}

            def recorder(topic, into=None):
                table = arrivals.setdefault(topic, {})

                def record(message):
                    now = probe.node.get_clock().now().nanoseconds
                    stamp = stamp_ns(message.header.stamp)
                    table[stamp] = now
                    if into is not None:
                        into.append((now - stamp) * 1e-9)
                return record

            probe.node.create_subscription(SyncState, 'sync/state',
                                           recorder('sync/state', cell), latched_qos(100))
            probe.node.create_subscription(Phase, 'hop2', recorder('hop2', bare),
                                           latched_qos(100))
            if breakdown:
                probe.node.create_subscription(Phase, 'hop1', recorder('hop1'), RESONANCE_QOS)
                for role in ('emissary', 'master'):
                    probe.node.create_subscription(Resonance, f'{role}/resonance',
                                                   recorder(f'{role}/resonance'), RESONANCE_QOS)
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
            for table in arrivals.values():
                table.clear()
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
    print(f'   cell  (transducer -> sync): p50 {p50_cell * 1e3:7.2f} ms  '
          f'p99 {p99_cell * 1e3:7.2f} ms  ({len(cell)} decisions)')
    print(f'   bare  (relay -> relay):     p50 {p50_bare * 1e3:7.2f} ms  '
          f'p99 {p99_bare * 1e3:7.2f} ms  ({len(bare)} messages)')
    print(f'   ratio cell / bare:          p50 {p50_cell / p50_bare:7.2f} x   p99 '
          f'{p99_cell / p99_bare:7.2f} x')
    decided = arrivals['sync/state']
    paired = [(arrivals['hop2'][s] - s) * 1e-9 for s in decided if s in arrivals['hop2']]
    p50_pair, p99_pair = _percentiles(paired)
    print(f'   bare, same inputs as the decisions: p50 {p50_pair * 1e3:7.2f} ms  p99 '
          f'{p99_pair * 1e3:7.2f} ms  ({len(paired)} of {len(decided)}: the rest were dropped)')
    print(f'   ratio cell / bare, same inputs:  p50 {p50_cell / p50_pair:7.2f} x   p99 '
          f'{p99_cell / p99_pair:7.2f} x')
    if breakdown:
        print('   breakdown (ms from input stamp to probe receipt, decision-triggering inputs):')
        for role in ('emissary', 'master'):
            stamps = [s for s in decided if s in arrivals[f'{role}/resonance']]
            for topic in ('hop1', f'{role}/resonance', 'hop2', 'sync/state'):
                values = [(arrivals[topic][s] - s) * 1e-9 for s in stamps if s in arrivals[topic]]
                p50, p99 = _percentiles(values)
                print(f'     {role:9s} {topic:19s} p50 {p50 * 1e3:7.2f}  p99 {p99 * 1e3:7.2f}'
                      f'  (n={len(values)})')
            for cell_topic, bare_topic in ((f'{role}/resonance', 'hop1'), ('sync/state', 'hop2')):
                both = [s for s in stamps if s in arrivals[bare_topic]]
                extra = [(arrivals[cell_topic][s] - arrivals[bare_topic][s]) * 1e-9 for s in both]
                p50, p99 = _percentiles(extra)
                print(f'     {role:9s} {cell_topic} - {bare_topic}, same input: p50 '
                      f'{p50 * 1e3:6.2f}  p99 {p99 * 1e3:6.2f}')
    print(f'\n3) CPU per process at {rate_hz:g} Hz input (share of one core):')
    for name, share in cpu.items():
        print(f'   {name:11s} {share * 100:6.1f} %')
    return p50_cell / p50_bare, p99_cell / p99_bare


def _percentiles(values):
    if len(values) < 2:
        return float('nan'), float('nan')
    cuts = statistics.quantiles(values, n=100)
    return cuts[49], cuts[98]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--seconds', type=float, default=15.0)
    parser.add_argument('--rate', type=float, default=1000.0)
    parser.add_argument('--runs', type=int, default=1,
                        help='repeat the latency and CPU sections this many times')
    parser.add_argument('--breakdown', action='store_true',
                        help='also time the intermediate topics (adds probe load)')
    parser.add_argument('--skip-push-cost', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--relay', nargs=2, metavar=('IN', 'OUT'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay:
        return relay_main(*args.relay)
    if not args.skip_push_cost:
        python_cost_per_scale()
    ratios = [latency_and_cpu(args.rate, args.seconds, args.breakdown)
              for _ in range(max(1, args.runs))]
    if len(ratios) > 1:
        listed = ', '.join(f'{p50:.2f}/{p99:.2f}' for p50, p99 in ratios)
        print(f'\nratio cell / bare (p50/p99) per run: {listed}; worst: p50 '
              f'{max(r[0] for r in ratios):.2f} x, p99 {max(r[1] for r in ratios):.2f} x')
    return 0


if __name__ == '__main__':
    sys.exit(main())
