"""The HTTP poster against a real loopback server: ok, slow, 500 and down."""

import time

from becomingone_adapters.http_post import backoff_delays, HttpPoster, load_token, record
from becomingone_core.testing.processes import wait_until
from http_server import closed_port_url, LoopbackServer
import pytest


def _poster(url, **options):
    defaults = {'timeout_s': 0.5, 'retries': 2, 'backoff_base_s': 0.05, 'backoff_max_s': 0.2,
                'queue_size': 5}
    return HttpPoster(url, **{**defaults, **options})


def test_posts_the_record_with_a_bearer_token():
    with LoopbackServer() as server:
        poster = _poster(server.url, token='s3cret')
        poster.submit(record('cell_a', 12.5, 0.8, 0.6 + 0.2j, True))
        assert wait_until(lambda: poster.counters.sent == 1, 10)
        poster.close()
    body, authorization = server.requests[0]
    assert body == {'node': 'cell_a', 'stamp': 12.5, 'coherence': 0.8,
                    'phase': {'real': 0.6, 'imag': 0.2}, 'collapsed': True}
    assert authorization == 'Bearer s3cret'


def test_server_errors_are_retried_with_backoff_then_counted_failed():
    with LoopbackServer(mode='500') as server:
        poster = _poster(server.url)
        poster.submit({'n': 1})
        assert wait_until(lambda: poster.counters.failed == 1, 10)
        poster.close()
    assert len(server.requests) == 3  # the first try and two retries
    assert poster.counters.retries == 2 and poster.counters.last_error == 'HTTP 500'


def test_down_server_never_blocks_submit_and_drops_oldest():
    poster = _poster(closed_port_url(), retries=1, queue_size=3)
    start = time.monotonic()
    for n in range(50):
        poster.submit({'n': n})
    assert time.monotonic() - start < 0.1, 'submit must not wait for the network'
    assert poster.counters.dropped >= 50 - 3 - 1
    assert poster.queued <= 3
    assert wait_until(lambda: poster.counters.failed >= 2, 10)
    assert poster.counters.last_error == 'ConnectError'
    poster.close()


def test_slow_server_times_out_and_retries():
    with LoopbackServer(mode='slow', delay_s=1.0) as server:
        poster = _poster(server.url, timeout_s=0.2, retries=1)
        poster.submit({'n': 1})
        assert wait_until(lambda: poster.counters.failed == 1, 10)
        assert poster.counters.retries == 1 and 'Timeout' in poster.counters.last_error
        server.mode = 'ok'
        poster.submit({'n': 2})
        assert wait_until(lambda: poster.counters.sent == 1, 10)
        poster.close()


def test_token_sources_and_backoff(tmp_path, monkeypatch):
    path = tmp_path / 'token'
    path.write_text('from-file\n')
    monkeypatch.setenv('BO_TOKEN', 'from-env')
    assert load_token(str(path), 'BO_TOKEN') == 'from-file'
    assert load_token('', 'BO_TOKEN') == 'from-env'
    assert load_token() == ''
    assert backoff_delays(5, 0.1, 0.5) == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    with pytest.raises(ValueError):
        HttpPoster('ftp://example.invalid/')
