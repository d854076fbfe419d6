"""
The lab application end to end: ``becomingone run --config`` on its recorded inputs.

Temperature, pressure and thermal readings in a steady cycle make the cell collapse, erratic
readings make it release. A real HTTP server started here receives records only for decisions
taken while collapsed (and one closing ``collapsed: false``); the temporal memory stores the
run's resonance, sync and witness records in its SQLite file.
"""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import threading
import time

from app_support import agrees, app_config, AppRun, require_kinds
from becomingone_core.memory.store import default_path, MemoryStore
from becomingone_core.ros.stamps import seconds


class _Records(BaseHTTPRequestHandler):
    """Keeps every POSTed JSON body with its arrival time."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.server.received.append((time.monotonic(), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve():
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Records)
    server.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_http_posts_only_while_collapsed_and_memory_stores_the_run(tmp_path):
    require_kinds('temperature_recording', 'temperature', 'fluid_pressure_recording',
                  'fluid_pressure', 'thermal', 'http')
    server = _serve()

    def to_this_server(data):
        data['outputs'][0]['parameters']['url'] = f'http://127.0.0.1:{server.server_port}/r'
    try:
        with AppRun(app_config('lab', tmp_path, to_this_server), '/lab', tmp_path) as run:
            assert run.until_released_after_collapse(), run.output()
            run.probe.spin_until(lambda: any(not r['collapsed'] for _, r in server.received),
                                 5.0)
            collapsed_stamps = {round(seconds(s.header.stamp), 6) for s in run.states
                                if s.collapsed}
        posted = [record for _, record in server.received]
        assert [r for r in posted if r['collapsed']], 'nothing posted while collapsed'
        for at, record in server.received:
            if record['collapsed']:
                # The stamp names the decision: it must be one the cell took while collapsed.
                assert round(record['stamp'], 6) in collapsed_stamps, record
                assert agrees(run, at, collapsed=True, slack_s=0.5)
        assert posted[-1]['collapsed'] is False, 'no closing record on release'
        assert sum(not r['collapsed'] for r in posted) == 1, posted
    finally:
        server.shutdown()
    # The app's memory.path is '': the store is the default file ($XDG_STATE_HOME: AppRun).
    with MemoryStore(default_path('lab', {'XDG_STATE_HOME': str(tmp_path / 'state')})) as store:
        counts = store.acknowledged.counts
        assert counts.get('sync', 0) > 10 and counts.get('resonance', 0) > 10, counts
        assert counts.get('witness', 0) > 0, counts
        states = store.query('sync', limit=100000).records
        assert {record.coherence >= 0.5 for record in states} == {True, False}
