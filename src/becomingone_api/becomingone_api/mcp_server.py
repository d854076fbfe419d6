"""
``becomingone-mcp``: BecomingONE for agents, over the official MCP SDK (no rclpy).

    becomingone-mcp --gateway http://127.0.0.1:8080 --token-file ~/.ros/agent-token
    becomingone-mcp --transport http --port 8765 --tokens-file tokens   # loopback + bearer

The server is a client of the gateway's REST API with its own token, so an agent can do
exactly what that token's scopes allow and nothing more. Tools are read-only by default
(annotated ``readOnlyHint``); ``engage_estop`` is always offered, since stopping is fail-safe;
tools that could make an actuator move (``release_estop``, ``send_phase``: inputs that can
drive a collapse) are refused unless ``--allow-actuation`` is given, and even then pass the
gateway's own scopes, validation and rate limits (annotated ``destructiveHint``).
"""

import argparse
import sys

from becomingone_api import auth
from becomingone_api.server import is_loopback
import httpx
from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

READ_ONLY = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True,
                            openWorldHint=False)
STOP = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True,
                       openWorldHint=False)
ACTUATING = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=False,
                            openWorldHint=False)


class ActuationRefused(Exception):
    """An actuating tool called while actuation is not enabled."""


def create_server(gateway_url, token, allow_actuation=False, verify=True, timeout_s=5.0):
    """Return a FastMCP server whose tools call the gateway at ``gateway_url``."""
    server = FastMCP('becomingone', instructions=(
        'BecomingONE cells: coherence, the collapse gate, history, the witness chain and '
        'the mesh e-stop. Read-only unless the operator enabled actuation.'))
    headers = {'Authorization': f'Bearer {token}'}

    async def call(method, path, **kwargs):
        async with httpx.AsyncClient(base_url=gateway_url, headers=headers, verify=verify,
                                     timeout=timeout_s) as client:
            response = await client.request(method, '/api/v1' + path, **kwargs)
        body = response.json()
        if response.status_code >= 400:
            raise ValueError(f'gateway refused ({response.status_code}): {body.get("error")}')
        return body

    def refuse_unless_enabled(what):
        if not allow_actuation:
            raise ActuationRefused(f'{what} can make an actuator move and is disabled '
                                   '(start becomingone-mcp with --allow-actuation)')

    @server.tool(annotations=READ_ONLY)
    async def list_cells() -> dict:
        """List the cells the gateway serves, with each one's latest state."""
        body = await call('GET', '/cells')
        return {'cells': [{'cell': c['cell'], 'state': c['state']} for c in body['cells']]}

    @server.tool(annotations=READ_ONLY)
    async def get_state(cell: str) -> dict:
        """Return a cell's latest sync state (coherence, T_m, T_e, collapsed) and its gate."""
        return await call('GET', f'/cells/{cell}/state')

    @server.tool(annotations=READ_ONLY)
    async def query_history(cell: str, last_s: float = 60.0, kind: str = 'sync',
                            limit: int = 200) -> dict:
        """Query a cell's memory for the last ``last_s`` seconds (sync, resonance, witness)."""
        return await call('GET', f'/cells/{cell}/history',
                          params={'last': last_s, 'kind': kind, 'limit': limit})

    @server.tool(annotations=READ_ONLY)
    async def reconstruct(cell: str, t: float) -> dict:
        """Return the cell's state at time ``t`` (seconds since the epoch) from memory."""
        return await call('GET', f'/cells/{cell}/reconstruct', params={'t': t})

    @server.tool(annotations=READ_ONLY)
    async def verify_witness(cell: str, last_s: float = 300.0) -> dict:
        """Verify the stored witness hash chain of a cell over the last ``last_s`` seconds."""
        return await call('GET', f'/cells/{cell}/witness/verify', params={'last': last_s})

    @server.tool(annotations=READ_ONLY)
    async def explain_gate(cell: str) -> dict:
        """Explain in words why the cell's gate (collapse) is open or closed right now."""
        return await call('GET', f'/cells/{cell}/gate')

    @server.tool(annotations=STOP)
    async def engage_estop(reason: str = 'agent') -> dict:
        """Engage the mesh-wide e-stop: every cell's motion output stops (fail-safe)."""
        source = ''.join(c for c in reason if c.isalnum() or c in '_.-')[:64] or 'agent'
        return await call('POST', '/estop', json={'engage': True, 'source': source})

    @server.tool(annotations=ACTUATING)
    async def release_estop() -> dict:
        """Release the mesh e-stop (motion may resume). Disabled unless actuation is enabled."""
        refuse_unless_enabled('release_estop')
        return await call('POST', '/estop', json={'engage': False, 'source': 'agent'})

    @server.tool(annotations=ACTUATING)
    async def send_phase(cell: str, real: list[float], imag: list[float]) -> dict:
        """Publish one phase sample into a cell. Disabled unless actuation is enabled."""
        refuse_unless_enabled('send_phase')
        return await call('POST', f'/cells/{cell}/phase',
                          json={'real': real, 'imag': imag, 'source': 'agent'})

    return server


class BearerGuard:
    """ASGI middleware: every request needs a bearer token with the ``read`` scope."""

    def __init__(self, app, tokens):
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope, receive, send):
        if scope['type'] == 'http':
            header = dict(scope.get('headers') or []).get(b'authorization', b'').decode(
                'latin-1')
            try:
                self.tokens.authorize(auth.bearer_token(header), auth.READ)
            except auth.Denied as denied:
                body = ('{"error": "%s"}' % denied.message).encode()
                await send({'type': 'http.response.start', 'status': denied.status,
                            'headers': [(b'content-type', b'application/json'),
                                        (b'www-authenticate', b'Bearer')]})
                await send({'type': 'http.response.body', 'body': body})
                return
        await self.app(scope, receive, send)


def _read_token(path):
    auth.check_private(path)
    with open(path, encoding='utf-8') as stream:
        return stream.read().split()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(prog='becomingone-mcp', description=__doc__.split('\n')[1])
    parser.add_argument('--gateway', default='http://127.0.0.1:8080')
    parser.add_argument('--token-file', required=True,
                        help='file (0600) whose first word is the gateway token')
    parser.add_argument('--ca-file', default='', help='CA to trust for an https gateway')
    parser.add_argument('--allow-actuation', action='store_true',
                        help='enable release_estop and send_phase')
    parser.add_argument('--transport', choices=['stdio', 'http'], default='stdio')
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8765)
    parser.add_argument('--tokens-file', default='',
                        help='HTTP transport: bearer tokens (auth module format) of MCP clients')
    args = parser.parse_args(argv)
    try:
        token = _read_token(args.token_file)
    except (OSError, IndexError, auth.TokenFileError) as error:
        parser.exit(2, f'becomingone-mcp: token file {args.token_file}: {error}\n')
    server = create_server(args.gateway, token, args.allow_actuation,
                           verify=args.ca_file or True)
    if args.transport == 'stdio':
        server.run('stdio')
        return 0
    if not is_loopback(args.host):
        parser.exit(2, 'becomingone-mcp: the HTTP transport listens on loopback only\n')
    if not args.tokens_file:
        parser.exit(2, 'becomingone-mcp: the HTTP transport needs --tokens-file\n')
    import uvicorn
    app = BearerGuard(server.streamable_http_app(), auth.load_tokens(args.tokens_file))
    uvicorn.run(app, host=args.host, port=args.port, log_level='warning')
    return 0


if __name__ == '__main__':
    sys.exit(main())
