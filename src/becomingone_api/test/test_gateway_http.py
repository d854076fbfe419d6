"""The gateway on a real cell over real DDS, with real HTTP and WebSocket clients."""

import asyncio
import json
import time

from becomingone_core.testing.processes import wait_until
from gateway_fixture import client, env, Gateway, start_cell, write_tokens
import pytest
import websockets


@pytest.fixture(scope='module')
def running(tmp_path_factory):
    directory = tmp_path_factory.mktemp('gateway')
    tokens_file, tokens = write_tokens(str(directory))
    ros_env = env()
    cell = start_cell(ros_env, memory_path=str(directory / 'cell.sqlite3'))
    gateway = Gateway(ros_env, tokens_file)
    with client(gateway.url, tokens['read']) as http:
        assert wait_until(lambda: http.get('/api/v1/cells/root/state').json()['state'], 30), \
            gateway.process.output()
    yield gateway, tokens
    assert gateway.stop() == 0, gateway.process.output()
    for process in cell:
        process.stop()


def test_state_cells_gate_recent_and_openapi(running):
    gateway, tokens = running
    with client(gateway.url, tokens['read']) as http:
        index = http.get('/api/v1').json()
        assert index['openapi'] == '/api/v1/openapi.json'
        document = http.get('/api/v1/openapi.json').json()
        assert document['openapi'].startswith('3.') and '/api/v1/cells/{cell}/history' in \
            document['paths']
        cells = http.get('/api/v1/cells').json()['cells']
        assert [c['cell'] for c in cells] == ['root']
        first = http.get('/api/v1/cells/root/state').json()['state']
        assert 0.0 <= first['coherence'] <= 1.0
        assert set(first['T_m']) == {'re', 'im', 'abs', 'arg'}
        assert wait_until(lambda: http.get('/api/v1/cells/root/state').json()['state'][
            'stamp'] > first['stamp'], 5)
        gate = http.get('/api/v1/cells/root/gate').json()
        assert gate['reason'] in ('above_threshold', 'hysteresis', 'below_threshold')
        assert 'I_c' in gate['text']
        recent = http.get('/api/v1/cells/root/recent', params={'last': 5}).json()['states']
        assert len(recent) > 3
        one = http.get('/api/v1/cells/root').json()
        assert one['resonance'].keys() == {'master', 'emissary'}
        assert one['witness']['level'] in ('ok', 'warn')
        assert http.get('/api/v1/gateway').json()['cells'] == ['root']
        assert http.get('/api/v1/mesh').json() == {'cells': {'root': None}}
        assert http.get('/api/v1/health').json() == {'ok': True}


def test_history_reconstruct_and_witness_verification_through_the_memory(running):
    gateway, tokens = running
    with client(gateway.url, tokens['read']) as http:
        assert wait_until(lambda: http.get('/api/v1/cells/root/history', params={
            'last': 30}).json().get('records'), 20)
        history = http.get('/api/v1/cells/root/history', params={'last': 30, 'limit': 5})
        assert history.status_code == 200, history.text
        body = history.json()
        assert len(body['records']) == 5 and body['truncated']
        stamp = body['records'][-1]['stamp']
        for kind in ('resonance', 'witness'):
            result = http.get('/api/v1/cells/root/history', params={'last': 30, 'kind': kind})
            assert result.status_code == 200 and result.json()['records'], result.text
        rebuilt = http.get('/api/v1/cells/root/reconstruct', params={'t': stamp}).json()
        assert rebuilt['known'] and abs(rebuilt['nearest_stamp'] - stamp) < 1.0
        verified = http.get('/api/v1/cells/root/witness/verify', params={'last': 60}).json()
        assert verified['ok'] and verified['records'] > 10, verified
        assert wait_until(lambda: any(
            e['event'] == 'collapse' for e in http.get('/api/v1/cells/root/witness').json()[
                'events']), 20)


def test_scopes_and_tokens(running):
    gateway, tokens = running
    with client(gateway.url) as anonymous:
        assert anonymous.get('/api/v1/cells').status_code == 401
        assert anonymous.get('/api/v1/cells').headers['www-authenticate'] == 'Bearer'
    with client(gateway.url, 'x' * 40) as stranger:
        assert stranger.get('/api/v1/cells').json()['error'] == 'unknown token'
    with client(gateway.url, tokens['input']) as sensor:
        assert sensor.get('/api/v1/cells').status_code == 403
        assert sensor.post('/api/v1/cells/root/scalar', json={'values': [0.5]}).status_code \
            == 202
        assert sensor.post('/api/v1/estop', json={'engage': True}).status_code == 403
    with client(gateway.url, tokens['read']) as reader:
        refused = reader.post('/api/v1/estop', json={'engage': True})
        assert refused.status_code == 403 and 'control' in refused.json()['error']
        assert reader.post('/api/v1/cells/root/phase', json={'real': [1], 'imag': [0]}) \
            .status_code == 403


def test_inputs_are_validated_like_the_adapters(running):
    gateway, tokens = running
    now = time.time()
    with client(gateway.url, tokens['input']) as sensor:
        ok = sensor.post('/api/v1/cells/root/phase', json={
            'real': [1.0, 0.0], 'imag': [0.0, 1.0], 'stamps_offset': [0.0, 0.01],
            'stamp': now, 'source': 'api_test'})
        assert ok.status_code == 202 and ok.json()['samples'] == 2, ok.text
        clipped = sensor.post('/api/v1/cells/root/scalar', json={'values': [5.0, 0.2],
                                                                 'low': 0, 'high': 1})
        assert clipped.json()['clipped'] == 1
        bad = {
            'time order': {'real': [1, 1], 'imag': [0, 0], 'stamps_offset': [0.1, 0.0]},
            'size mismatch': {'real': [1, 1], 'imag': [0]},
            'outside the unit disc': {'real': [3.0], 'imag': [0.0]},
            'future stamp': {'real': [1], 'imag': [0], 'stamp': now + 60},
            'stale stamp': {'real': [1], 'imag': [0], 'stamp': now - 3600},
            'unknown field': {'real': [1], 'imag': [0], 'speed': 3},
            'string number': {'real': ['a'], 'imag': [0]},
            'empty': {'real': [], 'imag': []},
        }
        for what, body in bad.items():
            response = sensor.post('/api/v1/cells/root/phase', json=body)
            assert response.status_code == 422, (what, response.text)
            assert response.json()['error'], what


def test_bad_requests_are_4xx_with_a_message(running):
    gateway, tokens = running
    headers = {'Content-Type': 'application/json'}
    with client(gateway.url, tokens['all']) as http:
        cases = [
            ('post', '/api/v1/cells/root/phase', b'{"real": [1,', 400),
            ('post', '/api/v1/cells/root/phase', b'{"real": [NaN], "imag": [0]}', 400),
            ('post', '/api/v1/cells/root/phase', b'{"real": [Infinity], "imag": [0]}', 400),
            ('post', '/api/v1/cells/root/phase', b'[1, 2]', 422),
            ('post', '/api/v1/cells/root/phase', b'\xff\xfe', 400),
            ('post', '/api/v1/cells/root/phase', b'[' * 100000 + b']' * 100000, 400),
            ('post', '/api/v1/cells/root/phase', b' ' * (2 << 20), 413),
            ('post', '/api/v1/cells/nowhere/phase', b'{"real": [1], "imag": [0]}', 404),
            ('get', '/api/v1/cells/nowhere/state', None, 404),
            ('get', '/api/v1/cells/root/history?start=100&end=50', None, 422),
            ('get', '/api/v1/cells/root/history?start=nan', None, 422),
            ('get', '/api/v1/cells/root/history?limit=0', None, 422),
            ('get', '/api/v1/cells/root/history?kind=secrets', None, 422),
            ('get', '/api/v1/cells/root/history?bogus=1', None, 400),
            ('get', '/api/v1/cells/root/reconstruct', None, 400),
            ('get', '/api/v1/cells/root/reconstruct?t=-5', None, 422),
            ('get', '/api/v1/cells/root/recent?last=1e9', None, 422),
            ('post', '/api/v1/estop', b'{"engage": "yes"}', 422),
            ('post', '/api/v1/estop', b'{"engage": false}', 403),
            ('get', '/api/v1/nothing', None, 404),
            ('delete', '/api/v1/estop', None, 405),
        ]
        for method, path, body, status in cases:
            response = http.request(method.upper(), path, content=body, headers=headers)
            assert response.status_code == status, (path, body and body[:40], response.text)
            assert response.json()['error'], path
        # The executor was never stalled: the state still moves on.
        before = http.get('/api/v1/cells/root/state').json()['state']['stamp']
        assert wait_until(lambda: http.get('/api/v1/cells/root/state').json()['state'][
            'stamp'] > before, 5)


def test_stream_latest_at_once_rate_and_a_client_that_never_reads(running):
    gateway, tokens = running
    url = gateway.url.replace('http', 'ws') + '/api/v1/stream'
    protocols = ['becomingone.v1', f'bearer.{tokens["read"]}']

    async def scenario():
        async with websockets.connect(url, subprotocols=protocols) as stuck:
            await stuck.send(json.dumps({'rate_hz': 50}))
            async with websockets.connect(url, subprotocols=protocols) as ws:
                assert ws.subprotocol == 'becomingone.v1'
                hello = json.loads(await asyncio.wait_for(ws.recv(), 2))
                assert hello['type'] == 'hello'
                latest = json.loads(await asyncio.wait_for(ws.recv(), 1))
                assert latest['type'] == 'state' and latest['latest']  # no waiting
                await ws.send(json.dumps({'subscribe': ['root'], 'rate_hz': 5,
                                          'kinds': ['state']}))
                frames, start = [], time.monotonic()
                while time.monotonic() - start < 3.0:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 2))
                    if frame['type'] == 'state' and not frame.get('latest'):
                        frames.append(frame)
                rate = len(frames) / 3.0
                assert 3.0 <= rate <= 7.0, rate
                await ws.send(json.dumps({'rate_hz': 1e6}))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 2))
                    if frame['type'] == 'error':
                        assert 'rate_hz' in frame['error']
                        break
            # 'stuck' never read a frame; the other client was served all along.
        async with websockets.connect(url) as anonymous:
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(anonymous.recv(), 2)

    try:
        asyncio.run(scenario())
    except websockets.InvalidStatus as refused:  # a close before accept is a 403 handshake
        assert refused.response.status_code == 403
    with client(gateway.url, tokens['read']) as http:
        assert http.get('/api/v1/gateway').json()['stream']['published'] > 0


def test_engage_estop_with_control_scope(running):
    gateway, tokens = running
    with client(gateway.url, tokens['control']) as operator:
        response = operator.post('/api/v1/estop', json={'engage': True, 'source': 'test'})
        assert response.status_code == 200, response.text
        assert response.json()['engaged'] and response.json()['engaged_by'] == 'test'
    with client(gateway.url, tokens['read']) as reader:
        assert reader.get('/api/v1/estop').json()['engaged']
        gate = reader.get('/api/v1/cells/root/gate').json()
        assert 'ENGAGED' in gate['text']
