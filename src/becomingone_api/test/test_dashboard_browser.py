"""The dashboard in a real headless Chromium (Debian's) against a gateway on a running cell."""

import os
import shutil

from becomingone_core.testing.processes import wait_until
from gateway_fixture import client, env, Gateway, start_cell, write_tokens
import pytest

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
playwright_api = pytest.importorskip('playwright.sync_api')
pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                reason='no Debian chromium (apt-get install chromium)')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']


def test_dashboard_shows_coherence_and_a_collapse_and_gates_the_estop(tmp_path):
    tokens_file, tokens = write_tokens(str(tmp_path))
    ros_env = env()
    cell = start_cell(ros_env)
    gateway = Gateway(ros_env, tokens_file)

    def outputs():
        return '\n'.join(f'--- {p.name}\n{p.output()[-3000:]}'
                         for p in (gateway.process, *cell))
    try:
        # The cell's state reaches the gateway first (a loaded machine starts the cell's
        # processes slowly); then the page has its own deadlines.
        with client(gateway.url, tokens['read']) as http:
            assert wait_until(lambda: http.get('/api/v1/cells/root/state').json()['state'],
                              60, poll_s=0.5), outputs()
        try:
            with playwright_api.sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={'width': 1400, 'height': 1000})
                errors = []
                page.on('pageerror', lambda error: errors.append(str(error)))
                page.goto(f'{gateway.url}/#token={tokens["read"]}')
                # Waits, not sleeps: generous for a loaded 2-core machine (the cell starts first).
                page.wait_for_function(
                    "document.getElementById('coherence').textContent !== '–'", timeout=30_000)
                first = page.text_content('#coherence')
                page.wait_for_function(
                    f"document.getElementById('coherence').textContent !== '{first}'",
                    timeout=30_000)
                page.wait_for_selector('#marks .mark.collapse', timeout=30_000)
                assert page.evaluate('typeof uPlot') == 'function'  # served offline, from npm
                assert page.evaluate('window.becomingone.frames') > 2
                page.screenshot(path=str(tmp_path / 'dashboard.png'), full_page=True)
                shutil.copy(tmp_path / 'dashboard.png',
                            os.environ.get('DASHBOARD_SCREENSHOT', tmp_path / 'kept.png'))
                # Read-only token: the e-stop is refused and stays off.
                page.click('#engage')
                page.wait_for_function(
                    "document.getElementById('estop-message').textContent.startsWith('refused')",
                    timeout=5_000)
                assert '403' in page.text_content('#estop-message')
                assert 'ENGAGED' not in page.text_content('#estop-state')
                # Control token: it engages.
                control = browser.new_page()
                control.goto(f'{gateway.url}/#token={tokens["all"]}')
                control.wait_for_function(
                    "document.getElementById('coherence').textContent !== '–'", timeout=10_000)
                control.click('#engage')
                control.wait_for_function(
                    "document.getElementById('estop-state').textContent.startsWith('ENGAGED')",
                    timeout=5_000)
                # The read-only page learns it from the stream.
                page.wait_for_function(
                    "document.getElementById('estop-state').textContent.startsWith('ENGAGED')",
                    timeout=5_000)
                assert not errors, errors
                browser.close()
        except playwright_api.TimeoutError as error:  # say what the processes said
            raise AssertionError(f'{error}\n{outputs()}') from None
    finally:
        assert gateway.stop() == 0, gateway.process.output()
        for process in cell:
            process.stop()
