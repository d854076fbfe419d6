"""
The gateway's ASGI application: versioned REST, the WebSocket stream, the dashboard (no rclpy).

:func:`create_app` takes a *backend* (the gateway node, or anything with the same methods):
``cells`` (name -> :class:`~becomingone_api.shaping.CellView`), ``hub``, ``tokens``,
``now_s()``, ``estop_view()``, ``gateway_view()``, and coroutines ``query(cell, ...)``,
``reconstruct(cell, t_s)``, ``publish_phase(cell, fields)``, ``command_estop(engage,
source)``, ``get_parameters(cell, node, names)``, ``set_parameters(cell, node, values)``.
Every refusal is JSON ``{"error": message}`` with a 4xx status; a dead memory or parameter
service is a 503/504 within the backend's deadline, never a request that hangs.
"""

import asyncio
import os

from becomingone_api import auth, openapi, validation
from becomingone_api.shaping import dumps, explain_gate
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, RedirectResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

API = '/api/v1'


class Unavailable(Exception):
    """A ROS service that did not answer: ``status`` 503 (not there) or 504 (too slow)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Json(JSONResponse):
    """JSON without NaN (allow_nan=False), compact."""

    def render(self, content):
        return dumps(content).encode('utf-8')


def error(status, message):
    return Json({'error': message, 'status': status}, status_code=status)


async def read_body(request, limit):
    """Return the body, refusing (413) one longer than ``limit`` before reading it all."""
    length = request.headers.get('content-length')
    if length is not None:
        if not length.isdigit():
            raise validation.BadRequest(400, 'bad Content-Length')
        if int(length) > limit:
            raise validation.BadRequest(413, f'body of {length} bytes > {limit}')
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise validation.BadRequest(413, f'body larger than {limit} bytes')
        chunks.append(chunk)
    return b''.join(chunks)


def create_app(backend, web_dir=None, vendor_dir=None, max_body_bytes=validation.MAX_BODY_BYTES,
               allow_release=False):
    """Return the Starlette app serving ``backend``."""

    def authorize(request, scope):
        token = auth.bearer_token(request.headers.get('authorization', ''))
        return backend.tokens.authorize(token, scope)

    def endpoint(scope):
        def decorate(handler):
            async def wrapped(request):
                try:
                    authorize(request, scope)
                    return await handler(request)
                except auth.Denied as denied:
                    response = error(denied.status, denied.message)
                    if denied.status == 401:
                        response.headers['WWW-Authenticate'] = 'Bearer'
                    return response
                except validation.BadRequest as bad:
                    return error(bad.status, bad.message)
                except Unavailable as down:
                    return error(down.status, down.message)
            wrapped.__name__ = handler.__name__
            wrapped.__doc__ = handler.__doc__
            return wrapped
        return decorate

    def cell_of(request):
        return validation.cell_name(request.path_params['cell'], backend.cells)

    @endpoint(auth.READ)
    async def cells(request):
        now = backend.now_s()
        return Json({'cells': [view.summary(now) for view in backend.cells.values()]})

    @endpoint(auth.READ)
    async def cell(request):
        return Json(backend.cells[cell_of(request)].summary(backend.now_s()))

    @endpoint(auth.READ)
    async def state(request):
        view = backend.cells[cell_of(request)]
        now = backend.now_s()
        return Json({'cell': view.name, 'state': view.state,
                     'gate': explain_gate(view.state, now, estop=backend.estop_view())})

    @endpoint(auth.READ)
    async def gate(request):
        view = backend.cells[cell_of(request)]
        return Json(explain_gate(view.state, backend.now_s(), estop=backend.estop_view()))

    @endpoint(auth.READ)
    async def recent(request):
        view = backend.cells[cell_of(request)]
        params = dict(request.query_params)
        unknown = set(params) - {'last'}
        if unknown:
            raise validation.BadRequest(400, f'unknown query parameters {sorted(unknown)}')
        last = validation.number(params.get('last', 30), 'last', 0.0, 3600.0)
        return Json({'cell': view.name, 'states': view.recent(last, backend.now_s())})

    @endpoint(auth.READ)
    async def history(request):
        name = cell_of(request)
        start, end, limit, kind, transducer, newest = validation.time_range(
            dict(request.query_params), backend.now_s())
        result = await backend.query(name, kind, start, end, limit, transducer, newest)
        return Json(result)

    @endpoint(auth.READ)
    async def reconstruct(request):
        name = cell_of(request)
        params = dict(request.query_params)
        if set(params) != {'t'}:
            raise validation.BadRequest(400, 'give exactly one query parameter: t (seconds '
                                        'since the epoch)')
        t = validation.number(params['t'], 't', 0.0, 1e11)
        return Json(await backend.reconstruct(name, t))

    @endpoint(auth.READ)
    async def witness(request):
        view = backend.cells[cell_of(request)]
        summary = view.summary(backend.now_s())
        return Json({'cell': view.name, 'health': summary['witness'],
                     'events': list(view.events)})

    @endpoint(auth.READ)
    async def verify(request):
        name = cell_of(request)
        start, end, limit, _, _, _ = validation.time_range(
            {'limit': 10000, **dict(request.query_params), 'kind': 'witness'}, backend.now_s(),
            default_window_s=300.0)
        return Json(await backend.verify_witness(name, start, end, limit))

    @endpoint(auth.READ)
    async def mesh(request):
        return Json({'cells': {name: view.mesh for name, view in backend.cells.items()}})

    @endpoint(auth.READ)
    async def estop(request):
        return Json(backend.estop_view())

    @endpoint(auth.CONTROL)
    async def estop_command(request):
        body = validation.parse_json(await read_body(request, max_body_bytes), max_body_bytes)
        if set(body) - {'engage', 'source'} or not isinstance(body.get('engage'), bool):
            raise validation.BadRequest(422, 'body: {"engage": true} (release: false)')
        if not body['engage'] and not allow_release:
            raise auth.Denied(403, 'releasing the e-stop is not allowed through the gateway '
                              '(allow_release is false): release it as an operator with '
                              'mesh_estop release')
        source = body.get('source', 'gateway')
        if not isinstance(source, str) or not validation.SOURCE_PATTERN.match(source):
            raise validation.BadRequest(422, 'source must be 1-64 letters, digits, _ . -')
        return Json(await backend.command_estop(body['engage'], source))

    @endpoint(auth.INPUT)
    async def phase(request):
        name = cell_of(request)
        body = validation.parse_json(await read_body(request, max_body_bytes), max_body_bytes)
        fields = validation.phase_input(body, backend.now_s())
        return Json(await backend.publish_phase(name, fields), status_code=202)

    @endpoint(auth.INPUT)
    async def scalar(request):
        name = cell_of(request)
        body = validation.parse_json(await read_body(request, max_body_bytes), max_body_bytes)
        fields, clipped = validation.scalar_input(body, backend.now_s())
        result = await backend.publish_phase(name, fields)
        result['clipped'] = clipped
        return Json(result, status_code=202)

    def node_of(request):
        node = request.path_params['node']
        if not validation.SOURCE_PATTERN.match(node) or '.' in node or '-' in node:
            raise validation.BadRequest(404, 'not a node name')
        return node

    @endpoint(auth.READ)
    async def parameters(request):
        name, node = cell_of(request), node_of(request)
        names = validation.parameter_names(dict(request.query_params))
        return Json(await backend.get_parameters(name, node, names))

    @endpoint(auth.CONTROL)
    async def set_parameters(request):
        name, node = cell_of(request), node_of(request)
        body = validation.parse_json(await read_body(request, max_body_bytes), max_body_bytes)
        return Json(await backend.set_parameters(name, node, validation.parameter_values(body)))

    @endpoint(auth.READ)
    async def gateway(request):
        return Json(backend.gateway_view())

    async def index(request):
        return Json({'api': API, 'version': 1, 'openapi': f'{API}/openapi.json',
                     'stream': f'{API}/stream', 'dashboard': '/'})

    async def openapi_document(request):
        return Json(openapi.document())

    async def health(request):
        return Json({'ok': True})

    async def stream(websocket: WebSocket):
        await serve_stream(websocket, backend)

    async def dashboard(request):
        if web_dir is None:
            return error(404, 'no dashboard installed')
        return FileResponse(os.path.join(web_dir, 'index.html'))

    routes = [
        Route(f'{API}', index),
        Route(f'{API}/openapi.json', openapi_document),
        Route(f'{API}/health', health),
        Route(f'{API}/gateway', gateway),
        Route(f'{API}/cells', cells),
        Route(f'{API}/cells/{{cell:path}}/state', state),
        Route(f'{API}/cells/{{cell:path}}/gate', gate),
        Route(f'{API}/cells/{{cell:path}}/recent', recent),
        Route(f'{API}/cells/{{cell:path}}/history', history),
        Route(f'{API}/cells/{{cell:path}}/reconstruct', reconstruct),
        Route(f'{API}/cells/{{cell:path}}/witness/verify', verify),
        Route(f'{API}/cells/{{cell:path}}/witness', witness),
        Route(f'{API}/cells/{{cell:path}}/nodes/{{node}}/parameters', parameters),
        Route(f'{API}/cells/{{cell:path}}/nodes/{{node}}/parameters', set_parameters,
              methods=['PUT']),
        Route(f'{API}/cells/{{cell:path}}/phase', phase, methods=['POST']),
        Route(f'{API}/cells/{{cell:path}}/scalar', scalar, methods=['POST']),
        Route(f'{API}/cells/{{cell:path}}', cell),
        Route(f'{API}/mesh', mesh),
        Route(f'{API}/estop', estop),
        Route(f'{API}/estop', estop_command, methods=['POST']),
        WebSocketRoute(f'{API}/stream', stream),
        Route('/', dashboard),
        Route('/index.html', lambda request: RedirectResponse('/')),
    ]
    if web_dir is not None:
        routes.append(Mount('/static', StaticFiles(directory=web_dir, follow_symlink=True)))
    if vendor_dir is not None and os.path.isdir(vendor_dir):
        routes.append(Mount('/vendor', StaticFiles(directory=vendor_dir, follow_symlink=True)))

    async def http_error(request, exc):
        return error(exc.status_code, exc.detail or 'error')

    async def internal(request, exc):  # a bug: say so without a traceback to the client
        return error(500, f'internal error: {type(exc).__name__}')

    return Starlette(routes=routes, exception_handlers={HTTPException: http_error,
                                                        Exception: internal})


async def serve_stream(websocket, backend):
    """
    Serve one WebSocket client: auth, a subscription message, then frames from its queue.

    The client offers subprotocols ``becomingone.v1`` and ``bearer.<token>`` (or sends an
    Authorization header). At once it gets a ``hello`` and the latest state of every cell
    (late subscribers never wait for the next change); then frames at its chosen rate. It may
    send ``{"subscribe": [...], "rate_hz": r, "kinds": [...]}`` at any time.
    """
    protocols = websocket.scope.get('subprotocols', [])
    token = auth.websocket_token(protocols) or auth.bearer_token(
        websocket.headers.get('authorization', ''))
    try:
        backend.tokens.authorize(token, auth.READ)
    except auth.Denied as denied:
        # 1008 policy violation; browsers see a failed handshake for a close before accept.
        await websocket.close(code=1008, reason=denied.message[:120])
        return
    subprotocol = auth.WS_PROTOCOL if auth.WS_PROTOCOL in protocols else None
    await websocket.accept(subprotocol=subprotocol)
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()

    def wake():
        loop.call_soon_threadsafe(ready.set)

    client_id, queue = backend.hub.connect(wake=wake, rate_hz=min(10.0, backend.source_rate_hz))
    try:
        now = backend.now_s()
        hello = {'type': 'hello', 'client': client_id, 'cells': sorted(backend.cells),
                 'source_rate_hz': backend.source_rate_hz, 'queue_depth': queue.depth}
        await websocket.send_text(dumps(hello))
        await _send_latest(websocket, backend, None, now)
        receiver = asyncio.ensure_future(_receive(websocket, backend, queue))
        while not receiver.done():
            waiter = asyncio.ensure_future(ready.wait())
            done, _ = await asyncio.wait({waiter, receiver},
                                         return_when=asyncio.FIRST_COMPLETED)
            if waiter not in done:
                waiter.cancel()
                break
            ready.clear()
            for frame in queue.take_all():
                await websocket.send_text(frame)
                queue.sent += 1
        if receiver.done() and not receiver.cancelled() and receiver.exception() is None:
            reason = receiver.result()
            if reason:
                await websocket.close(code=1003, reason=reason[:120])
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        backend.hub.disconnect(client_id)


async def _send_latest(websocket, backend, cells, now):
    for name, view in backend.cells.items():
        if cells is not None and name not in cells:
            continue
        if view.state is not None:
            await websocket.send_text(dumps({'type': 'state', 'latest': True, **view.state}))
        if view.mesh is not None:
            await websocket.send_text(dumps({'type': 'mesh', **view.mesh}))
    await websocket.send_text(dumps({'type': 'estop', **backend.estop_view()}))


async def _receive(websocket, backend, queue):
    """Read subscription messages until the client leaves; return a close reason or ''."""
    while True:
        try:
            text = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError, KeyError):
            return ''
        try:
            message = validation.parse_json(text.encode('utf-8'), 64 * 1024)
            cells, rate, kinds = validation.stream_request(message, backend.source_rate_hz)
            if cells is not None:
                for name in cells:
                    validation.cell_name(name, backend.cells)
        except validation.BadRequest as bad:
            await websocket.send_text(dumps({'type': 'error', 'status': bad.status,
                                             'error': bad.message}))
            continue
        queue.configure(None if cells is None else frozenset(cells), rate, kinds)
        await websocket.send_text(dumps({'type': 'subscribed', 'cells': cells,
                                         'rate_hz': rate, 'kinds': sorted(kinds)}))
        await _send_latest(websocket, backend, cells, backend.now_s())
