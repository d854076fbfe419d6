"""
The HTTP output node over real DDS against a loopback server that is slow, fails and goes down.

The executor must never stall (its 1 Hz diagnostics keep coming while a request hangs), retries
and drops must show in /diagnostics, the token must never reach the log, and nothing crashes.
"""

import time

from becomingone_core.testing.processes import isolated_ros_env, NodeProcess
from becomingone_core.testing.ros import RosProbe, stamped
from becomingone_msgs.msg import SyncState
from diagnostic_msgs.msg import DiagnosticArray
from http_server import LoopbackServer

TOKEN = 'tok-never-logged-8c1f'


def _http_values(arrays):
    """(arrival time, {key: float}) of every 'http_output: http' status received."""
    found = []
    for arrived, array in arrays:
        for status in array.status:
            if status.name == 'http_output: http':
                found.append((arrived, {kv.key: float(kv.value) for kv in status.values},
                              status.message))
    return found


def test_http_output_survives_slow_failing_and_down_server():
    env = isolated_ros_env()
    env['BO_TEST_TOKEN'] = TOKEN
    with LoopbackServer(mode='slow', delay_s=6.0) as server, RosProbe(env) as probe, \
            NodeProcess.run('becomingone_adapters', 'http_output', env, ros_arguments=[
                '-p', f'url:={server.url}', '-p', 'timeout_s:=3.0', '-p', 'retries:=2',
                '-p', 'backoff_base_s:=0.1', '-p', 'queue_size:=3', '-p', 'max_rate_hz:=50.0',
                '-p', 'token_env:=BO_TEST_TOKEN']) as node:
        arrays = []
        probe.node.create_subscription(DiagnosticArray, '/diagnostics',
                                       lambda m: arrays.append((time.monotonic(), m)), 50)
        sync = probe.node.create_publisher(SyncState, 'sync/state', 10)

        def publish():
            sync.publish(stamped(SyncState(collapsed=True, coherence=0.9, sync_real=0.9,
                                           sync_imag=0.3), probe.node))
        probe.node.create_timer(0.02, publish)

        # Slow: requests hang for 3 s each (timeout), records pile up and the oldest drop.
        assert probe.spin_until(lambda: any(v['retries'] >= 1 and v['dropped'] >= 1
                                            for _, v, _ in _http_values(arrays)), 60), \
            node.output()
        stamps = [t for t, _, _ in _http_values(arrays)]
        assert len(stamps) >= 3
        assert max(b - a for a, b in zip(stamps, stamps[1:])) < 2.5, \
            'the executor stalled while a request hung'
        assert server.requests and server.requests[0][1] == f'Bearer {TOKEN}'
        assert server.requests[0][0]['collapsed'] is True

        # 500: retried, then counted failed.
        server.mode = '500'
        failed_before = _http_values(arrays)[-1][1]['failed']
        assert probe.spin_until(lambda: any(
            v['failed'] > failed_before and 'HTTP 500' in message
            for _, v, message in _http_values(arrays)), 60), node.output()

        # Down: the server is gone, the node keeps serving and counts connection errors.
        server.shutdown()
        server.server_close()
        assert probe.spin_until(lambda: any(
            'ConnectError' in message for _, _, message in _http_values(arrays)), 60)
        assert node.running, node.output()
        assert TOKEN not in node.output()


def test_http_output_posts_while_collapsed_and_once_when_the_cell_falls_silent():
    env = isolated_ros_env()
    with LoopbackServer() as server, RosProbe(env) as probe, NodeProcess.run(
            'becomingone_adapters', 'http_output', env, ros_arguments=[
                '-p', f'url:={server.url}', '-p', 'node_name:=cell_7',
                '-p', 'watchdog_s:=0.5']) as node:
        sync = probe.node.create_publisher(SyncState, 'sync/state', 10)
        state = {'collapsed': False, 'running': True}

        def publish():
            if state['running']:
                sync.publish(stamped(SyncState(collapsed=state['collapsed'], coherence=0.8,
                                               sync_real=0.8, sync_imag=0.4), probe.node))
        probe.node.create_timer(0.05, publish)
        probe.spin_for(1.5)
        assert not server.requests, 'nothing is posted while released'
        state['collapsed'] = True
        assert probe.spin_until(lambda: len(server.requests) >= 3, 60), node.output()
        assert all(body['collapsed'] and body['node'] == 'cell_7'
                   for body, _ in server.requests)
        state['running'] = False  # the cell falls silent while collapsed
        assert probe.spin_until(lambda: not server.requests[-1][0]['collapsed'], 10)
        assert server.requests[-1][0]['phase'] == {'real': 0.8, 'imag': 0.4}
