#!/usr/bin/env python3
"""
Benchmark of the KAIROS resonance bank: C++ batch path vs a numpy loop.

Prints lag-updates per second (samples x lags / wall time) for

* ``C++ push_block`` on a uniformly sampled stream (the fast path) and on an
  irregularly sampled one (the exact per-sample path), and
* a vectorised numpy per-sample loop (one Python iteration per sample, numpy
  across lags and channels, same definition),

for (C=1, K=64), (C=16, K=64) and (C=1, K=4096), side by side in one run, with
their ratios, the SIMD path that ran and what one ``push`` call costs from
Python.  A benchmark, not a test: figures depend on the machine and its load.

Usage: bench_kairos.py [--quick]   (``--quick`` shortens every measurement)
"""

import argparse
import math
import time

import becomingone_cpp
from becomingone_cpp import ResonanceBank
import numpy as np

RATE = 1024.0  # Hz, a dyadic step so uniform stamps are exact
WINDOW = 2.0


def make_stream(n, channels, irregular, seed=0):
    rng = np.random.default_rng(seed)
    steps = np.full(n, 1.0 / RATE)
    if irregular:
        steps *= rng.uniform(0.5, 1.5, n)
    t = 100.0 + np.cumsum(steps)
    phase = np.exp(1j * (2 * np.pi * 7.0 * t[:, None] + np.arange(channels)))
    phase += np.cumsum(0.01 * (rng.standard_normal((n, channels))
                               + 1j * rng.standard_normal((n, channels))), axis=0)
    return t, phase


def make_lags(k, seed=1):
    # Off the sample grid, up to 0.5 s.
    return np.sort(np.random.default_rng(seed).uniform(0.0, 0.5, k))


def numpy_loop(t, phase, lags, window, omega, warm):
    """Per-sample numpy loop; returns lag-updates/s over samples after `warm`."""
    n, channels = phase.shape
    stamps = np.empty(n)
    vel = np.empty((n, channels), dtype=complex)
    T = np.zeros(lags.size, dtype=complex)
    E0 = np.zeros(lags.size)
    Et = np.zeros(lags.size)
    start = None
    for i in range(1, n):
        if i == warm:
            start = time.perf_counter()
        dt = t[i] - t[i - 1]
        v = (phase[i] - phase[i - 1]) / dt
        stamps[i - 1] = t[i]
        vel[i - 1] = v
        m = i
        alpha = math.exp(-dt / window)
        oma = -math.expm1(-dt / window)
        rot = complex(math.cos(omega * (t[i] - t[0])), math.sin(omega * (t[i] - t[0])))
        s = t[i] - lags
        up = np.searchsorted(stamps[:m], s)
        ok = (up >= 1) | (stamps[np.minimum(up, m - 1)] == s)
        k = np.nonzero(ok)[0]
        upk = up[k]
        lo = np.maximum(upk - 1, 0)
        h = ((s[k] - stamps[lo]) / (stamps[upk] - stamps[lo] + (upk == lo)))[:, None]
        lagged = (1.0 - h) * vel[lo] + h * vel[upk]
        n2 = float(np.vdot(v, v).real)
        T[k] = alpha * T[k] + oma * rot * (lagged.conj() @ v)
        E0[k] = alpha * E0[k] + oma * n2
        Et[k] = alpha * Et[k] + oma * np.einsum('kc,kc->k', lagged, lagged.conj()).real
    elapsed = time.perf_counter() - start
    return (n - warm) * lags.size / elapsed


def cpp_block(t, phase, lags, window, omega, warm, repeats):
    """C++ push_block lag-updates/s over samples after `warm` (best of repeats)."""
    best = 0.0
    for _ in range(repeats):
        bank = ResonanceBank(lags, window, omega=omega, channels=phase.shape[1], max_rate=2 * RATE)
        bank.push_block(t[:warm], phase[:warm])
        start = time.perf_counter()
        bank.push_block(t[warm:], phase[warm:])
        elapsed = time.perf_counter() - start
        best = max(best, (len(t) - warm) * lags.size / elapsed)
    return best


def push_cost_us(k, calls):
    """Microseconds per Python-level push() call (C=1), scalar and array phase."""
    t, phase = make_stream(calls, 1, irregular=False)
    out = {}
    for label, values in (('complex', [complex(p) for p in phase[:, 0]]),
                          ('ndarray(1,)', list(phase))):
        bank = ResonanceBank(make_lags(k), WINDOW, omega=1.0)
        push = bank.push
        tl = t.tolist()
        start = time.perf_counter()
        for tn, pn in zip(tl, values):
            push(tn, pn)
        out[label] = 1e6 * (time.perf_counter() - start) / calls
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true', help='shorter measurements')
    args = parser.parse_args()
    scale = 0.25 if args.quick else 1.0
    omega = 2 * np.pi * 7.0
    warm = int(0.6 * RATE)  # history covers the longest lag (0.5 s)

    print(f'becomingone_cpp KAIROS benchmark  (SIMD path: {becomingone_cpp.simd_path()})')
    print('lag-updates/s = samples x lags / wall time; C++ = ResonanceBank.push_block; '
          'numpy = one Python iteration per sample, numpy across lags')
    header = (f"{'C':>3} {'K':>5} | {'C++ uniform':>12} {'C++ irregular':>14} | "
              f"{'numpy loop':>11} | {'ratio unif.':>11} {'ratio irr.':>10}")
    print(header)
    print('-' * len(header))
    cases = [(1, 64, 200_000, 2_000), (16, 64, 40_000, 1_500), (1, 4096, 30_000, 200)]
    for channels, k, n_cpp, n_np in cases:
        n_cpp = max(int(n_cpp * scale), 2 * warm)
        n_np = max(int(n_np * scale), 50)
        lags = make_lags(k)
        t_u, p_u = make_stream(warm + n_cpp, channels, irregular=False)
        t_i, p_i = make_stream(warm + n_cpp // 4, channels, irregular=True)
        uni = cpp_block(t_u, p_u, lags, WINDOW, omega, warm, repeats=3)
        irr = cpp_block(t_i, p_i, lags, WINDOW, omega, warm, repeats=2)
        t_n, p_n = make_stream(warm + n_np, channels, irregular=False)
        npl = numpy_loop(t_n, p_n, lags, WINDOW, omega, warm)
        print(f'{channels:>3} {k:>5} | {uni:12.3g} {irr:14.3g} | {npl:11.3g} | '
              f'{uni / npl:10.0f}x {irr / npl:9.0f}x', flush=True)
    print()
    for k in (1, 64):
        cost = push_cost_us(k, int(100_000 * scale))
        parts = ', '.join(f'{label}: {us:.2f} us' for label, us in cost.items())
        print(f'one push() call from Python, C=1, K={k}: {parts}')


if __name__ == '__main__':
    main()
