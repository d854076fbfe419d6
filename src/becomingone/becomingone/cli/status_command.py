"""
``becomingone status``: every cell on the ROS domain, one row each, refreshed in place.

A plain rclpy node finds the cells by their topics (each namespace publishing ``sync/state``,
``mesh/state`` or ``witness``), subscribes to them with the QoS their publishers use, and to the
mesh-wide e-stop. Each row: the cell's coherence |T_sync|^2, collapsed or released, Δphase
(``||T_master| - |T_emissary||``; ``realign`` while the sync layer asks for it), whether its
mesh has emerged (peers alive, global coherence), the e-stop, and the witness's health (its
latest ``health`` record: streams lost, records dropped). A value not heard for ``--stale``
seconds is shown as stale. ``--once`` prints one snapshot and exits.
"""

import argparse
import sys
import time

#: Each cell topic (relative to the cell's namespace) and the stream a view keeps of it.
TOPIC_STREAMS = {'sync/state': 'sync', 'mesh/state': 'mesh', 'witness': 'health'}
#: The node that publishes each stream (its presence says the stream is coming).
NODE_STREAMS = {'sync': 'sync', 'mesh': 'mesh', 'witness': 'health'}
COLUMNS = ('CELL', 'COHERENCE', 'STATE', 'ΔPHASE', 'MESH', 'E-STOP', 'WITNESS', 'HEARD')


class CellView:
    """The latest of each stream one cell publishes, with when it was heard."""

    def __init__(self, namespace):
        self.namespace = namespace
        self.sync = self.mesh = self.health = None
        self.heard = {}

    def note(self, stream, value, now):
        setattr(self, stream, value)
        self.heard[stream] = now

    def fresh(self, stream, now, stale_s):
        return stream in self.heard and now - self.heard[stream] <= stale_s


def _fmt_row(values, widths):
    return '  '.join(str(v).ljust(w) for v, w in zip(values, widths)).rstrip()


def row(view, estop, now, stale_s):
    """Return the table row of one cell (a tuple of strings, :data:`COLUMNS`)."""
    def mark(stream, text):
        return text if view.fresh(stream, now, stale_s) else f'{text} (stale)'
    sync, mesh, health = view.sync, view.mesh, view.health
    if sync is None:
        coherence = state = delta = '-'
    else:
        coherence = mark('sync', f'{sync.coherence:.2f}')
        state = mark('sync', 'COLLAPSED' if sync.collapsed else 'released')
        # ||T_master| - |T_emissary||, and whether the transducers were asked to realign.
        delta = f'{sync.delta_phase:.2f}' + (' realign' if sync.realign_requested else '')
    if mesh is None:
        emerged = '-'
    else:
        emerged = mark('mesh', ('EMERGED' if mesh.emerged else 'no') +
                       f' ({mesh.peers_alive} alive, {mesh.global_coherence:.2f})')
    if health is None:
        witness = '-'
    else:
        values = dict(zip(health.names, health.values))
        lost, dropped = int(values.get('streams_lost', 0)), int(values.get('dropped', 0))
        witness = mark('health', 'ok' if not lost and not dropped else
                       f'{lost} streams lost, {dropped} dropped')
    heard = min((now - t for t in view.heard.values()), default=None)
    return (view.namespace, coherence, state, delta, emerged, estop, witness,
            '-' if heard is None else f'{heard:.1f} s ago')


def table(views, estop, now, stale_s):
    """Return the table as lines: a header, then one row per cell, sorted by namespace."""
    rows = [row(views[name], estop, now, stale_s) for name in sorted(views)]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(COLUMNS)]
    lines = [_fmt_row(COLUMNS, widths)] + [_fmt_row(r, widths) for r in rows]
    if not rows:
        lines.append('(no cell on this domain yet: waiting for sync/state, mesh/state, witness)')
    return lines


class StatusNode:
    """Discovers cells by topic name and keeps a :class:`CellView` of each."""

    def __init__(self, node_name='becomingone_status'):
        from becomingone_core.mesh import ESTOP_TOPIC
        from becomingone_core.ros.qos import LATCHED_QOS
        from becomingone_msgs.msg import EStopCommand
        from rclpy.node import Node
        self.node = Node(node_name)
        self.views = {}
        self.estop = None
        self._subscribed = set()
        self._wanted, self._wanted_since = None, self.now()
        self.settle_s = 2.0  # under load discovery trickles in for a second or two
        self._estop_topic = ESTOP_TOPIC
        self.node.create_subscription(EStopCommand, ESTOP_TOPIC, self._on_estop, LATCHED_QOS)

    def now(self):
        return time.monotonic()

    def discover(self):
        """Subscribe to every cell topic that appeared since the last call."""
        from becomingone_core.ros.qos import STATE_QOS, SYNC_STATE_QOS, WITNESS_QOS
        from becomingone_msgs.msg import MeshState, SyncState, WitnessRecord
        kinds = {'sync/state': (SyncState, SYNC_STATE_QOS, 'sync'),
                 'mesh/state': (MeshState, STATE_QOS, 'mesh'),
                 'witness': (WitnessRecord, WITNESS_QOS, 'health')}
        for topic, _types in self.node.get_topic_names_and_types():
            for suffix, (message_type, qos, stream) in kinds.items():
                if not topic.endswith('/' + suffix) or topic in self._subscribed:
                    continue
                namespace = topic[:-len(suffix) - 1] or '/'
                self._subscribed.add(topic)
                self.views.setdefault(namespace, CellView(namespace))
                self.node.create_subscription(
                    message_type, topic, self._callback(namespace, stream), qos)

    def _callback(self, namespace, stream):
        def take(message):
            if stream == 'health' and not (message.layer == message.META and
                                           message.event == 'health'):
                return  # only the witness's own health records
            self.views[namespace].note(stream, message, self.now())
        return take

    def _on_estop(self, message):
        self.estop = message

    def estop_text(self):
        if self.estop is None:
            return 'none'
        return ('ENGAGED' if self.estop.engage else 'released') + f' by {self.estop.source}'

    def ready(self):
        """Every cell found (by its nodes or topics) was heard on each stream it publishes."""
        wanted = {}
        # The nodes of a namespace say which streams it has, before all its topics are known.
        for name, namespace in self.node.get_node_names_and_namespaces():
            if name in NODE_STREAMS:
                wanted.setdefault(namespace, set()).add(NODE_STREAMS[name])
        for topic in self._subscribed:
            for suffix, stream in TOPIC_STREAMS.items():
                if topic.endswith('/' + suffix):
                    wanted.setdefault(topic[:-len(suffix) - 1] or '/', set()).add(stream)
        estop_publishers = self.node.count_publishers(self._estop_topic)
        if self.estop is None and estop_publishers:
            return False  # an e-stop is held: show it
        # Discovery arrives piecemeal: wait until what is known (the e-stop's publishers too)
        # has not grown for a while.
        signature = (sorted((ns, sorted(streams)) for ns, streams in wanted.items()),
                     estop_publishers)
        if signature != self._wanted:
            self._wanted, self._wanted_since = signature, self.now()
        if self.now() - self._wanted_since < self.settle_s:
            return False
        return bool(wanted) and all(
            namespace in self.views and set(self.views[namespace].heard) >= streams
            for namespace, streams in wanted.items())


def watch(args, out=None):
    """Run the status view (live, or one snapshot with ``args.once``); return the status."""
    out = out or sys.stdout
    from becomingone_core.ros.runner import CleanExit, init
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    stop = init(['becomingone', '--ros-args', '--log-level', 'warn'])
    outcome = CleanExit('becomingone_status')
    view = None
    executor = SingleThreadedExecutor()
    seen_any = False
    try:
        with outcome:
            view = StatusNode()
            executor.add_node(view.node)
            start = time.monotonic()
            next_discovery = next_draw = 0.0
            drawn = 0
            while rclpy.ok() and not stop.requested:
                elapsed = time.monotonic() - start
                if elapsed >= next_discovery:
                    view.discover()
                    next_discovery = elapsed + 0.5
                executor.spin_once(timeout_sec=0.05)
                if args.once:
                    if view.ready() or elapsed >= args.timeout:
                        break
                    continue
                if elapsed >= next_draw:
                    next_draw = elapsed + args.period
                    lines = [f'becomingone status: {len(view.views)} cell(s), e-stop '
                             f'{view.estop_text()}  (Ctrl-C ends)'] + table(
                        view.views, view.estop_text(), view.now(), args.stale)
                    # Cursor up over the last drawing, each line cleared: no curses needed.
                    out.write(('\x1b[%dF' % drawn if drawn else '') +
                              ''.join('\x1b[2K' + text + '\n' for text in lines) + '\x1b[J')
                    out.flush()
                    drawn = len(lines)
            if args.once and view is not None:
                seen_any = bool(view.views)
                out.write('\n'.join([f'e-stop: {view.estop_text()}'] + table(
                    view.views, view.estop_text(), view.now(), args.stale)) + '\n')
                out.flush()
    finally:
        if view is not None:
            executor.remove_node(view.node)
            view.node.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown()
    if outcome.status:
        return outcome.status
    return 0 if seen_any or not args.once else 1


def _status(args, rest):
    return watch(args)


def add_parser(commands):
    parser = commands.add_parser(
        'status', help='live view of every cell on the ROS domain',
        description=__doc__.split('\n\n', 1)[1].strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--once', action='store_true',
                        help='print one snapshot once every cell found was heard (or after '
                        '--timeout) and exit: 0, or 1 when no cell was found')
    parser.add_argument('--timeout', type=float, default=5.0, metavar='S',
                        help='--once: longest wait for the cells (default 5 s)')
    parser.add_argument('--period', type=float, default=0.5, metavar='S',
                        help='refresh period of the live view (default 0.5 s)')
    parser.add_argument('--stale', type=float, default=3.0, metavar='S',
                        help='a value older than this is marked stale (default 3 s)')
    parser.set_defaults(handler=_status)
