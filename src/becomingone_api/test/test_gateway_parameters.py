"""Parameters read and set through a running sync node's own services and validation (DDS)."""

from gateway_fixture import client, env, Gateway, start_cell, write_tokens
import pytest

PARAMETERS = '/api/v1/cells/root/nodes/sync/parameters'


@pytest.fixture(scope='module')
def running(tmp_path_factory):
    directory = tmp_path_factory.mktemp('parameters')
    tokens_file, tokens = write_tokens(str(directory))
    ros_env = env()
    cell = start_cell(ros_env)
    gateway = Gateway(ros_env, tokens_file, ['-p', 'service_timeout_s:=3.0'])
    yield gateway, tokens
    assert gateway.stop() == 0, gateway.process.output()
    for process in cell:
        process.stop()


def _wait_for_sync(http):
    import time
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = http.get(PARAMETERS, params={'names': 'threshold'})
        if response.status_code == 200:
            return response
        assert response.status_code == 503, response.text  # not discovered yet
        time.sleep(0.2)
    raise AssertionError(response.text)


def test_get_describes_the_nodes_parameters(running):
    gateway, tokens = running
    with client(gateway.url, tokens['read']) as http:
        (threshold,) = _wait_for_sync(http).json()['parameters']
        assert threshold['name'] == 'threshold' and threshold['type'] == 'double'
        assert threshold['range'] == {'min': 1e-6, 'max': 1.0} and not threshold['read_only']
        everything = http.get(PARAMETERS).json()['parameters']
        names = {p['name']: p for p in everything}
        assert {'threshold', 'hysteresis', 'realign_threshold', 'security_dir'} <= set(names)
        assert names['security_dir']['read_only']
        assert http.get(PARAMETERS, params={'names': 'no_such'}).status_code == 404
        assert http.get(PARAMETERS, params={'names': 'bad name!'}).status_code == 422
        assert http.get(PARAMETERS, params={'other': 1}).status_code == 400
        assert http.get('/api/v1/cells/root/nodes/nobody/parameters').status_code == 404
        # Setting needs the control scope.
        refused = http.put(PARAMETERS, json={'threshold': 0.5})
        assert refused.status_code == 403 and 'control' in refused.json()['error']


def test_the_node_refuses_with_its_own_reason_and_accepts_a_valid_value(running):
    gateway, tokens = running
    with client(gateway.url, tokens['all']) as http:
        _wait_for_sync(http)
        before = {p['name']: p['value'] for p in http.get(PARAMETERS, params={
            'names': 'threshold,hysteresis'}).json()['parameters']}
        # Out of the declared range: rclpy's range check, as the node declared it.
        out_of_range = http.put(PARAMETERS, json={'threshold': 1.5})
        assert out_of_range.status_code == 422, out_of_range.text
        assert 'sync refused' in out_of_range.json()['error']
        assert 'Parameter threshold out of range' in out_of_range.json()['error']
        # In range but inconsistent: the sync layer's own rule (hysteresis below threshold).
        inconsistent = http.put(PARAMETERS, json={'hysteresis': before['threshold']})
        assert inconsistent.status_code == 422
        assert 'hysteresis: must be >= 0 and below threshold' in inconsistent.json()['error']
        assert http.put(PARAMETERS, json={'threshold': 'high'}).status_code == 422
        assert http.put(PARAMETERS, json={'security_dir': '/tmp'}).status_code == 422
        assert http.put(PARAMETERS, json={'threshold': None}).status_code == 422
        assert http.put(PARAMETERS, content=b'{"threshold": NaN}').status_code == 400
        unchanged = http.get(PARAMETERS, params={'names': 'threshold,hysteresis'}).json()
        assert {p['name']: p['value'] for p in unchanged['parameters']} == before
        # A valid set (an integer JSON number for a double parameter) changes the node.
        target = 1 if before['threshold'] != 1.0 else 0.9
        ok = http.put(PARAMETERS, json={'threshold': target})
        assert ok.status_code == 200, ok.text
        assert ok.json()['set'] and ok.json()['parameters'][0]['value'] == float(target)
        import time
        deadline = time.monotonic() + 10
        state = None
        while time.monotonic() < deadline:
            state = http.get('/api/v1/cells/root/state').json()['state']
            if state and state['threshold'] == float(target):
                break
            time.sleep(0.1)
        assert state['threshold'] == float(target), state  # the node's SyncState says so
        both = http.put(PARAMETERS, json=before)  # atomically: both or neither
        assert both.status_code == 200, both.text
