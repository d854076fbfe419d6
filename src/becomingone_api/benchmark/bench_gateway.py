"""
Gateway under load (printed figures, not a test; ``make bench`` runs it).

A simulated cell (``becomingone_cell --sim --scale demo``) and the gateway run as processes on
a DDS domain of their own. A probe node timestamps every ``sync/state`` it receives: the cell's
decision latency (input stamp -> receipt). First the probe alone for ``--baseline`` seconds,
then ``--clients`` WebSocket clients asking for state frames at ``--rate`` Hz for
``--duration`` seconds, one of them never reading. Printed, side by side:

- the share of offered frames the reading clients received (offered: what the gateway queued
  for them, from ``/api/v1/gateway``) and the frames per second each got;
- the end-to-end latency of a state frame (its ``stamp``, the newest input sample behind the
  decision, to its receipt by a client): p50, p99, max;
- the frames the never-reading client lost (its own queue only);
- gateway CPU (utime + stime from /proc, % of one core) and RSS (VmRSS, VmHWM);
- the cell's decision latency without and with the load.

    python bench_gateway.py [--duration 60] [--clients 50] [--rate 20] [--baseline 15]
"""

import argparse
import asyncio
import json
import os
import re
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time

from becomingone_core.ros.qos import SYNC_STATE_QOS
from becomingone_core.ros.stamps import stamp_ns
from becomingone_core.testing.processes import isolated_ros_env, NodeProcess, wait_until
from becomingone_core.testing.ros import RosProbe
from becomingone_msgs.msg import SyncState
import httpx
import websockets

TICKS = os.sysconf('SC_CLK_TCK')
URL = re.compile(r'gateway for cells .* at (https?://[0-9.:\[\]a-z]+)/api/v1')


def percentile(values, q):
    if not values:
        return float('nan')
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100.0 * (len(ordered) - 1))))]


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as stream:
        fields = stream.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def memory_kib(pid):
    values = {}
    with open(f'/proc/{pid}/status') as stream:
        for line in stream:
            key, _, rest = line.partition(':')
            if key in ('VmRSS', 'VmHWM'):
                values[key] = int(rest.split()[0])
    return values


class DecisionProbe:
    """Spins a probe node on a thread; records receipt - stamp of every sync/state (ms)."""

    def __init__(self, env):
        self.probe = RosProbe(env, name='bench_probe')
        self.latencies_ms = []
        self._stop = threading.Event()
        self.probe.node.create_subscription(SyncState, 'sync/state', self._on_state,
                                            SYNC_STATE_QOS)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _on_state(self, message):
        self.latencies_ms.append((time.time_ns() - stamp_ns(message.header.stamp)) / 1e6)

    def _spin(self):
        while not self._stop.is_set():
            self.probe.executor.spin_once(timeout_sec=0.05)

    def take(self):
        taken, self.latencies_ms = self.latencies_ms, []
        return taken

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.probe.close()


async def reading_client(url, token, rate, stop, result):
    protocols = ['becomingone.v1', f'bearer.{token}']
    async with websockets.connect(url, subprotocols=protocols, max_size=1 << 20) as ws:
        await ws.send(json.dumps({'subscribe': ['root'], 'rate_hz': rate, 'kinds': ['state']}))
        while not stop.is_set():
            try:
                text = await asyncio.wait_for(ws.recv(), 0.5)
            except asyncio.TimeoutError:
                continue
            received = time.time()
            frame = json.loads(text)
            if frame.get('type') == 'hello':
                result['id'] = frame['client']
            elif frame.get('type') == 'state' and not frame.get('latest'):
                result['frames'] += 1
                result['latency_ms'].append((received - frame['stamp']) * 1000.0)


async def silent_client(url, token, rate, stop, result):
    protocols = ['becomingone.v1', f'bearer.{token}']
    # A small receive buffer and queue: once they are full the library stops reading the
    # socket and TCP backs up to the server, whose sender for this client then waits.
    host, port = re.match(r'wss?://([^:/]+):(\d+)', url).groups()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
    async with websockets.connect(url, sock=sock, subprotocols=protocols, max_queue=1) as ws:
        await ws.send(json.dumps({'subscribe': ['root'], 'rate_hz': rate, 'kinds': ['state']}))
        result['id'] = json.loads(await ws.recv())['client']
        while not stop.is_set():
            await asyncio.sleep(0.1)  # never reads again


async def load(base_url, token, clients, rate, duration_s, pid):
    ws_url = base_url.replace('http', 'ws', 1) + '/api/v1/stream'
    stop = asyncio.Event()
    results = [{'frames': 0, 'latency_ms': [], 'id': None} for _ in range(clients)]
    tasks = [asyncio.ensure_future(silent_client(ws_url, token, rate, stop, results[0]))]
    tasks += [asyncio.ensure_future(reading_client(ws_url, token, rate, stop, r))
              for r in results[1:]]
    await asyncio.sleep(2.0)  # everyone connected and subscribed
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0,
                                 headers={'Authorization': f'Bearer {token}'}) as http:
        start_stats = (await http.get('/api/v1/gateway')).json()['stream']
        counted = [r['frames'] for r in results]
        for r in results:
            r['latency_ms'].clear()
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        rss_peak = 0
        while time.monotonic() - t0 < duration_s:
            await asyncio.sleep(1.0)
            rss_peak = max(rss_peak, memory_kib(pid)['VmRSS'])
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        end_stats = (await http.get('/api/v1/gateway')).json()['stream']
        received = [r['frames'] - c for r, c in zip(results, counted)]
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    before = {c['id']: c for c in start_stats['per_client']}
    after = {c['id']: c for c in end_stats['per_client']}

    def offered(client_id):
        a, b = after.get(client_id), before.get(client_id)
        if a is None or b is None:
            return 0
        total = lambda c: c['sent'] + c['dropped'] + c['queued']  # noqa: E731
        return total(a) - total(b)

    shares, rates, latencies = [], [], []
    for result, got in zip(results[1:], received[1:]):
        offer = offered(result['id'])
        shares.append(got / offer if offer else 0.0)
        rates.append(got / (t1 - t0))
        latencies += result['latency_ms']
    silent = after.get(results[0]['id'], {})
    # The hub's total counts the drops of closed clients too, so the never-reading client's
    # drops are known even when the gateway closed it during the run.
    readers_dropped = sum(after[r['id']]['dropped'] - before[r['id']]['dropped']
                          for r in results[1:] if r['id'] in after and r['id'] in before)
    return {
        'elapsed_s': t1 - t0, 'cpu_percent': 100.0 * (cpu1 - cpu0) / (t1 - t0),
        'rss_peak_kib': rss_peak, 'memory': memory_kib(pid),
        'share_total': sum(received[1:]) / max(1, sum(offered(r['id']) for r in results[1:])),
        'share_min': min(shares) if shares else 0.0, 'rate_mean': statistics.mean(rates),
        'latency_ms': latencies, 'silent': silent,
        'silent_dropped': end_stats['dropped'] - start_stats['dropped'] - readers_dropped,
        'silent_closed': results[0]['id'] not in after,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--duration', type=float, default=60.0, help='load phase (s)')
    parser.add_argument('--baseline', type=float, default=None,
                        help='probe-only phase before the load (s; default: min(duration, 15))')
    parser.add_argument('--clients', type=int, default=50)
    parser.add_argument('--rate', type=float, default=20.0, help='state frames/s per client')
    args = parser.parse_args(argv)
    baseline_s = args.baseline if args.baseline is not None else min(args.duration, 15.0)
    env = isolated_ros_env()
    directory = tempfile.mkdtemp(prefix='bench-gateway-')
    token = secrets.token_urlsafe(24)
    tokens_file = os.path.join(directory, 'tokens')
    descriptor = os.open(tokens_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, 'w') as stream:
        stream.write(f'{token} read\n')
    cell = NodeProcess.run('becomingone_core', 'becomingone_cell', env,
                           arguments=['--sim', '--scale', 'demo'])
    gateway = NodeProcess.run('becomingone_api', 'gateway', env, ros_arguments=[
        '-p', 'port:=0', '-p', f'tokens_file:={tokens_file}', '-p', 'queue_depth:=64'])
    probe = None
    try:
        wait_until(lambda: URL.search(gateway.output()) or not gateway.running, 30)
        match = URL.search(gateway.output())
        if not match:
            print(gateway.output())
            return 1
        base_url = match.group(1)
        probe = DecisionProbe(env)
        if not wait_until(lambda: len(probe.latencies_ms) > 20, 30):
            print('no sync/state from the cell', cell.output()[-2000:])
            return 1
        time.sleep(2.0)
        probe.take()
        cpu0, t0 = cpu_seconds(gateway.process.pid), time.monotonic()
        time.sleep(baseline_s)
        idle_cpu = 100.0 * (cpu_seconds(gateway.process.pid) - cpu0) / (time.monotonic() - t0)
        idle_memory = memory_kib(gateway.process.pid)
        quiet = probe.take()
        figures = asyncio.run(load(base_url, token, args.clients, args.rate, args.duration,
                                   gateway.process.pid))
        loaded = probe.take()
    finally:
        if probe is not None:
            probe.close()
        gateway.stop()
        cell.stop()
    latency = figures['latency_ms']
    print(f'gateway under load: {args.clients} WebSocket clients at {args.rate:g} Hz for '
          f'{figures["elapsed_s"]:.0f} s on loopback, one never reading')
    print(f'  frames received by the {args.clients - 1} reading clients: '
          f'{100 * figures["share_total"]:.2f} % of those offered (worst client '
          f'{100 * figures["share_min"]:.2f} %), {figures["rate_mean"]:.1f} frames/s each')
    if figures['silent_closed']:
        print(f'  never-reading client: {figures["silent_dropped"]} frames dropped from its own '
              'queue; closed by the gateway before the end (a client that never reads answers '
              'no WebSocket ping)')
    else:
        print(f'  never-reading client: {figures["silent_dropped"]} frames dropped from its own '
              f'queue (queued {figures["silent"].get("queued", "?")}, sent '
              f'{figures["silent"].get("sent", "?")})')
    print(f'  end-to-end latency (input stamp -> client receipt), {len(latency)} frames: '
          f'p50 {percentile(latency, 50):.1f} ms, p99 {percentile(latency, 99):.1f} ms, '
          f'max {max(latency) if latency else float("nan"):.1f} ms')
    print(f'  gateway CPU: {idle_cpu:.1f} % of a core idle (no clients), '
          f'{figures["cpu_percent"]:.1f} % under load; RSS {idle_memory["VmRSS"] / 1024:.1f} '
          f'MiB idle, {figures["rss_peak_kib"] / 1024:.1f} MiB peak under load (VmHWM '
          f'{figures["memory"]["VmHWM"] / 1024:.1f} MiB)')
    print('  cell decision latency (input stamp -> sync/state at a probe):')
    for name, values in (('without load', quiet), ('with load', loaded)):
        print(f'    {name:13s} {len(values):5d} states  p50 {percentile(values, 50):6.2f} ms  '
              f'p99 {percentile(values, 99):6.2f} ms  mean '
              f'{statistics.mean(values) if values else float("nan"):6.2f} ms')
    return 0


if __name__ == '__main__':
    sys.exit(main())
