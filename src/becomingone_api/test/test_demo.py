"""``demo`` (what ``make demo`` runs): the cell's demo and the dashboard, its URL printed."""

import re
import subprocess
import threading
import time

from becomingone_core.testing.processes import executable, isolated_ros_env, wait_until
import httpx

DASHBOARD = re.compile(r'dashboard: (http://127\.0\.0\.1:\d+)/#token=([A-Za-z0-9_-]+)')


def test_demo_serves_the_dashboard_of_the_running_demo_cell():
    process = subprocess.Popen(
        [executable('becomingone_api', 'demo'), '--duration', '16', '--port', '0'],
        env=isolated_ros_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        assert wait_until(lambda: DASHBOARD.search(''.join(lines)) or process.poll() is not None,
                          30), ''.join(lines)
        match = DASHBOARD.search(''.join(lines))
        assert match, ''.join(lines)
        url, token = match.groups()
        with httpx.Client(base_url=url, timeout=5.0,
                          headers={'Authorization': f'Bearer {token}'}) as http:
            page = http.get('/')
            assert page.status_code == 200 and 'uplot' in page.text.lower()
            assert wait_until(lambda: http.get('/api/v1/cells/root/state').json()['state'], 15)
            first = http.get('/api/v1/cells/root/state').json()['state']['stamp']
            time.sleep(1.0)
            assert http.get('/api/v1/cells/root/state').json()['state']['stamp'] > first
        assert process.wait(timeout=60) in (0, 1)  # 1: the schedule was not all seen
        reader.join(5)
        output = ''.join(lines)
        assert 'summary:' in output and 'collapse -> release -> collapse' in output, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
