"""The sync layer: Δphase, T_sync, collapse with hysteresis, realign requests."""

import math

from becomingone_core.sync import COLLAPSE, REALIGN, REALIGNED, RELEASE, SyncLayer
import pytest


def test_definitions():
    sync = SyncLayer(threshold=0.5, hysteresis=0.1, realign_threshold=0.5)
    decision = sync.update(0.9 + 0.1j, 0.3 - 0.2j, stamp_s=1.0)
    assert decision.sync == pytest.approx((0.9 + 0.1j + 0.3 - 0.2j) / 2)
    assert decision.delta_phase == pytest.approx(abs(abs(0.9 + 0.1j) - abs(0.3 - 0.2j)))
    assert decision.coherence == pytest.approx(abs(decision.sync) ** 2)
    assert decision.realign_requested and decision.events == (REALIGN,)


def test_collapse_and_release_with_hysteresis():
    sync = SyncLayer(threshold=0.5, hysteresis=0.1)
    assert sync.update(0.7, 0.7, 0.0).events == ()  # 0.49 < I_c
    assert sync.update(0.72, 0.72, 1.0).events == (COLLAPSE,)
    assert sync.update(0.65, 0.65, 2.0).collapsed  # 0.42: inside the hysteresis band
    decision = sync.update(0.6, 0.6, 3.0)  # 0.36 < I_c - h
    assert not decision.collapsed and decision.events == (RELEASE,)
    assert sync.first_collapse_s == 1.0 and sync.time_collapsed_s == pytest.approx(2.0)
    assert sync.collapses == 1 and sync.releases == 1


def test_zero_hysteresis_releases_below_threshold():
    sync = SyncLayer(threshold=0.5, hysteresis=0.0)
    sync.update(1.0, 1.0, 0.0)
    assert sync.update(0.7, 0.7, 1.0).events == (RELEASE,)


def test_opposite_phases_cancel():
    sync = SyncLayer(threshold=0.5)
    decision = sync.update(1.0, -1.0, 0.0)
    assert decision.coherence == pytest.approx(0.0) and decision.delta_phase == 0.0


def test_missing_or_bad_summaries_count_as_zero():
    sync = SyncLayer(threshold=0.2, hysteresis=0.0, realign_threshold=0.5)
    assert sync.update(1.0, 1.0, 0.0).collapsed
    decision = sync.update(1.0, None, 1.0)
    assert decision.coherence == pytest.approx(0.25) and decision.realign_requested
    decision = sync.update(complex(math.nan, 0), 0.3, 2.0)
    assert not decision.collapsed and decision.events == (RELEASE, REALIGNED)
    assert sync.update(3.0, 3.0, 3.0).coherence == pytest.approx(1.0)  # clipped to |T| <= 1


def test_total_collapsed_time_includes_the_ongoing_collapse():
    sync = SyncLayer(threshold=0.5)
    sync.update(1.0, 1.0, 10.0)
    assert sync.total_collapsed_s(12.5) == pytest.approx(2.5)


@pytest.mark.parametrize('kwargs', [{'threshold': 0.0}, {'threshold': 0.5, 'hysteresis': 0.5},
                                    {'realign_threshold': 0.0}])
def test_bad_settings(kwargs):
    with pytest.raises(ValueError):
        SyncLayer(**kwargs)


def test_one_clock_per_decision_staleness_on_receipt_stamps_on_the_sensors():
    # The sensors' clock runs 1000 s ahead of the receiver's here: decisions must follow the
    # sensors' clock throughout, stale ones included, and staleness the receiver's.
    layer = SyncLayer(0.5, 0.1, 0.5, resonance_timeout_s=1.0)
    second = 1_000_000_000
    offset = 1000 * second
    decision = None
    for k in range(5):
        now = k * second // 10
        layer.observe('master', 0.9, offset + now, now)
        decision = layer.observe('emissary', 0.9, offset + now, now)
    assert decision.collapsed and decision.stamp_ns == offset + 4 * second // 10
    assert layer.expire(int(1.3 * second)) is None  # heard 0.9 s ago: still fresh
    stale = layer.expire(int(1.5 * second))
    assert stale is not None and not stale.collapsed
    assert layer.missing() == ['master', 'emissary']
    # Stamped on the sensors' clock: the last stamp plus the receiver time since then.
    assert stale.stamp_ns == offset + int(1.5 * second)
    assert layer.time_collapsed_s == pytest.approx(1.5)  # from the first decision on
    # A summary stamped before the newest decision does not move time back.
    late = layer.observe('master', 0.9, offset, int(1.6 * second))
    assert late.stamp_ns == stale.stamp_ns


def test_expire_before_any_decision_decides_nothing():
    layer = SyncLayer()
    assert layer.expire(10**12) is None


def test_only_the_slow_scale_realigns_and_at_most_once_a_period():
    from becomingone_core.realign import RealignPolicy
    master, emissary = RealignPolicy('master', 0.5, 1.0), RealignPolicy('emissary', 0.5, 1.0)
    assert master.due(True, 0.3, 0.9, 10.0) == 0.5  # coherence arriving: the Master lags
    assert master.due(True, 0.3, 0.9, 10.5) is None  # within its period
    assert master.due(True, 0.9, 0.3, 11.0) == 0.5  # coherence leaving: the Master holds on
    assert master.due(False, 0.3, 0.9, 20.0) is None  # nothing requested
    assert emissary.due(True, 0.3, 0.9, 10.0) is None  # the fast scale has seen the present
    assert RealignPolicy('master', 1.0).due(True, 0.1, 0.9, 0.0) is None  # 1: off
    with pytest.raises(ValueError):
        RealignPolicy('master', 0.0)
