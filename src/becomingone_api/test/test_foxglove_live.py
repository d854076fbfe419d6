"""
A client speaking the Foxglove WebSocket protocol subscribes to a live cell's state channel.

The client offers ``foxglove.websocket.v1`` and its successor ``foxglove.sdk.v1`` (the same
messages: JSON ``serverInfo``/``advertise``/``subscribe``, binary ``messageData``);
foxglove-sdk 0.30 accepts only the latter, older servers the former.
"""

import asyncio
import json
import re
import struct

from becomingone_api import foxglove_live
from gateway_fixture import env, Gateway, start_cell, write_tokens
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
