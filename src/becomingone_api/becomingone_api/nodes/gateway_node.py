"""
``gateway``: one or more cells seen and used over HTTP, WebSocket and a dashboard.

    ros2 run becomingone_api gateway --ros-args -p namespaces:="['/cell1', '/cell2']"

The node subscribes to each cell's ``sync/state``, ``master/resonance``,
``emissary/resonance``, ``witness`` and ``mesh/state`` and to the mesh e-stop, calls the cell's
``memory/query`` and ``memory/reconstruct`` services, and publishes POSTed samples on the
cell's ``phase``. The web server (:mod:`becomingone_api.app` on uvicorn) runs on a thread of
its own with its own event loop: callbacks hand shaped frames to per-client bounded queues
(:mod:`becomingone_api.hub`) and never wait for a client; requests wait for a service at most
``service_timeout_s``. Loopback by default; bearer tokens with scopes from ``tokens_file``
(0600), or a fresh token file when none is given; TLS from ``tls_certfile``/``tls_keyfile``.
"""

import asyncio
import collections
import os
import threading
import time

from becomingone_api import auth, shaping
from becomingone_api.app import create_app, Unavailable
from becomingone_api.hub import Hub
from becomingone_api.nodes import parameter_values
from becomingone_api.server import is_loopback, WebServer
from becomingone_api.validation import MAX_BODY_BYTES
from becomingone_core import input_rules
from becomingone_core.estop import EStopState
from becomingone_core.input_rules import RejectedInput
from becomingone_core.mesh import ESTOP_TOPIC
from becomingone_core.mesh import ROLE_NODES
from becomingone_core.nodes.estop_node import make_command
from becomingone_core.ros.guarded_node import GuardedNode
from becomingone_core.ros.message_fields import to_fields
from becomingone_core.ros.parameters import declare, ParameterError, require
from becomingone_core.ros.qos import LATCHED_QOS, STATE_QOS
from becomingone_core.ros.qos import RESONANCE_QOS, SYNC_STATE_QOS, WITNESS_QOS
from becomingone_core.ros.runner import run_nodes
from becomingone_core.ros.security_parameters import declare_security
from becomingone_core.ros.stamps import set_stamp, stamp_ns, time_from_seconds
from becomingone_core.token_bucket import TokenBucket
from becomingone_msgs.msg import EStopCommand, MeshState, Phase, Resonance, SyncState
from becomingone_msgs.msg import WitnessRecord
from becomingone_msgs.srv import QueryMemory, ReconstructCoherence
from rcl_interfaces.msg import Parameter as ParameterMessage
from rcl_interfaces.srv import DescribeParameters, GetParameters, ListParameters
from rcl_interfaces.srv import SetParametersAtomically
from rclpy.qos import qos_profile_sensor_data

NS = 1_000_000_000
#: Nodes of a cell whose parameters the gateway may read and set (every node a role runs).
DEFAULT_PARAMETER_NODES = sorted({name for names in ROLE_NODES.values() for name in names})


def cell_name(namespace):
    """Return the URL name of a cell namespace: '/cell1' -> 'cell1', '/' -> 'root'."""
    name = namespace.strip('/')
    return name or 'root'


def default_tokens_path():
    base = os.environ.get('XDG_RUNTIME_DIR') or os.path.join(os.path.expanduser('~'), '.ros')
    return os.path.join(base, 'becomingone-api-tokens')


def share_web_dir():
    try:
        from ament_index_python.packages import get_package_share_directory
        return os.path.join(get_package_share_directory('becomingone_api'), 'web')
    except (ImportError, LookupError, ValueError):
        return ''


class GatewayNode(GuardedNode):
    """The ROS side of the gateway, and the backend the web app calls."""

    def __init__(self, **kwargs):
        super().__init__('gateway', **kwargs)
        self._declare_parameters()
        self.tokens = self._load_tokens()
        self.authority = declare_security(self)
        self.hub = Hub(self._queue_depth)
        self.cells = {}
        self.foxglove = None
        self._topics = {}
        self._memory_clients = {}
        self._parameter_clients = {}
        self.estop_refused = collections.Counter()
        self._phase_publishers = {}
        self._input_buckets = {}
        self._input_lock = threading.Lock()
        self._inflight = 0
        self._inflight_lock = threading.Lock()  # the web server's loop and Foxglove's bridge
        self.rejected = 0
        self.published_inputs = 0
        self._estop = EStopState()
        self._estop_lock = threading.Lock()
        self._estop_publisher = self.create_publisher(EStopCommand, ESTOP_TOPIC, LATCHED_QOS)
        self.create_subscription(EStopCommand, ESTOP_TOPIC, self._on_estop, LATCHED_QOS)
        for namespace in self._namespaces:
            self._add_cell(namespace)
        web_dir = self._web_dir or share_web_dir()
        web_dir = web_dir if web_dir and os.path.isdir(web_dir) else None
        vendor = os.path.join(web_dir, 'vendor') if web_dir else None
        app = create_app(self, web_dir=web_dir, vendor_dir=vendor,
                         max_body_bytes=self._max_body_bytes,
                         allow_release=self._allow_release)
        try:
            self.server = WebServer(app, self._host, self._port, self._certfile,
                                    self._keyfile).start()
        except (OSError, ValueError, RuntimeError) as error:
            raise ParameterError(f'parameter host/port/tls: cannot serve on {self._host}:'
                                 f'{self._port}: {error}') from error
        self.foxglove = self._start_foxglove()
        where = self.server.url
        token_hint = f'#token={self._generated}' if self._generated else ''
        self.get_logger().info(
            f'gateway for cells {sorted(self.cells)} at {where}/api/v1 ; dashboard: '
            f'{where}/{token_hint}' + ('' if web_dir else ' (no dashboard files installed)'))

    # -- parameters ---------------------------------------------------------------------------
    def _declare_parameters(self):
        d = self._read_only
        self._namespaces = list(d('namespaces', ['/'], 'cell namespaces to serve'))
        require(0 < len(self._namespaces) <= 256, 'namespaces', 'give 1-256 namespaces')
        for namespace in self._namespaces:
            require(namespace.startswith('/') and all(
                c.isalnum() or c in '_/' for c in namespace), 'namespaces',
                f'{namespace!r} is not an absolute ROS namespace')
        self._host = d('host', '127.0.0.1', 'address to listen on (loopback by default)')
        self._port = d('port', 8080, 'TCP port (0: any free port)', minimum=0, maximum=65535)
        self._tokens_file = d('tokens_file', '', 'bearer tokens with scopes (mode 0600); empty: '
                              'a fresh file with one all-scope token, its path logged')
        self._certfile = d('tls_certfile', '', 'PEM certificate chain: serve HTTPS/WSS only')
        self._keyfile = d('tls_keyfile', '', 'PEM private key of tls_certfile')
        self._allow_remote = d('allow_remote', False, 'allow a non-loopback host (needs TLS '
                               'and tokens_file)')
        self._allow_release = d('allow_release', False, 'allow POST /estop {"engage": false} '
                                'with the control scope (unsigned release: open lab mesh)')
        self._timeout_s = d('service_timeout_s', 2.0, 'deadline for memory services (s)',
                            minimum=0.05, maximum=60.0)
        self._max_inflight = d('max_inflight_calls', 16, 'service calls waiting at once; more '
                               'are refused with 503', minimum=1, maximum=1000)
        self._queue_depth = d('queue_depth', 64, 'frames a WebSocket client may fall behind; '
                              'older ones are dropped and counted', minimum=1, maximum=100_000)
        self._max_body_bytes = d('max_body_bytes', MAX_BODY_BYTES, 'largest request body',
                                 minimum=1024, maximum=64 << 20)
        self._input_rate_hz = d('input_rate_hz', 200.0, 'POSTed blocks per second per cell',
                                minimum=0.1, maximum=100_000.0)
        self.source_rate_hz = d('max_stream_rate_hz', 50.0, 'highest state rate a client '
                                'may ask for (the sync publish rate)', minimum=0.1,
                                maximum=1000.0)
        self._foxglove_port = d('foxglove_port', -1, 'Foxglove WebSocket server port on host '
                                '(needs foxglove-sdk and a loopback host; -1: off, 0: any)',
                                minimum=-1, maximum=65535)
        self._web_dir = d('web_dir', '', 'dashboard files (empty: the installed ones)')
        self.parameter_nodes = list(d('parameter_nodes', DEFAULT_PARAMETER_NODES,
                                      'nodes of each cell whose parameters GET/PUT '
                                      '.../nodes/{node}/parameters reach (the node own '
                                      'validation decides every set)'))
        for node_name in self.parameter_nodes:
            require(node_name and len(node_name) <= 64 and all(
                c.isalnum() or c == '_' for c in node_name), 'parameter_nodes',
                f'{node_name!r} is not a ROS node name')
        if not is_loopback(self._host):
            require(self._allow_remote, 'host', f'{self._host} is not loopback: set '
                    'allow_remote (with TLS and tokens_file) to listen beyond this machine')
            require(self._certfile and self._tokens_file, 'host',
                    'a non-loopback gateway needs tls_certfile/tls_keyfile and tokens_file')

    def _start_foxglove(self):
        if self._foxglove_port < 0:
            return None
        from becomingone_api import foxglove_live
        missing = foxglove_live.available()
        require(not missing, 'foxglove_port', f'{missing}: pip install foxglove-sdk, or '
                'leave foxglove_port at -1')
        require(is_loopback(self._host), 'foxglove_port', 'the Foxglove server has no '
                'tokens: it serves a loopback host only')
        # Its Parameters capability calls the backend of GET/PUT .../parameters (the node's
        # validation decides), on a loop of its own, within service_timeout_s.
        bridge = foxglove_live.ParameterBridge(self, sorted(self.cells), self.parameter_nodes,
                                               self._timeout_s, log=self.get_logger().warning)
        try:
            live = foxglove_live.FoxgloveLive(sorted(self.cells), self._host, self._foxglove_port,
                                              parameters=bridge)
        except Exception as error:  # noqa: B902 - the SDK raises its own error types
            bridge.stop()
            raise ParameterError(f"parameter 'foxglove_port': cannot serve on "
                                 f'{self._host}:{self._foxglove_port}: {error}') from error
        self.get_logger().info(f'foxglove server at {live.url} (Foxglove WebSocket protocol, '
                               'parameters /<cell>/<node>.<parameter>)')
        return live

    def _foxglove(self, kind, cell, shaped):
        if self.foxglove is not None:
            self.foxglove.log(kind, cell, shaped)

    def _read_only(self, name, default, description, **limits):
        return declare(self, name, default, description, read_only=True, **limits)

    def _load_tokens(self):
        self._generated = ''
        path = self._tokens_file
        try:
            if not path:
                path = default_tokens_path()
                self._generated = auth.write_token_file(path)
                self.get_logger().info(f'no tokens_file: wrote a fresh all-scope token to {path}')
            return auth.load_tokens(path)
        except (auth.TokenFileError, OSError) as error:
            raise ParameterError(f"parameter 'tokens_file': {error}") from error

    # -- subscriptions ------------------------------------------------------------------------
    def _add_cell(self, namespace):
        name = cell_name(namespace)
        prefix = namespace.rstrip('/')
        view = shaping.CellView(name)
        self.cells[name] = view
        self.create_subscription(SyncState, f'{prefix}/sync/state',
                                 lambda m: self._on_sync(view, m), SYNC_STATE_QOS)
        for transducer in ('master', 'emissary'):
            self.create_subscription(Resonance, f'{prefix}/{transducer}/resonance',
                                     lambda m: self._on_resonance(view, m), RESONANCE_QOS)
        self.create_subscription(WitnessRecord, f'{prefix}/witness',
                                 lambda m: self._on_witness(view, m), WITNESS_QOS)
        self.create_subscription(MeshState, f'{prefix}/mesh/state',
                                 lambda m: self._on_mesh(view, m), STATE_QOS)
        self._memory_clients[name] = (
            self.create_client(QueryMemory, f'{prefix}/memory/query'),
            self.create_client(ReconstructCoherence, f'{prefix}/memory/reconstruct'))
        self._parameter_clients[name] = {
            node_name: {
                'list': self.create_client(ListParameters,
                                           f'{prefix}/{node_name}/list_parameters'),
                'describe': self.create_client(DescribeParameters,
                                               f'{prefix}/{node_name}/describe_parameters'),
                'get': self.create_client(GetParameters, f'{prefix}/{node_name}/get_parameters'),
                'set': self.create_client(SetParametersAtomically,
                                          f'{prefix}/{node_name}/set_parameters_atomically'),
            } for node_name in self.parameter_nodes}
        self._phase_publishers[name] = self.create_publisher(
            Phase, f'{prefix}/phase', qos_profile_sensor_data)
        self._input_buckets[name] = TokenBucket(self._input_rate_hz,
                                                burst=max(1.0, self._input_rate_hz))

    def now_s(self):
        return time.time()

    def _checked(self, rule, message):
        try:
            rule(message)
            return True
        except RejectedInput as error:
            self.rejected += 1
            self.get_logger().warn(f'refused a message: {error}', throttle_duration_sec=5.0)
            return False

    def _on_sync(self, view, message):
        if not self._checked(input_rules.check_sync_state, message):
            return
        shaped = shaping.sync_state(view.name, to_fields(message))
        view.on_state(shaped)
        self._foxglove('state', view.name, shaped)
        self.hub.publish('state', view.name, shaping.dumps({'type': 'state', **shaped}),
                         time.monotonic())

    def _on_resonance(self, view, message):
        if self._checked(input_rules.check_resonance, message):
            shaped = shaping.resonance(view.name, to_fields(message))
            view.on_resonance(shaped)
            self._foxglove('resonance', view.name, shaped)

    def _on_witness(self, view, message):
        if not self._checked(input_rules.check_witness_record, message):
            return
        shaped = shaping.witness_record(view.name, to_fields(message))
        self._foxglove('witness', view.name, shaped)
        if view.on_witness(shaped, self.now_s()):
            self.hub.publish('witness', view.name, shaping.dumps({'type': 'witness', **shaped}),
                             time.monotonic())

    def _on_mesh(self, view, message):
        if not self._checked(input_rules.check_mesh_state, message):
            return
        shaped = shaping.mesh_state(view.name, to_fields(message))
        self._foxglove('mesh', view.name, shaped)
        if view.on_mesh(shaped):
            self.hub.publish('mesh', view.name, shaping.dumps({'type': 'mesh', **shaped}),
                             time.monotonic())

    def _on_estop(self, message):
        # The mesh's rule, as every cell applies it: on a mesh with a PKI only a command signed
        # by a member engages and only one signed by an operator releases; what the gateway
        # reports is what the cells obey, never an unsigned command's wish.
        with self._estop_lock:
            before = self._estop.engaged
            outcome, _ = self._estop.take(message, self.authority, time.time_ns())
            changed = before != self._estop.engaged
        if outcome != 'accepted':
            self.rejected += 1
            self.estop_refused[outcome] += 1
            self.get_logger().warn(f'refused an e-stop command from {message.source!r:.60}: '
                                   f'{outcome}', throttle_duration_sec=5.0)
            return
        if outcome == 'accepted':
            view = {'type': 'estop', 'changed': changed, **self.estop_view()}
            self.hub.publish('estop', None, shaping.dumps(view), time.monotonic())

    # -- the backend the web app calls (from the server's thread) -----------------------------
    def estop_view(self):
        with self._estop_lock:
            return {'engaged': self._estop.engaged, 'known': self._estop.known,
                    'engaged_by': self._estop.engaged_by,
                    'released_by': self._estop.released_by, 'topic': ESTOP_TOPIC,
                    'pki': self.authority.enabled, 'refused': dict(self.estop_refused)}

    def gateway_view(self):
        return {'cells': sorted(self.cells), 'parameter_nodes': self.parameter_nodes,
                'rejected_messages': self.rejected,
                'inputs_published': self.published_inputs, 'inflight_calls': self._inflight,
                'stream': self.hub.stats(), 'tls': self.server.tls}

    async def _call(self, client, request, what):
        """
        Call ``client`` within ``service_timeout_s`` (every request sent here is idempotent).

        The answer to a request sent before a (re)started server's reply writer matched the
        gateway is lost (readiness is seen from the request side only), so an unanswered
        request is sent once more at half the deadline.
        """
        if not client.service_is_ready():
            raise Unavailable(503, f'{client.srv_name} is not available (is the {what} '
                              'node running for this cell?)')
        with self._inflight_lock:
            if self._inflight >= self._max_inflight:
                raise Unavailable(503, f'{self._inflight} service calls already waiting')
            self._inflight += 1
        loop = asyncio.get_running_loop()
        answer = loop.create_future()

        def done(ros_future):
            def settle():
                if not answer.done():
                    answer.set_result(ros_future)
            loop.call_soon_threadsafe(settle)

        sent = []

        def send():
            sent.append(client.call_async(request))
            sent[-1].add_done_callback(done)

        try:
            send()
            try:
                try:
                    result = await asyncio.wait_for(asyncio.shield(answer), self._timeout_s / 2)
                except asyncio.TimeoutError:
                    send()
                    result = await asyncio.wait_for(answer, self._timeout_s / 2)
            except asyncio.TimeoutError:
                raise Unavailable(504, f'{client.srv_name} did not answer within '
                                  f'{self._timeout_s:g} s') from None
            finally:  # answered, timed out or cancelled (a caller's own deadline: Foxglove's)
                for ros_future in sent:
                    if not ros_future.done():
                        client.remove_pending_request(ros_future)
        finally:
            with self._inflight_lock:
                self._inflight -= 1
        response = result.result()
        if response is None:
            raise Unavailable(503, f'{what}: no response')
        return response

    async def query(self, cell, kind, start_s, end_s, limit, transducer, newest_first):
        request = QueryMemory.Request(kind=kind, transducer=transducer, max_results=limit,
                                      newest_first=newest_first)
        request.start = time_from_seconds(start_s)
        request.end = time_from_seconds(end_s)
        response = await self._call(self._memory_clients[cell][0], request, 'memory')
        if not response.success:
            raise Unavailable(503, f'memory refused the query: {response.message}')
        shape = {
            'sync': lambda m: shaping.sync_state(cell, to_fields(m)),
            'witness': lambda m: shaping.witness_record(cell, to_fields(m)),
            'mesh': lambda m: shaping.mesh_state(cell, to_fields(m)),
            'resonance': to_fields,
        }[kind]
        records = {'sync': response.sync_states, 'witness': response.witness_records,
                   'mesh': response.mesh_states, 'resonance': response.signatures}[kind]
        return {'cell': cell, 'kind': kind, 'start': start_s, 'end': end_s,
                'truncated': response.truncated, 'message': response.message,
                'records': [shape(m) for m in records],
                'buckets': [_bucket(to_fields(b)) for b in response.buckets]}

    async def verify_witness(self, cell, start_s, end_s, limit):
        request = QueryMemory.Request(kind='witness', max_results=limit)
        request.start = time_from_seconds(start_s)
        request.end = time_from_seconds(end_s)
        response = await self._call(self._memory_clients[cell][0], request, 'memory')
        if not response.success:
            raise Unavailable(503, f'memory refused the query: {response.message}')
        result = shaping.verify_witness([to_fields(m) for m in response.witness_records])
        result.update({'cell': cell, 'start': start_s, 'end': end_s,
                       'truncated': response.truncated})
        return result

    async def reconstruct(self, cell, t_s):
        request = ReconstructCoherence.Request(stamp=time_from_seconds(t_s))
        response = await self._call(self._memory_clients[cell][1], request, 'memory')
        return {'cell': cell, 't': t_s, 'known': response.known, 'source': response.source,
                'nearest_stamp': stamp_ns(response.nearest_stamp) / NS,
                'state': shaping.sync_state(cell, to_fields(response.state))
                if response.known else None}

    async def publish_phase(self, cell, fields):
        with self._input_lock:
            if not self._input_buckets[cell].admit(time.monotonic()):
                raise Unavailable(429, f'more than {self._input_rate_hz:g} inputs/s for '
                                  f'cell {cell!r}')
        message = Phase(channels=int(fields['channels']), stamps_offset=fields['stamps_offset'],
                        real=fields['real'], imag=fields['imag'])
        set_stamp(message.header.stamp, fields['stamp_ns'])
        message.source = fields['source']
        self._phase_publishers[cell].publish(message)
        self.published_inputs += 1
        samples = max(1, len(fields['stamps_offset']))
        return {'cell': cell, 'published': True, 'samples': samples,
                'channels': message.channels, 'topic': self._phase_publishers[cell].topic_name}

    # -- parameters, through the node's own services -----------------------------------------
    def _parameter_client(self, cell, node_name, kind):
        clients = self._parameter_clients[cell].get(node_name)
        if clients is None:
            raise Unavailable(404, f'node {node_name!r} is not one of parameter_nodes '
                              f'{self.parameter_nodes}')
        return clients[kind]

    async def _describe(self, cell, node_name, names):
        client = self._parameter_client(cell, node_name, 'describe')
        response = await self._call(client, DescribeParameters.Request(names=names), node_name)
        return {d.name or n: d for n, d in zip(names, response.descriptors)}

    async def get_parameters(self, cell, node_name, names):
        """Return the node's parameters ``names`` (all when empty): value and descriptor."""
        if not names:
            client = self._parameter_client(cell, node_name, 'list')
            listed = await self._call(client, ListParameters.Request(depth=0), node_name)
            names = sorted(listed.result.names)
        descriptors = await self._describe(cell, node_name, list(names))
        client = self._parameter_client(cell, node_name, 'get')
        values = await self._call(client, GetParameters.Request(names=list(names)), node_name)
        if len(values.values) != len(names):
            raise Unavailable(404, f'{node_name} has no parameter among {list(names)}')
        entries = []
        for name, value in zip(names, values.values):
            descriptor = descriptors.get(name)
            if descriptor is None or value.type == 0:
                raise Unavailable(404, f'{node_name} has no parameter {name!r}')
            entries.append(parameter_values.describe(descriptor, value))
        return {'cell': cell, 'node': node_name, 'parameters': entries}

    async def set_parameters(self, cell, node_name, values):
        """Set ``values`` (name -> JSON) atomically: the node validates and may refuse."""
        descriptors = await self._describe(cell, node_name, sorted(values))
        parameters = []
        for name in sorted(values):
            descriptor = descriptors.get(name)
            if descriptor is None or descriptor.type == 0:
                raise Unavailable(404, f'{node_name} has no parameter {name!r}')
            try:
                value = parameter_values.from_json(values[name], descriptor.type)
            except parameter_values.NotConvertible as error:
                raise Unavailable(422, f'{name}: {error}') from None
            parameters.append(ParameterMessage(name=name, value=value))
        client = self._parameter_client(cell, node_name, 'set')
        response = await self._call(client, SetParametersAtomically.Request(
            parameters=parameters), node_name)
        if not response.result.successful:
            raise Unavailable(422, f'{node_name} refused: {response.result.reason}')
        answer = await self.get_parameters(cell, node_name, sorted(values))
        answer['set'] = True
        return answer

    async def command_estop(self, engage, source):
        """Publish a (signed, with a PKI) e-stop command and report the view a moment later."""
        own = self.authority._own if self.authority.enabled else None
        if not engage and own is not None and not own.operator:
            raise Unavailable(403, f'this host ({self.authority.node_id}) holds no operator '
                              'certificate: the mesh would refuse its release')
        source = self.authority.node_id or source
        command = make_command(self.authority, engage, source, time.time_ns())
        self._estop_publisher.publish(command)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline and self.estop_view()['engaged'] != engage:
            await asyncio.sleep(0.02)
        view = self.estop_view()
        view['command'] = {'engage': engage, 'source': source, 'sequence': command.sequence,
                           'signed': bool(command.signature)}
        return view

    def destroy_node(self):
        server = getattr(self, 'server', None)
        if server is not None:
            server.stop()
        if getattr(self, 'foxglove', None) is not None:
            self.foxglove.stop()
        return super().destroy_node()


def _bucket(fields):
    for key in ('start', 'end'):
        if isinstance(fields.get(key), dict):
            fields[key] = shaping.stamp_s(fields[key])
    return fields


def main(args=None):
    import sys
    sys.exit(run_nodes(GatewayNode, args=args))
