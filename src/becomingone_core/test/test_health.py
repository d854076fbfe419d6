import math

from becomingone_core.health import (ERROR, OK, RateMonitor, RejectionCounter,
                                     StalenessMonitor, WARN, worst)
import pytest


def test_staleness_goes_warn_then_error():
    monitor = StalenessMonitor(warn_after_s=1.0, error_after_s=3.0, what='phase')
    assert monitor.status(0.0).level == WARN and monitor.age(0.0) == math.inf
    monitor.touch(10.0)
    assert monitor.status(10.5).level == OK
    assert monitor.status(11.5).level == WARN
    status = monitor.status(13.5)
    assert status.level == ERROR and 'phase' in status.message
    assert status.values['age_s'] == pytest.approx(3.5)


def test_staleness_rejects_inverted_thresholds():
    with pytest.raises(ValueError):
        StalenessMonitor(warn_after_s=2.0, error_after_s=1.0)


def test_rate_over_window_and_minimum():
    monitor = RateMonitor(window_s=2.0, min_rate_hz=5.0)
    for i in range(20):
        monitor.tick(i * 0.1)
    assert monitor.rate(1.95) == pytest.approx(10.0)
    assert monitor.status(1.95).level == OK
    assert monitor.rate(3.5) == pytest.approx(2.0)  # samples 1.6 .. 1.9 left in the window
    assert monitor.status(3.5).level == WARN


def test_rejections_counted_per_reason_and_warn_only_when_new():
    counter = RejectionCounter()
    assert counter.status().level == OK
    counter.reject('nan')
    counter.reject('nan')
    counter.reject('time_backwards')
    status = counter.status()
    assert status.level == WARN and 'nan=2' in status.message
    assert status.values['rejected_total'] == 3.0
    assert counter.status().level == OK  # nothing new since the last report
    assert counter.status().values['rejected_nan'] == 2.0


def test_worst_level():
    assert worst([]) == OK
    assert worst([RejectionCounter().status(), StalenessMonitor(1, 2).status(0)]) == WARN
