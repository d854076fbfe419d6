"""The pure modules: tokens, validation, the hub's bounded queues, gate explanations."""

import ast
import os
import pathlib

from becomingone_api import auth, hub, shaping, validation
import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'becomingone_api'


def test_pure_modules_never_import_rclpy_or_messages():
    for path in PACKAGE.glob('*.py'):
        tree = ast.parse(path.read_text())
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
        names |= {node.module for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.module}
        assert not any(n.startswith(('rclpy', 'becomingone_msgs')) for n in names), path


def test_token_file_scopes_and_refusals(tmp_path):
    path = tmp_path / 'tokens'
    token = auth.write_token_file(str(path), scopes=('read',))
    assert os.stat(path).st_mode & 0o777 == 0o600
    table = auth.load_tokens(str(path))
    assert table.authorize(token, 'read') == {'read'}
    with pytest.raises(auth.Denied) as denied:
        table.authorize(token, 'control')
    assert denied.value.status == 403
    with pytest.raises(auth.Denied) as denied:
        table.authorize('', 'read')
    assert denied.value.status == 401
    os.chmod(path, 0o640)
    with pytest.raises(auth.TokenFileError, match='chmod 600'):
        auth.load_tokens(str(path))
    bad = tmp_path / 'bad'
    bad.write_text('short read\n')
    bad.chmod(0o600)
    with pytest.raises(auth.TokenFileError, match='bad:1'):
        auth.load_tokens(str(bad))
    bad.write_text(f'{"a" * 20} admin\n')
    with pytest.raises(auth.TokenFileError, match='scopes'):
        auth.load_tokens(str(bad))
    assert auth.bearer_token('Bearer abc') == 'abc' and auth.bearer_token('Basic abc') == ''
    assert auth.websocket_token(['becomingone.v1', 'bearer.xyz']) == 'xyz'


def test_json_rules():
    assert validation.parse_json(b'{"a": 1}') == {'a': 1}
    for body, status in [(b'{', 400), (b'{"a": NaN}', 400), (b'[]', 422), (b'\xff', 400),
                         (b'1' * 100, 413)]:
        with pytest.raises(validation.BadRequest) as refused:
            validation.parse_json(body, max_bytes=50)
        assert refused.value.status == status


def test_time_ranges():
    now = 1000.0
    assert validation.time_range({'last': '10'}, now)[:2] == (990.0, 1000.0)
    assert validation.time_range({}, now)[:2] == (940.0, 1000.0)
    for params in ({'start': '10', 'end': '5'}, {'start': 'inf'}, {'limit': '0'},
                   {'kind': 'x'}, {'last': '5', 'start': '1'}, {'what': '1'}):
        with pytest.raises(validation.BadRequest):
            validation.time_range(params, now)


def test_scalar_input_uses_the_adapters_encoding():
    fields, clipped = validation.scalar_input({'values': [0.5, 2.0]}, 100.0)
    assert clipped == 1 and fields['channels'] == 2
    assert fields['real'][0] == pytest.approx(1.0) and fields['imag'][0] == pytest.approx(0.0)


def test_a_client_that_never_reads_drops_only_its_own_frames():
    woken = []
    the_hub = hub.Hub(depth=4)
    _, stuck = the_hub.connect(wake=lambda: woken.append('stuck'), rate_hz=1000.0)
    _, reader = the_hub.connect(wake=lambda: woken.append('reader'), rate_hz=1000.0)
    received = []
    for i in range(100):
        the_hub.publish('witness', 'c', f'frame {i}', now_s=float(i))
        received.extend(reader.take_all())
    assert len(received) == 100 and stuck.dropped == 96 and reader.dropped == 0
    assert stuck.take_all() == ['frame 96', 'frame 97', 'frame 98', 'frame 99']
    assert woken.count('stuck') == 1  # woken once, when its queue was empty


def test_state_frames_follow_the_clients_rate():
    queue = hub.ClientQueue(depth=1000, rate_hz=5.0)
    due = sum(queue.wants('state', 'c', t / 50.0) for t in range(500))  # 50 Hz for 10 s
    assert 49 <= due <= 51
    assert all(queue.wants('witness', 'c', 0.0) for _ in range(10))
    # A source a little faster than the rate asked, with jitter: about the rate, not half.
    near = hub.ClientQueue(depth=1000, rate_hz=20.0)
    jitter = [0.004 * ((7 * i) % 5 - 2) for i in range(2160)]
    due = sum(near.wants('state', 'c', i / 21.6 + jitter[i]) for i in range(2160))  # 100 s
    assert 1900 <= due <= 2001, due  # (every other frame would give 1080-1440)


def _state(coherence, collapsed, stamp=100.0, threshold=0.5):
    z = {'re': coherence ** 0.5, 'im': 0.0, 'abs': coherence ** 0.5, 'arg': 0.0}
    return {'coherence': coherence, 'threshold': threshold, 'hysteresis': 0.1,
            'collapsed': collapsed, 'stamp': stamp, 'T_m': z, 'T_e': z, 'T_sync': z,
            'delta_phase': 0.0, 'realign_requested': False}


def test_gate_explanations():
    assert shaping.explain_gate(None, 0.0)['reason'] == 'no_state'
    assert shaping.explain_gate(_state(0.9, True), 100.2)['reason'] == 'above_threshold'
    assert shaping.explain_gate(_state(0.45, True), 100.2)['reason'] == 'hysteresis'
    assert shaping.explain_gate(_state(0.1, False), 100.2)['reason'] == 'below_threshold'
    stale = shaping.explain_gate(_state(0.9, True), 105.0)
    assert stale['reason'] == 'stale' and not stale['open']
    assert 'ENGAGED' in shaping.explain_gate(_state(0.9, True), 100.2,
                                             estop={'engaged': True})['text']
    with pytest.raises(ValueError):
        shaping.dumps({'x': float('nan')})
