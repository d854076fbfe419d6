"""
An optional Foxglove WebSocket server beside the gateway: JSON-schema channels (no rclpy).

With ``foxglove-sdk`` installed and the gateway's ``foxglove_port`` >= 0, Foxglove (app or
browser) connects to ``ws://127.0.0.1:PORT`` (the Foxglove WebSocket protocol:
``foxglove.sdk.v1`` in foxglove-sdk 0.30, ``foxglove.websocket.v1`` before) and plots
every cell without ROS: channels ``/<cell>/state``, ``/<cell>/resonance``, ``/<cell>/mesh`` and
``/<cell>/witness`` carry the gateway's shaped JSON (the same fields as the REST API) with a
JSON schema each, logged at the message's own stamp. The server has its own context and
threads (the SDK's); logging never waits for a client (the SDK's per-client backlog drops the
oldest). Loopback only: it has no tokens, so the gateway refuses a non-loopback host for it.

With a ``parameters`` backend (the gateway) the server also advertises
``Capability.Parameters`` (Foxglove's Parameters panel): ``/<cell>/<node>.<parameter>``
(``/root/sync.threshold``) is read and set through the backend's ``get_parameters`` and
``set_parameters``, the code path of ``GET/PUT .../nodes/{node}/parameters``, so the node's own
validation decides every set. The SDK calls the listener on a thread of its own; the bridge runs
the backend's coroutines on an event loop of its own and never waits longer than
``deadline_s`` (the gateway's ``service_timeout_s``). A refused set answers with the node's
current value and reports the node's reason (logged and sent to clients as a warning status).
"""

import asyncio
import threading

from becomingone_api import validation

_COMPLEX = {'type': 'object', 'properties': {k: {'type': 'number'}
                                             for k in ('re', 'im', 'abs', 'arg')}}
SCHEMAS = {
    'state': {'type': 'object', 'title': 'becomingone.SyncState', 'properties': {
        'cell': {'type': 'string'}, 'stamp': {'type': 'number'},
        'coherence': {'type': 'number'}, 'threshold': {'type': 'number'},
        'hysteresis': {'type': 'number'}, 'collapsed': {'type': 'boolean'},
        'delta_phase': {'type': 'number'}, 'realign_requested': {'type': 'boolean'},
        'T_m': _COMPLEX, 'T_e': _COMPLEX, 'T_sync': _COMPLEX}},
    'resonance': {'type': 'object', 'title': 'becomingone.Resonance', 'properties': {
        'cell': {'type': 'string'}, 'stamp': {'type': 'number'},
        'transducer': {'type': 'string'}}},
    'mesh': {'type': 'object', 'title': 'becomingone.MeshState', 'properties': {
        'cell': {'type': 'string'}, 'stamp': {'type': 'number'},
        'peers': {'type': 'array'}}},
    'witness': {'type': 'object', 'title': 'becomingone.WitnessRecord', 'properties': {
        'cell': {'type': 'string'}, 'stamp': {'type': 'number'},
        'event': {'type': 'string'}}},
}
KINDS = tuple(SCHEMAS)


def available():
    """Return why ``foxglove-sdk`` cannot be used, or '' when it can."""
    try:
        import foxglove  # noqa: F401
    except ImportError as error:
        return f'foxglove-sdk is not installed ({error})'
    return ''


class FoxgloveLive:
    """A Foxglove server on ``host:port`` with one JSON channel per cell and kind."""

    def __init__(self, cells, host='127.0.0.1', port=8765, name='becomingone',
                 parameters=None):
        import foxglove
        self._context = foxglove.Context()
        self._channels = {
            (cell, kind): foxglove.Channel(f'/{cell}/{kind}', schema=SCHEMAS[kind],
                                           message_encoding='json', context=self._context)
            for cell in cells for kind in KINDS}
        self.parameters = parameters
        options = {}
        if parameters is not None:
            options = {'capabilities': [foxglove.Capability.Parameters],
                       'server_listener': _Listener(parameters)}
        self._server = foxglove.start_server(name=name, host=host, port=port,
                                             context=self._context, **options)
        if parameters is not None:
            parameters.report = self._report
        self.host = host
        self.port = self._server.port
        self.logged = 0

    @property
    def url(self):
        return f'ws://{self.host}:{self.port}'

    def log(self, kind, cell, shaped):
        """Log one shaped message (a dict of JSON values) on its channel; never blocks."""
        channel = self._channels.get((cell, kind))
        if channel is None:
            return
        stamp = shaped.get('stamp')
        log_time = int(stamp * 1e9) if isinstance(stamp, (int, float)) and stamp > 0 else None
        channel.log(shaped, log_time=log_time)
        self.logged += 1

    def _report(self, message):
        import foxglove
        self._server.publish_status(message[:500], foxglove.StatusLevel.Warning)

    def stop(self):
        self._server.stop()
        if self.parameters is not None:
            self.parameters.stop()


def parameter_name(cell, node, parameter):
    """Return the Foxglove name of a node's parameter: ``/<cell>/<node>.<parameter>``."""
    return f'/{cell}/{node}.{parameter}'


def split_parameter_name(name):
    """Return ``(cell, node, parameter)`` of a Foxglove parameter name, or None."""
    path, dot, parameter = name.partition('.')  # cells and nodes hold no dot
    cell, slash, node = path.strip('/').rpartition('/')
    if not (dot and slash and cell and node and parameter):
        return None
    return cell, node, parameter


def to_foxglove(cell, node, entry):
    """Return a ``foxglove.Parameter`` of one entry of ``backend.get_parameters``."""
    import foxglove
    name, value = parameter_name(cell, node, entry['name']), entry['value']
    if value is None:
        return foxglove.Parameter(name)  # unset (or a NaN): not published
    kind = entry.get('type')
    if kind == 'double':
        return foxglove.Parameter(name, value=float(value),
                                  type=foxglove.ParameterType.Float64)
    if kind == 'double_array':
        return foxglove.Parameter(name, value=[float(x) for x in value if x is not None],
                                  type=foxglove.ParameterType.Float64Array)
    if kind == 'byte_array':
        return foxglove.Parameter(name, value=bytes(value),
                                  type=foxglove.ParameterType.ByteArray)
    return foxglove.Parameter(name, value=value)


class ParameterBridge:
    """
    The Parameters capability's backend: Foxglove names to the gateway's parameter calls.

    ``backend`` has ``async get_parameters(cell, node, names)`` and ``async
    set_parameters(cell, node, values)`` (the REST endpoints' own). The calls run on this
    bridge's event loop (a daemon thread); every request of the SDK waits at most
    ``deadline_s`` in all, and an answer that comes later is dropped.
    """

    def __init__(self, backend, cells, nodes, deadline_s, log=print, concurrency=4):
        self._backend = backend
        self.cells = set(cells)
        self.nodes = list(nodes)
        self.deadline_s = float(deadline_s)
        self._log = log
        self.report = None
        self.refused = 0
        self._concurrency = concurrency
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name='becomingone-foxglove-parameters')
        self._thread.start()

    def stop(self):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2.0)

    # -- called on the SDK's thread -------------------------------------------------------
    def read(self, names):
        """Return ``foxglove.Parameter`` of ``names`` (all of every node when empty)."""
        return self._run(self._get(list(names)), f'getParameters {list(names)[:8]}')

    def write(self, parameters):
        """Set ``[(name, native value)]``; return what each node holds afterwards."""
        return self._run(self._set(list(parameters)),
                         f'setParameters {[n for n, _ in parameters][:8]}')

    def _run(self, coroutine, what):
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(self.deadline_s)
        except TimeoutError:
            future.cancel()
            self._warn(f'{what}: no answer within {self.deadline_s:g} s')
        except Exception as error:  # noqa: B902 - never raise into the SDK
            self._warn(f'{what}: {type(error).__name__}: {error}')
        return []

    def _warn(self, message):
        self._log(f'foxglove parameters: {message}')
        if self.report is not None:
            try:
                self.report(message)
            except Exception:  # noqa: B902 - a stopped server
                pass

    # -- on the bridge's loop ----------------------------------------------------------------
    def _groups(self, names):
        groups = {}
        for name in names:
            parts = split_parameter_name(name)
            if parts is None or parts[0] not in self.cells or parts[1] not in self.nodes:
                self._warn(f'{name[:120]!r} is not /<cell>/<node>.<parameter> of a served '
                           f'cell {sorted(self.cells)} and node {self.nodes}')
                continue
            groups.setdefault(parts[:2], []).append(parts[2])
        return groups

    async def _gather(self, calls):
        """Run ``calls`` (coroutines), a few at once; return the parameters of those in time."""
        limit = asyncio.Semaphore(self._concurrency)

        async def bounded(call):
            async with limit:
                return await call

        tasks = [asyncio.ensure_future(bounded(call)) for call in calls]
        if not tasks:
            return []
        done, pending = await asyncio.wait(tasks, timeout=self.deadline_s * 0.9)
        for task in pending:
            task.cancel()
        parameters = []
        for task in tasks:
            if task in done and task.exception() is None:
                parameters.extend(task.result())
        return parameters

    async def _read(self, cell, node, names, quiet=False):
        try:
            answer = await self._backend.get_parameters(cell, node, names)
        except Exception as error:  # noqa: B902 - Unavailable, BadRequest: reported
            if not quiet:
                self._warn(f'/{cell}/{node}: {_reason(error)}')
            return []
        return [to_foxglove(cell, node, entry) for entry in answer['parameters']]

    async def _get(self, names):
        if not names:  # the Parameters panel: everything; nodes not running are skipped
            return await self._gather([self._read(cell, node, [], quiet=True)
                                       for cell in sorted(self.cells) for node in self.nodes])
        return await self._gather([self._read(cell, node, params)
                                   for (cell, node), params in self._groups(names).items()])

    async def _set_node(self, cell, node, values):
        try:
            validation.parameter_values(values)
            answer = await self._backend.set_parameters(cell, node, values)
        except Exception as error:  # noqa: B902 - Unavailable, BadRequest: the node's reason
            self.refused += 1
            self._warn(f'/{cell}/{node} refused {sorted(values)}: {_reason(error)}')
            return await self._read(cell, node, sorted(values))  # what the node holds
        return [to_foxglove(cell, node, entry) for entry in answer['parameters']]

    async def _set(self, parameters):
        values = {name: list(value) if isinstance(value, bytes) else value
                  for name, value in parameters}
        groups = {}
        for (cell, node), params in self._groups(list(values)).items():
            groups[(cell, node)] = {p: values[parameter_name(cell, node, p)] for p in params}
        return await self._gather([self._set_node(cell, node, group)
                                   for (cell, node), group in groups.items()])


def _reason(error):
    return getattr(error, 'message', None) or f'{type(error).__name__}: {error}'


class _Listener:
    """The SDK's ``ServerListener`` for the Parameters capability."""

    def __init__(self, bridge):
        self._bridge = bridge

    def on_get_parameters(self, client, param_names, request_id=None):
        return self._bridge.read(param_names)

    def on_set_parameters(self, client, parameters, request_id=None):
        return self._bridge.write([(p.name, p.get_value()) for p in parameters])
