"""
A client speaking the Foxglove WebSocket protocol subscribes to a live cell's state channel.

The client offers ``foxglove.websocket.v1`` and its successor ``foxglove.sdk.v1`` (the same
messages: JSON ``serverInfo``/``advertise``/``subscribe``, binary ``messageData``);
foxglove-sdk 0.30 accepts only the latter, older servers the former. A second client uses
the Parameters capability: ``getParameters``/``setParameters`` of ``/root/sync.threshold``
answered through the sync node's own parameter services (its range check refuses 1.5).
"""

import asyncio
import json
import re
import struct
import time

from becomingone_api import foxglove_live
from gateway_fixture import client, env, Gateway, start_cell, write_tokens
import pytest
import websockets

MISSING = foxglove_live.available()
PROTOCOLS = ['foxglove.websocket.v1', 'foxglove.sdk.v1']
FOXGLOVE = re.compile(r'foxglove server at (ws://[0-9.]+:\d+)')


async def _state_messages(url, count):
    async with websockets.connect(url, subprotocols=PROTOCOLS) as ws:
        assert ws.subprotocol in PROTOCOLS
        channels, info = {}, None
        while 'root/state' not in {c['topic'].strip('/') for c in channels.values()}:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame['op'] == 'serverInfo':
                info = frame
            elif frame['op'] == 'advertise':
                channels.update({c['id']: c for c in frame['channels']})
        assert info is not None and info['name'] == 'becomingone'
        assert {c['topic'] for c in channels.values()} == {
            '/root/state', '/root/resonance', '/root/mesh', '/root/witness'}
        state = next(c for c in channels.values() if c['topic'] == '/root/state')
        assert state['encoding'] == 'json' and state['schemaEncoding'] == 'jsonschema'
        assert 'coherence' in json.loads(state['schema'])['properties']
        await ws.send(json.dumps({'op': 'subscribe', 'subscriptions': [
            {'id': 7, 'channelId': state['id']}]}))
        messages = []
        while len(messages) < count:
            frame = await asyncio.wait_for(ws.recv(), 10)
            if isinstance(frame, str):
                continue  # status or further advertisements
            opcode, subscription, log_time = struct.unpack_from('<BIQ', frame)
            assert opcode == 1 and subscription == 7  # messageData of our subscription
            messages.append((log_time, json.loads(frame[13:])))
        return messages


@pytest.mark.skipif(bool(MISSING), reason=MISSING or 'foxglove-sdk is installed')
def test_a_foxglove_client_decodes_live_state_messages(tmp_path):
    tokens_file, _ = write_tokens(str(tmp_path))
    ros_env = env()
    cell = start_cell(ros_env)
    gateway = Gateway(ros_env, tokens_file, ['-p', 'foxglove_port:=0'])
    try:
        match = FOXGLOVE.search(gateway.process.output())
        assert match, gateway.process.output()
        messages = asyncio.run(_state_messages(match.group(1), 10))
        stamps = [m['stamp'] for _, m in messages]
        assert stamps == sorted(stamps) and stamps[-1] > stamps[0]  # live, not one replay
        for log_time, message in messages:
            assert message['cell'] == 'root' and 0.0 <= message['coherence'] <= 1.0
            assert set(message['T_sync']) == {'re', 'im', 'abs', 'arg'}
            assert abs(log_time / 1e9 - message['stamp']) < 1e-6  # logged at its own stamp
    finally:
        assert gateway.stop() == 0, gateway.process.output()
        for process in cell:
            process.stop()


THRESHOLD = '/root/sync.threshold'


async def _parameter_values(ws, request, statuses):
    """Send ``request`` (with an id) and return the server's ``parameterValues`` for it."""
    await ws.send(json.dumps(request))
    while True:
        frame = await asyncio.wait_for(ws.recv(), 10)
        if not isinstance(frame, str):
            continue
        frame = json.loads(frame)
        if frame['op'] == 'status':
            statuses.append(frame)
        elif frame['op'] == 'parameterValues' and frame.get('id') == request['id']:
            return {p['name']: p for p in frame['parameters']}


async def _parameters_session(url, rest):
    statuses = []
    async with websockets.connect(url, subprotocols=['foxglove.sdk.v1']) as ws:
        info = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert info['op'] == 'serverInfo' and 'parameters' in info['capabilities'], info
        deadline, got = time.monotonic() + 30, {}
        while THRESHOLD not in got:  # until the gateway has discovered the sync node
            assert time.monotonic() < deadline, statuses
            got = await _parameter_values(ws, {'op': 'getParameters', 'id': 'get',
                                               'parameterNames': [THRESHOLD]}, statuses)
            await asyncio.sleep(0.2)
        before = got[THRESHOLD]['value']
        assert isinstance(before, float) and 0.0 < before <= 1.0, got
        everything = await _parameter_values(
            ws, {'op': 'getParameters', 'id': 'all', 'parameterNames': []}, statuses)
        assert {THRESHOLD, '/root/sync.hysteresis'} <= set(everything)
        assert any(name.startswith('/root/master.') for name in everything), everything
        target = 0.9 if abs(before - 0.9) > 1e-9 else 0.8
        changed = await _parameter_values(ws, {'op': 'setParameters', 'id': 'set', 'parameters': [
            {'name': THRESHOLD, 'value': target, 'type': 'float64'}]}, statuses)
        assert changed[THRESHOLD]['value'] == target, (changed, statuses)
        assert rest(target), 'the node did not take the value'
        refused = await _parameter_values(ws, {'op': 'setParameters', 'id': 'bad', 'parameters': [
            {'name': THRESHOLD, 'value': 1.5, 'type': 'float64'}]}, statuses)
        assert refused[THRESHOLD]['value'] == target, refused  # the node's value stays
        deadline = time.monotonic() + 5
        while not any('out of range' in s['message'] for s in statuses):
            assert time.monotonic() < deadline, statuses
            await _parameter_values(ws, {'op': 'getParameters', 'id': 'more',
                                         'parameterNames': [THRESHOLD]}, statuses)
        assert rest(target)
        await _parameter_values(ws, {'op': 'setParameters', 'id': 'back', 'parameters': [
            {'name': THRESHOLD, 'value': before, 'type': 'float64'}]}, statuses)
        return [s['message'] for s in statuses]


@pytest.mark.skipif(bool(MISSING), reason=MISSING or 'foxglove-sdk is installed')
def test_foxglove_parameters_go_through_the_nodes_own_services(tmp_path):
    tokens_file, tokens = write_tokens(str(tmp_path))
    ros_env = env()
    cell = start_cell(ros_env)
    gateway = Gateway(ros_env, tokens_file, ['-p', 'foxglove_port:=0',
                                             '-p', 'service_timeout_s:=3.0'])
    try:
        match = FOXGLOVE.search(gateway.process.output())
        assert match, gateway.process.output()
        with client(gateway.url, tokens['read']) as http:
            def rest(value):
                """Tell whether the node itself holds ``value`` (get_parameters over DDS)."""
                answer = http.get('/api/v1/cells/root/nodes/sync/parameters',
                                  params={'names': 'threshold'}).json()
                deadline = time.monotonic() + 10
                state = http.get('/api/v1/cells/root/state').json()['state']
                while state['threshold'] != value and time.monotonic() < deadline:
                    time.sleep(0.1)  # and its SyncState says so
                    state = http.get('/api/v1/cells/root/state').json()['state']
                return answer['parameters'][0]['value'] == value == state['threshold']

            statuses = asyncio.run(_parameters_session(match.group(1), rest))
        refusal = next(s for s in statuses if 'out of range' in s)
        assert 'sync refused' in refusal and 'threshold' in refusal, statuses
        assert 'foxglove parameters: /root/sync refused' in gateway.process.output()
    finally:
        assert gateway.stop() == 0, gateway.process.output()
        for process in cell:
            process.stop()


@pytest.mark.skipif(bool(MISSING), reason=MISSING or 'foxglove-sdk is installed')
def test_the_parameter_bridge_never_waits_beyond_its_deadline():
    class Hung:
        async def get_parameters(self, cell, node, names):
            await asyncio.sleep(30)

        set_parameters = get_parameters

    split = foxglove_live.split_parameter_name
    assert split('/a/b/sync.qos.depth') == ('a/b', 'sync', 'qos.depth')
    assert split('/root/sync') is None
    warnings = []
    bridge = foxglove_live.ParameterBridge(Hung(), ['root'], ['sync'], 0.3,
                                           log=warnings.append)
    try:
        for call in (lambda: bridge.read([THRESHOLD]), lambda: bridge.read([]),
                     lambda: bridge.write([(THRESHOLD, 0.5)])):
            start = time.monotonic()
            assert call() == []
            assert time.monotonic() - start < 0.45
        assert bridge.read(['/nowhere/sync.threshold']) == []
        assert any('not /<cell>/<node>.<parameter>' in w for w in warnings), warnings
    finally:
        bridge.stop()
