"""The pure output logic: gate, tone, colour and motion limits."""

import colorsys

from becomingone_adapters.color import phase_color, terminal_line
from becomingone_adapters.gate import CollapseGate
from becomingone_adapters.motion import EStopLatch, MotionLimiter, seed_twist
from becomingone_adapters.tone import seed_frequency, ToneSynth
import numpy as np
import pytest


def test_gate_opens_only_while_collapsed_and_fresh():
    gate = CollapseGate(watchdog_s=0.5)
    assert not gate.is_open(0.0) and gate.reason(0.0) == 'no sync state yet'
    gate.update(1.0, True, 0.9, 0.5 + 0.5j)
    assert gate.is_open(1.4)
    assert not gate.is_open(1.6) and 'stale' in gate.reason(1.6)
    gate.update(2.0, False, 0.2, 0j)
    assert not gate.is_open(2.0) and gate.reason(2.0) == 'released'
    with pytest.raises(ValueError):
        gate.update(3.0, True, float('nan'), 0j)


def test_seed_mappings():
    assert seed_frequency(0.5) == pytest.approx(660.0)
    assert seed_frequency(5.0) == pytest.approx(880.0)
    assert seed_twist(0.5 + 1.0j) == pytest.approx((0.0, 1.0))
    assert seed_twist(-1.0 + 0.0j) == pytest.approx((-1.0, -1.0))


def test_tone_has_no_clicks_across_blocks_and_changes():
    synth = ToneSynth(sample_rate=8000, glide_s=0.01, max_gain=1.0)
    blocks = [synth.render(256, 440.0, 1.0) for _ in range(4)]
    blocks += [synth.render(256, 880.0, 0.3) for _ in range(4)]
    blocks += [synth.render(256, 880.0, 0.0) for _ in range(8)]
    signal = np.concatenate(blocks)
    # A click is a jump far larger than the steepest slope of the loudest tone allowed.
    max_step = 2 * np.pi * 880.0 / 8000 * 1.05
    assert np.max(np.abs(np.diff(signal))) < max_step
    assert np.max(np.abs(signal[-256:])) < 1e-3  # faded out, not cut


def test_tone_frequency_follows_target():
    synth = ToneSynth(sample_rate=8000, glide_s=0.005, max_gain=1.0)
    synth.render(4000, 500.0, 1.0)
    block = synth.render(8000, 500.0, 1.0)
    spectrum = np.abs(np.fft.rfft(block))
    assert np.argmax(spectrum) == pytest.approx(500, abs=1)


def test_phase_color_hue_and_brightness():
    r, g, b = phase_color(1.0 + 0j, 1.0)
    assert colorsys.rgb_to_hsv(r, g, b)[0] == pytest.approx(0.5)
    assert phase_color(-1.0 + 0j, 1.0) == pytest.approx((1.0, 0.0, 0.0))
    assert phase_color(1j, 0.0) == pytest.approx((0.0, 0.0, 0.0))
    assert 'COLLAPSED' in terminal_line((1, 0, 0), 0.9, True)


def test_motion_limits_speed_and_acceleration():
    limiter = MotionLimiter(max_linear=0.2, max_angular=0.5, max_linear_accel=1.0,
                            max_angular_accel=1.0)
    v, w = limiter.step((1.0, -1.0), 0.05)
    assert v == pytest.approx(0.05) and w == pytest.approx(-0.05)
    for _ in range(100):
        v, w = limiter.step((1.0, -1.0), 0.05)
    assert v == pytest.approx(0.2) and w == pytest.approx(-0.5)
    assert limiter.stop() == (0.0, 0.0) and limiter.linear == 0.0


def test_estop_latches_until_reset_after_release():
    latch = EStopLatch()
    latch.on_input(True)
    latch.on_input(False)
    assert latch.latched  # False on the input does not clear it
    latch.on_input(True)
    ok, _ = latch.reset()
    assert not ok and latch.latched
    latch.on_input(False)
    ok, _ = latch.reset()
    assert ok and not latch.latched
