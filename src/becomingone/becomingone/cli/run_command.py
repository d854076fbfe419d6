"""
``becomingone run [APP] --config FILE``: a host's whole node set in this one process.

The configuration is validated first (an error: one line, exit 2, nothing started), then every
node of the host's role (``becomingone_core.mesh.ROLE_NODES``), its inputs, outputs and API are
built from their own classes on one executor, in the host's namespace, each given its
``ros__parameters`` through rclpy's arguments (``config show --ros`` prints them). Lifecycle
nodes (memory, motor, http) are configured and activated as they start. A status line shows the
cell once a second; SIGINT or SIGTERM (once or repeated) ends it: a summary, the active lifecycle
nodes deactivated (the motors publish one zero Twist: a robot is never left on its last
command), every node destroyed, exit 0.
"""

import os
import sys
import tempfile
import time

from becomingone.cli.config_command import load_plan, report, USAGE_ERROR
from becomingone.config import resolve
from becomingone.config.schema import ConfigError, ConfigErrors


def choose_config(app, path):
    """Return the file to run: ``--config`` if given, else the application's own config."""
    if path:
        return path
    if not app:
        raise ConfigErrors([ConfigError('--config', 'give a configuration file (or an APP: '
                                        + (', '.join(resolve.apps()) or 'none installed')
                                        + ')')])
    known = resolve.apps()
    if app not in known:
        raise ConfigErrors([ConfigError('APP', f'no application {app!r}; installed: '
                                        + (', '.join(known) or 'none'))])
    return str(known[app])


def describe(plan):
    """Return what ``--dry-run`` prints: the host, then each node and its parameters."""
    config = plan.config
    lines = [f'host {config.host.id!r} ({config.host.role}, scale {config.cell.scale}) in '
             f'{plan.namespace}' + (f', app {config.app}' if config.app else '') + ':']
    for node in plan.nodes:
        values = ', '.join(f'{k}={v!r}' for k, v in node.parameters.items()) or 'defaults'
        managed = ' (lifecycle: configured and activated)' if node.kind.lifecycle else ''
        lines.append(f'  {node.kind.node_name:24s} {node.kind.target}{managed}\n'
                     f'  {"":24s} {values}')
    lines.append(f'{len(plan.nodes)} nodes in one process; nothing started (--dry-run)')
    return '\n'.join(lines)


class HostRun:
    """The running nodes of one host, and what its status line and summary report."""

    def __init__(self, plan):
        self.plan = plan
        self.nodes = {}  # node_name -> node, in start order
        self.start_s = time.monotonic()
        self.events = []
        self._seen = (0, 0)
        self.moving_s = {}
        self._last_tick_s = None

    def build(self, stop):
        """Build each planned node in order; a node refusing its parameters raises."""
        from becomingone_core.ros.parameters import ParameterError
        for planned in self.plan.nodes:
            if stop.requested:
                return
            name = planned.kind.node_name
            try:
                node = planned.kind.create()
            except ParameterError as error:
                raise ConfigError(self.where(name), str(error)) from None
            self.nodes[name] = node
            failure = getattr(node, 'configure_error', None)
            if failure is not None:
                raise ConfigError(self.where(name), str(failure))
        # One reader per topic in this process: phase is taken once, not by each node.
        from becomingone_core.ros.shared_subscriptions import share_subscriptions
        share_subscriptions(self.nodes.values())

    def where(self, node_name):
        """Return the configuration key a node's parameters come from (for an error line)."""
        config = self.plan.config
        for section, items in (('inputs', config.inputs), ('outputs', config.outputs)):
            for index, planned in enumerate(n for n in self.plan.nodes
                                            if n.kind.section == section[:-1]):
                if planned.kind.node_name == node_name:
                    return f'{section}[{index}].parameters'
        return {'master': 'cell.master', 'emissary': 'cell.emissary', 'sync': 'cell.sync',
                'witness': 'cell.witness', 'sim_source': 'cell.sim_source', 'mesh': 'mesh',
                'memory': 'memory', 'gateway': 'api'}.get(node_name, node_name)

    def elapsed(self):
        return time.monotonic() - self.start_s

    @property
    def sync(self):
        return self.nodes.get('sync')

    def tick(self):
        """Note collapses and releases (printed as they happen) and motor time."""
        now = self.elapsed()
        dt = 0.0 if self._last_tick_s is None else now - self._last_tick_s
        self._last_tick_s = now
        for name, node in self.nodes.items():
            if getattr(node, 'moving', None) is not None:
                self.moving_s[name] = self.moving_s.get(name, 0.0) + (dt if node.moving else 0)
        if self.sync is None:
            return None
        layer = self.sync.layer
        seen = (layer.collapses, layer.releases)
        event = None
        if seen != self._seen and layer.last is not None:
            event = 'collapse' if seen[0] > self._seen[0] else 'release'
            self.events.append((now, event))
            self._seen = seen
        return event

    def status_line(self):
        parts = [f'[{self.elapsed():6.1f} s] {self.plan.namespace}']
        inputs = [n for n in self.nodes.values() if hasattr(n, 'published')]
        if inputs:
            parts.append('in ' + ' '.join(f'{n.get_name()}={n.published}' for n in inputs))
        if self.sync is not None:
            last = self.sync.layer.last
            if last is None:
                parts.append('waiting for both transducers')
            else:
                parts.append(f'|T_sync|^2={last.coherence:.2f} '
                             + ('COLLAPSED' if last.collapsed else 'released'))
        mesh = self.nodes.get('mesh')
        state = mesh.global_state if mesh is not None else None
        if state is not None:
            parts.append(f'mesh {state.peers_alive} alive '
                         + ('EMERGED' if state.emerged else 'not emerged'))
        for name in self.moving_s:
            parts.append(f'{name} ' + ('MOVING' if self.nodes[name].moving else 'still'))
        return '  '.join(parts)

    def summary(self):
        lines = ['summary:', f'  ran {self.elapsed():.1f} s: {", ".join(self.nodes)}']
        if self.sync is not None:
            layer = self.sync.layer
            collapses = [t for t, e in self.events if e == 'collapse']
            collapsed_s = layer.total_collapsed_s(layer.last.stamp_s) if layer.last else 0.0
            lines.append(f'  collapses {layer.collapses}, releases {layer.releases}; first '
                         'collapse ' + (f'after {collapses[0]:.1f} s' if collapses else 'never')
                         + f'; {collapsed_s:.1f} s collapsed')
        witness = self.nodes.get('witness')
        if witness is not None:
            lines.append(f'  records witnessed: {witness.witness.records} '
                         f'({witness.witness.dropped} dropped)')
        for node in self.nodes.values():
            if hasattr(node, 'published') and hasattr(node, 'rejections'):
                lines.append(f'  {node.get_name()}: {node.published} phase samples out')
        for name, seconds in self.moving_s.items():
            lines.append(f'  {name}: moving {seconds:.1f} s (only while collapsed)')
        return '\n'.join(lines)

    def destroy(self, executor):
        for node in reversed(list(self.nodes.values())):
            executor.remove_node(node)
            node.destroy_node()
        self.nodes.clear()


class StatusLine:
    """One line rewritten in place on a terminal; a line per second elsewhere (logs, pipes)."""

    def __init__(self, stream):
        self.stream = stream
        self.live = stream.isatty()
        self._shown = False

    def show(self, text):
        if self.live:
            self.stream.write('\r\x1b[K' + text)
            self._shown = True
        else:
            self.stream.write(text + '\n')
        self.stream.flush()

    def say(self, text):
        """Print a line of its own (an event), above the live line."""
        self.end()
        self.stream.write(text + '\n')
        self.stream.flush()

    def end(self):
        if self._shown:
            self.stream.write('\r\x1b[K')
            self._shown = False


def run(plan, duration_s=0.0, ros_args=(), out=None):
    """Start ``plan``'s nodes and spin until a stop signal (or ``duration_s``); exit status."""
    out = out or sys.stdout
    from becomingone_core.ros.runner import CleanExit, host_executor, init, stand_down
    import rclpy
    handle, parameters_path = tempfile.mkstemp(prefix='becomingone_run_', suffix='.yaml')
    with os.fdopen(handle, 'w') as stream:
        stream.write(resolve.dump_ros_parameters(plan))
    # SIGINT/SIGTERM only ask the loop to stop (runner.init: no rclpy handler shutting the
    # context down under it): the nodes still publish while standing down, so motors end on a
    # zero Twist.
    stop = init(['becomingone', '--ros-args', '-r', f'__ns:={plan.namespace}',
                 '--params-file', parameters_path, *_ros_arguments(ros_args)])
    host = HostRun(plan)
    line = StatusLine(out)
    outcome = CleanExit('becomingone')
    executor = host_executor()
    status = 0
    try:
        with outcome:
            try:
                host.build(stop)
            except ConfigError as error:
                report(ConfigErrors([error]))
                status = USAGE_ERROR
                return status
            for node in host.nodes.values():
                executor.add_node(node)
            line.say(f'becomingone: {plan.namespace} running {", ".join(host.nodes)} '
                     '(Ctrl-C stops)')
            next_report = 1.0
            while rclpy.ok() and not stop.requested and (
                    not duration_s or host.elapsed() < duration_s):
                executor.spin_once(timeout_sec=0.05)
                event = host.tick()
                if event is not None:
                    last = host.sync.layer.last
                    line.say(f'[{host.elapsed():6.1f} s] {event.upper()} '
                             f'(|T_sync|^2 = {last.coherence:.2f})')
                if host.elapsed() >= next_report:
                    next_report += 1.0
                    line.show(host.status_line())
    finally:
        line.end()
        if status == 0:
            status = outcome.status
        if host.nodes and status == 0:
            line.say(host.summary())
        if rclpy.ok():
            stand_down(host.nodes.values())
        host.destroy(executor)
        executor.shutdown()
        rclpy.try_shutdown()
        os.unlink(parameters_path)
    return status


def _ros_arguments(rest):
    rest = list(rest)
    if rest and rest[0] == '--ros-args':
        rest = rest[1:]
    return rest


def _run(args, rest):
    try:
        plan = load_plan(choose_config(args.app, args.config))
        if args.app and args.config and plan.config.app not in (None, args.app):
            raise ConfigErrors([ConfigError('APP', f'{args.app!r}, but {args.config} is '
                                            f'application {plan.config.app!r}')])
    except ConfigErrors as errors:
        return report(errors)
    if args.dry_run:
        print(describe(plan))
        return 0
    return run(plan, args.duration, rest)


def add_parser(commands):
    apps = ', '.join(resolve.apps()) or 'none installed yet'
    parser = commands.add_parser(
        'run', help="start a host's nodes from one configuration file",
        description=__doc__.split('\n\n', 1)[1].strip(),
        epilog='examples:\n  becomingone run robot                     the robot app, its '
               'recorded inputs\n  becomingone run --config host.yaml        your host\n'
               '  becomingone run --config host.yaml --dry-run\n'
               '  becomingone run --config host.yaml --ros-args --log-level warn',
        formatter_class=__import__('argparse').RawDescriptionHelpFormatter)
    parser.add_argument('app', nargs='?', metavar='APP',
                        help=f'an application ({apps}): its own configuration, unless '
                        '--config is given')
    parser.add_argument('--config', '-c', metavar='FILE', help='the host configuration file')
    parser.add_argument('--duration', type=float, default=0.0, metavar='S',
                        help='stop after S seconds (0: until Ctrl-C or SIGTERM)')
    parser.add_argument('--dry-run', action='store_true',
                        help='validate and print what would start, then exit')
    parser.set_defaults(handler=_run, accepts_ros_args=True)
