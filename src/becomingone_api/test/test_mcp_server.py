"""The MCP server through the SDK's in-memory client, a stdio and a streamable HTTP client."""

import asyncio
import json
import os

from becomingone_api.mcp_server import create_server
from becomingone_core.testing.processes import executable, free_port, NodeProcess, wait_until
from gateway_fixture import client, env, Gateway, start_cell, write_tokens
import httpx
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import LATEST_PROTOCOL_VERSION
import pytest

READ_ONLY = {'list_cells', 'get_state', 'query_history', 'reconstruct', 'verify_witness',
             'explain_gate'}
ACTUATING = {'release_estop', 'send_phase'}


@pytest.fixture(scope='module')
def gateway(tmp_path_factory):
    directory = tmp_path_factory.mktemp('mcp')
    tokens_file, tokens = write_tokens(str(directory))
    ros_env = env()
    cell = start_cell(ros_env, memory_path=str(directory / 'cell.sqlite3'))
    running = Gateway(ros_env, tokens_file, ['-p', 'allow_release:=true'])
    with client(running.url, tokens['read']) as http:
        assert wait_until(lambda: http.get('/api/v1/cells/root/history', params={
            'last': 30}).status_code == 200 and http.get('/api/v1/cells/root/state').json()[
            'state'], 30), running.process.output()
    yield running, tokens, directory
    running.stop()
    for process in cell:
        process.stop()


def _payload(result):
    assert not result.isError, result.content
    return json.loads(result.content[0].text)


def test_tools_in_memory_read_only_by_default(gateway):
    running, tokens, _ = gateway
    server = create_server(running.url, tokens['all'])

    async def scenario():
        async with create_connected_server_and_client_session(server._mcp_server) as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert set(tools) == READ_ONLY | ACTUATING | {'engage_estop'}
            for name in READ_ONLY:
                assert tools[name].annotations.readOnlyHint, name
            for name in ACTUATING:
                assert tools[name].annotations.destructiveHint, name
            assert not tools['engage_estop'].annotations.destructiveHint
            cells = _payload(await session.call_tool('list_cells', {}))
            assert cells['cells'][0]['cell'] == 'root'
            state = _payload(await session.call_tool('get_state', {'cell': 'root'}))
            assert 0 <= state['state']['coherence'] <= 1
            history = _payload(await session.call_tool('query_history', {
                'cell': 'root', 'last_s': 30, 'limit': 3}))
            assert len(history['records']) == 3
            rebuilt = _payload(await session.call_tool('reconstruct', {
                'cell': 'root', 't': history['records'][-1]['stamp']}))
            assert rebuilt['known']
            verified = _payload(await session.call_tool('verify_witness', {'cell': 'root'}))
            assert verified['ok']
            gate = _payload(await session.call_tool('explain_gate', {'cell': 'root'}))
            assert 'gate is' in gate['text']
            unknown = await session.call_tool('get_state', {'cell': 'nowhere'})
            assert unknown.isError and '404' in unknown.content[0].text
            for name, arguments in (('release_estop', {}),
                                    ('send_phase', {'cell': 'root', 'real': [1.0],
                                                    'imag': [0.0]})):
                refused = await session.call_tool(name, arguments)
                assert refused.isError and 'disabled' in refused.content[0].text
            engaged = _payload(await session.call_tool('engage_estop', {'reason': 'mcp test'}))
            assert engaged['engaged'] and engaged['engaged_by'] == 'mcptest'

    asyncio.run(scenario())


def test_actuation_enabled_still_passes_the_gateway_scopes(gateway):
    running, tokens, _ = gateway

    async def scenario():
        reader = create_server(running.url, tokens['read'], allow_actuation=True)
        async with create_connected_server_and_client_session(reader._mcp_server) as session:
            refused = await session.call_tool('send_phase', {'cell': 'root', 'real': [1.0],
                                                             'imag': [0.0]})
            assert refused.isError and '403' in refused.content[0].text
        operator = create_server(running.url, tokens['all'], allow_actuation=True)
        async with create_connected_server_and_client_session(operator._mcp_server) as session:
            sent = _payload(await session.call_tool('send_phase', {
                'cell': 'root', 'real': [1.0], 'imag': [0.0]}))
            assert sent['published']
            released = _payload(await session.call_tool('release_estop', {}))
            assert not released['engaged']

    asyncio.run(scenario())


def test_stdio_subprocess_client(gateway):
    running, tokens, directory = gateway
    token_file = directory / 'agent-token'
    token_file.write_text(tokens['read'] + '\n')
    token_file.chmod(0o600)
    parameters = StdioServerParameters(
        command=executable('becomingone_api', 'becomingone-mcp'),
        args=['--gateway', running.url, '--token-file', str(token_file)],
        env=dict(os.environ))

    async def scenario():
        async with stdio_client(parameters) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                names = {tool.name for tool in (await session.list_tools()).tools}
                assert READ_ONLY <= names
                gate = _payload(await session.call_tool('explain_gate', {'cell': 'root'}))
                assert gate['reason']
                refused = await session.call_tool('send_phase', {'cell': 'root', 'real': [1.0],
                                                                 'imag': [0.0]})
                assert refused.isError and 'disabled' in refused.content[0].text
                stop = await session.call_tool('engage_estop', {})
                assert stop.isError and '403' in stop.content[0].text  # a read-only token

    asyncio.run(scenario())


def test_streamable_http_transport_with_bearer_tokens(gateway):
    running, tokens, directory = gateway
    token_file = directory / 'http-agent-token'
    token_file.write_text(tokens['all'] + '\n')  # the gateway would allow actuation ...
    token_file.chmod(0o600)
    mcp_directory = directory / 'mcp-clients'
    mcp_directory.mkdir()
    mcp_tokens_file, mcp_tokens = write_tokens(str(mcp_directory))
    assert os.stat(mcp_tokens_file).st_mode & 0o777 == 0o600
    port = free_port()
    url = f'http://127.0.0.1:{port}/mcp'
    server = NodeProcess([
        executable('becomingone_api', 'becomingone-mcp'), '--gateway', running.url,
        '--token-file', str(token_file), '--transport', 'http', '--port', str(port),
        '--tokens-file', mcp_tokens_file], dict(os.environ))
    initialize = {'jsonrpc': '2.0', 'id': 1, 'method': 'initialize', 'params': {
        'protocolVersion': LATEST_PROTOCOL_VERSION, 'capabilities': {},
        'clientInfo': {'name': 'test', 'version': '0'}}}
    accept = {'Accept': 'application/json, text/event-stream'}

    def post(headers):
        return httpx.post(url, json=initialize, headers={**accept, **headers}, timeout=5.0)

    def listening():
        try:
            return post({}).status_code
        except httpx.TransportError:
            return not server.running and 'exited'

    try:
        assert wait_until(listening, 30) == 401, server.output()
        # Refused before the MCP layer sees anything: no token, an unknown one, or one without
        # the read scope.
        for headers, status in (({}, 401), ({'Authorization': 'Bearer ' + 'x' * 32}, 401),
                                ({'Authorization': 'Basic ' + mcp_tokens['read']}, 401),
                                ({'Authorization': 'Bearer ' + mcp_tokens['input']}, 403)):
            refused = post(headers)
            assert refused.status_code == status, (headers, refused.text)
            assert refused.json()['error'] and 'Bearer' in refused.headers['www-authenticate']

        async def scenario():
            async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=30.0), headers={
                    'Authorization': 'Bearer ' + mcp_tokens['read']}) as http:
                async with streamable_http_client(url, http_client=http) as (read, write, _):
                    async with ClientSession(read, write) as session:
                        await session.initialize()
                        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
                        assert set(tools) == READ_ONLY | ACTUATING | {'engage_estop'}
                        for name in READ_ONLY:
                            assert tools[name].annotations.readOnlyHint, name
                            assert not tools[name].annotations.destructiveHint, name
                        for name in ACTUATING:
                            assert not tools[name].annotations.readOnlyHint, name
                            assert tools[name].annotations.destructiveHint, name
                        assert not tools['engage_estop'].annotations.readOnlyHint
                        assert not tools['engage_estop'].annotations.destructiveHint
                        state = _payload(await session.call_tool('get_state', {'cell': 'root'}))
                        assert 0 <= state['state']['coherence'] <= 1
                        gate = _payload(await session.call_tool('explain_gate',
                                                                {'cell': 'root'}))
                        assert 'gate is' in gate['text']
                        # ... but the MCP server refuses it: no --allow-actuation.
                        for name, arguments in (('release_estop', {}),
                                                ('send_phase', {'cell': 'root', 'real': [1.0],
                                                                'imag': [0.0]})):
                            refused = await session.call_tool(name, arguments)
                            assert refused.isError and 'disabled' in refused.content[0].text

        asyncio.run(asyncio.wait_for(scenario(), 60))
        assert server.running, server.output()
    finally:
        server.stop()
