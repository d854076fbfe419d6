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
    sync = SyncLayer(threshold=0.2, hysteresis=0.0)
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
