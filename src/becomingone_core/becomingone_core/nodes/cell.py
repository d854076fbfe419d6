"""
``becomingone_cell``: a whole cell in one process, on one rclpy executor.

Runs master, emissary, sync, witness (and with ``--sim`` a simulated source), for small hosts
and for ``make demo``. With ``--role`` it runs everything a host of that role runs
(``becomingone_core.mesh.ROLE_NODES``: the cell, the temporal memory and the mesh node for
``full``; emissary, sync and mesh for ``light``; ...) in this one process: one Python runtime,
one executor, one DDS participant, which is what a small Raspberry Pi can afford.

The nodes are the same classes the separate executables run, talking over DDS as usual, so
``ros2 topic``, rviz and rqt see the same cell. ``--demo`` feeds the cell a coherent sine, then
noise, then the sine again, prints the cell's state every second and a summary at the end.
"""

import argparse
import importlib
import sys
import time

from becomingone_core.mesh import ROLE_NODES, ROLES
from becomingone_core.ros.runner import CleanExit, host_executor, init, stand_down
from becomingone_core.ros.shared_subscriptions import share_subscriptions
from becomingone_core.scales import SCALES
import rclpy
from rclpy.parameter import Parameter


CELL_NODES = ('master', 'emissary', 'sync', 'witness')


def _factory(module, name, *args):
    """
    Return ``build(**kwargs)`` making ``nodes.<module>.<name>(*args, **kwargs)``.

    The module is imported when the first node is built, so a role loads only the node modules
    (and their message types and libraries) it runs: resident memory a small Pi keeps.
    """
    def build(**kwargs):
        node_class = getattr(importlib.import_module(f'becomingone_core.nodes.{module}'), name)
        return node_class(*args, **kwargs)
    return build


NODE_FACTORIES = {
    'master': _factory('transducer_node', 'TransducerNode', 'master'),
    'emissary': _factory('transducer_node', 'TransducerNode', 'emissary'),
    'sync': _factory('sync_node', 'SyncNode'),
    'witness': _factory('witness_node', 'WitnessNode'),
    'memory': _factory('memory_node', 'MemoryNode'),
    'mesh': _factory('mesh_node', 'MeshNode'),
}
SIM_SOURCE = _factory('sim_source_node', 'SimSourceNode')


def demo_schedule(duration_s):
    """Coherent for 35 % of the run, noise for 30 %, coherent again to the end."""
    first, noise = round(0.35 * duration_s, 3), round(0.3 * duration_s, 3)
    return [f'sine:{first}', f'noise:{noise}', 'sine']


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog='becomingone_cell', description=__doc__.split('\n')[1])
    parser.add_argument('--duration', type=float, default=0.0,
                        help='seconds to run, then print a summary (0: until Ctrl-C)')
    parser.add_argument('--sim', action='store_true', help='also run a simulated source')
    parser.add_argument('--demo', action='store_true',
                        help='simulated sine -> noise -> sine, progress and summary')
    parser.add_argument('--scale', choices=SCALES,
                        help='scale preset for every node (default: their "scale" parameter)')
    parser.add_argument('--role', choices=ROLES,
                        help="run this host role's whole node set (with memory and mesh)")
    return parser.parse_known_args(argv)


class CellRun:
    """The nodes of one cell, and what the demo reports about them."""

    def __init__(self, args):
        overrides = [Parameter('scale', value=args.scale)] if args.scale else []
        names = ROLE_NODES[args.role] if args.role else CELL_NODES
        # Each node declares only its own parameters; the role reaches the mesh node.
        extra = {'mesh': [Parameter('role', value=args.role)] if args.role else []}
        built = {name: NODE_FACTORIES[name](parameter_overrides=overrides + extra.get(name, []))
                 for name in names}
        self.master, self.emissary = built.get('master'), built.get('emissary')
        self.sync, self.witness = built.get('sync'), built.get('witness')
        self.nodes = list(built.values())
        self.source = None
        if args.sim or args.demo:
            source_overrides = []
            if args.demo:
                source_overrides = [
                    Parameter('schedule', value=demo_schedule(args.duration or 20.0)),
                    Parameter('frequency_hz', value=2.0), Parameter('snr_db', value=10.0),
                    Parameter('rate_hz', value=100.0), Parameter('block_size', value=4),
                    Parameter('seed', value=1)]
            self.source = SIM_SOURCE(parameter_overrides=source_overrides)
            self.nodes.append(self.source)
        # One reader per topic in this process: phase is taken once, not by each node.
        share_subscriptions(self.nodes)
        self.start_s = self._now_s()
        self.events = []
        self._seen = (0, 0)

    def _now_s(self):
        return time.monotonic()

    def elapsed(self):
        return self._now_s() - self.start_s

    def note_events(self):
        if self.sync is None:
            return  # a witness or relay host decides nothing
        layer = self.sync.layer
        seen = (layer.collapses, layer.releases)
        if seen != self._seen and layer.last is not None:
            event = 'collapse' if seen[0] > self._seen[0] else 'release'
            self.events.append((self.elapsed(), event))
            print(f'[{self.elapsed():5.1f} s] {event.upper()} '
                  f'(|T_sync|^2 = {layer.last.coherence:.2f})', flush=True)
            self._seen = seen

    def progress(self):
        if self.sync is None:
            names = ', '.join(node.get_name() for node in self.nodes)
            print(f'[{self.elapsed():5.1f} s] running {names}', flush=True)
            return
        last = self.sync.layer.last
        segment = ''
        if self.source is not None:
            segment = f'input {self.source.source.segment_at(self.elapsed()):6s} '
        if last is None:
            print(f'[{self.elapsed():5.1f} s] {segment}waiting for both transducers', flush=True)
            return
        print(f'[{self.elapsed():5.1f} s] {segment}master |T|={abs(last.master):.2f}  '
              f'emissary |T|={abs(last.emissary):.2f}  |T_sync|^2={last.coherence:.2f}  '
              f'{"COLLAPSED" if last.collapsed else "released"}', flush=True)

    def summary(self):
        if self.sync is None or self.witness is None:
            print(f'summary:\n  ran {self.elapsed():.1f} s: '
                  f'{", ".join(n.get_name() for n in self.nodes)}', flush=True)
            return False
        layer = self.sync.layer
        rejected = self.master.transducer.rejected + self.emissary.transducer.rejected
        collapses = [t for t, e in self.events if e == 'collapse']
        witness = self.witness.witness
        lines = [
            'summary:',
            f'  ran {self.elapsed():.1f} s; collapses {layer.collapses}, releases '
            f'{layer.releases}',
            '  time to collapse: ' + (f'{collapses[0]:.1f} s' if collapses else 'never'),
            f'  time in collapse: {layer.total_collapsed_s(self.sync.layer.last.stamp_s):.1f} s'
            if layer.last else '  time in collapse: 0.0 s',
            f'  records witnessed: {witness.records} (micro {witness.by_layer[0]}, meso '
            f'{witness.by_layer[1]}, macro {witness.by_layer[2]}, meta {witness.by_layer[3]}; '
            f'{witness.dropped} dropped)',
            f'  inputs rejected: {rejected} (master {self.master.transducer.rejected}, '
            f'emissary {self.emissary.transducer.rejected})',
        ]
        print('\n'.join(lines), flush=True)
        kinds = [e for _, e in self.events]
        return any(kinds[i:i + 3] == ['collapse', 'release', 'collapse']
                   for i in range(len(kinds)))

    def demo_report(self):
        """Time from each coherent segment's start to its collapse, as the demo planned them."""
        plan = self.source.source.segments
        start = 0.0
        for name, seconds in plan:
            if name == 'sine':
                after = [t for t, e in self.events if e == 'collapse' and t >= start]
                note = f'collapsed {after[0] - start:.1f} s after it began' if after else \
                    'did not collapse'
                print(f'  coherent input from {start:.1f} s: {note}', flush=True)
            else:
                after = [t for t, e in self.events if e == 'release' and t >= start]
                note = f'released {after[0] - start:.1f} s after it began' if after else \
                    'did not release'
                print(f'  noise from {start:.1f} s: {note}', flush=True)
            start += seconds
            if start >= self.elapsed():
                break


def main(argv=None):
    args, ros_args = parse_arguments(sys.argv[1:] if argv is None else argv)
    if args.demo and 0 < args.duration < 15:
        print(f'note: the demo preset needs about 15 s or more to show collapse, release and '
              f'collapse again; running {args.duration:g} s', flush=True)
    # SIGINT or SIGTERM, once or repeated, at any point from here on: a clean end (runner).
    stop = init([sys.argv[0], *ros_args])
    run = None
    outcome = CleanExit('becomingone_cell')
    executor = host_executor()
    try:
        with outcome:
            run = CellRun(args)
            for node in run.nodes:
                executor.add_node(node)
            next_report = 1.0
            while rclpy.ok() and not stop.requested and (
                    not args.duration or run.elapsed() < args.duration):
                executor.spin_once(timeout_sec=0.05)
                run.note_events()
                if (args.demo or args.duration) and run.elapsed() >= next_report:
                    next_report += 1.0
                    run.progress()
    finally:
        status = outcome.status
        if run is not None:
            shown = run.summary()
            if args.demo:
                run.demo_report()
                print('  collapse -> release -> collapse: ' + ('seen' if shown else 'NOT seen'),
                      flush=True)
                status = 0 if shown else 1
            if rclpy.ok():
                stand_down(run.nodes)  # the memory's last commit; any output says goodbye
            for node in run.nodes:
                executor.remove_node(node)
                node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
    return status


if __name__ == '__main__':
    sys.exit(main())
