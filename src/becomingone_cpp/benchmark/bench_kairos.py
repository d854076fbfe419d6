#!/usr/bin/env python3
"""
Benchmark of the KAIROS resonance bank kernel (ResonanceBank.push_block).

Prints lag-updates per second, counted per channel (samples x lags x
channels / CPU time of the thread that pushes: the machine is shared, and the
bound is per core), for every shape

    (C=1, K=64), (C=16, K=64), (C=1, K=4096)

x every stamp kind users have

    dyadic     uniform 1024 Hz, 100 + n/1024 (every step bit-identical)
    float      uniform 1000 Hz, n/1000 (steps equal only to rounding)
    ros-ns     integer nanoseconds at 1 kHz on the epoch, converted to s
    jitter     1 kHz with every step uniform in [0.9, 1.1] ms

x two lag placements (lags up to 0.5 s)

    grid       whole multiples of the nominal sample period (lag = k samples)
    off        uniform in [0, 0.5] s, off the sample grid

with the fraction of the compute bound (``--bound``, lag-updates/s per core)
and which kernel path ran: the share of lag-blocks done by the plain fast
path, the straddle fast path and the scalar per-sample path (and, in
parentheses, plain passes that were tried and failed their check).  With
``--baseline DIR`` (a directory holding another build's ``becomingone_cpp``
package) every case is measured for that build too, in the same run, case
by case in a subprocess, and the ratio new / baseline is printed.

A benchmark, not a test: figures depend on the machine and its load.

Usage: bench_kairos.py [--quick] [--baseline DIR] [--bound 4.27e9]
"""

import argparse
import json
import os
import subprocess
import sys
import time

# numpy's BLAS threads spin after each call and would take the other core
# from the kernel being measured.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np  # noqa: E402

WINDOW = 2.0
OMEGA = 2 * np.pi * 7.0
MAX_LAG = 0.5
SHAPES = [(1, 64), (16, 64), (1, 4096)]
KINDS = ['dyadic', 'float', 'ros-ns', 'jitter']
PLACEMENTS = ['grid', 'off']
# Lag-updates per measured repeat (per channel), before --quick scaling.
WORK = 1.2e8


def stamps(kind, n, seed=0):
    if kind == 'dyadic':
        return 100.0 + np.arange(n) / 1024.0
    if kind == 'float':
        return np.arange(n) / 1000.0
    if kind == 'ros-ns':
        ns = 1_700_000_000_123_456_789 + np.arange(n, dtype=np.int64) * 1_000_000
        return ns / 1e9
    if kind == 'jitter':
        steps = np.random.default_rng(seed).uniform(0.9, 1.1, n) / 1000.0
        return 100.0 + np.cumsum(steps)
    raise ValueError(kind)


def period(kind):
    return 1.0 / 1024.0 if kind == 'dyadic' else 1.0 / 1000.0


def make_lags(k, kind, placement, seed=1):
    lags = np.random.default_rng(seed).uniform(0.0, MAX_LAG, k)
    if placement == 'grid':
        dt = period(kind)
        lags = np.round(lags / dt) * dt
    return np.sort(lags)


def phases(t, channels, seed=2):
    rng = np.random.default_rng(seed)
    phase = np.exp(1j * (2 * np.pi * 7.0 * t[:, None] + np.arange(channels)))
    noise = rng.standard_normal((len(t), channels)) + 1j * rng.standard_normal((len(t), channels))
    return phase + np.cumsum(0.01 * noise, axis=0)


def measure(channels, k, kind, placement, scale, repeats=3):
    """Best-of-repeats lag-updates/s (per channel) and the path shares."""
    import becomingone_cpp
    from becomingone_cpp import ResonanceBank
    kairos = sys.modules.get('becomingone_cpp._kairos')
    counts = getattr(kairos, '_path_counts', None)
    warm = int(1.2 * MAX_LAG * 1024) + 1
    n = max(int(WORK * scale / (k * channels)), 2 * 128)
    t = stamps(kind, warm + n)
    p = phases(t, channels)
    lags = make_lags(k, kind, placement)
    best = 0.0
    shares = None
    for _ in range(repeats):
        bank = ResonanceBank(lags, WINDOW, omega=OMEGA, channels=channels, max_rate=2048.0)
        bank.push_block(t[:warm], p[:warm])
        if counts:
            kairos._reset_path_counts()
        start = time.thread_time()
        bank.push_block(t[warm:], p[warm:])
        elapsed = time.thread_time() - start
        best = max(best, n * k * channels / elapsed)
        if counts:
            c = counts()
            total = max(1, c['plain'] + c['straddle'] + c['scalar'])
            shares = {name: c[name] / total
                      for name in ('plain', 'straddle', 'scalar', 'plain_failed')}
    return {'rate': best, 'paths': shares, 'simd': becomingone_cpp.simd_path()}


def run_baseline(directory, shape, scale):
    env = dict(os.environ, PYTHONPATH=directory + os.pathsep + os.environ.get('PYTHONPATH', ''))
    out = subprocess.run(
        [sys.executable, __file__, '--worker', json.dumps([shape, scale])],
        env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def worker(spec):
    (channels, k), scale = json.loads(spec)
    res = {}
    for kind in KINDS:
        for placement in PLACEMENTS:
            res[f'{kind}/{placement}'] = measure(channels, k, kind, placement, scale)
    print(json.dumps(res))


def fmt_paths(shares):
    if not shares:
        return 'n/a'
    return (' '.join(f'{shares[name]:4.0%}' for name in ('plain', 'straddle', 'scalar'))
            + f' ({shares["plain_failed"]:3.0%})')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--quick', action='store_true', help='shorter measurements')
    parser.add_argument('--baseline', metavar='DIR',
                        help='directory with another build of becomingone_cpp to compare')
    parser.add_argument('--bound', type=float, default=4.27e9,
                        help='compute bound, lag-updates/s per core (default 4.27e9: the 7-mul '
                             '+ 7-FMA update on the development machine\'s AVX-512 path)')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    scale = 0.25 if args.quick else 1.0

    import becomingone_cpp
    print(f'becomingone_cpp KAIROS kernel benchmark  (SIMD path: {becomingone_cpp.simd_path()})')
    print('lag-updates/s = samples x lags x channels / CPU time of the pushing thread '
          f'(ResonanceBank.push_block, best of 3); bound {args.bound:.3g}/s per core; paths = '
          'share of lag-blocks done by the plain fast / straddle fast / scalar path (and plain '
          'passes tried in vain)')
    base_col = '  baseline  new/base' if args.baseline else ''
    header = (f"{'C':>3} {'K':>5} {'stamps':>7} {'lags':>4} | {'lag-upd/s':>9} {'of bound':>8} | "
              f"{'paths: pl   st   sc (vain)':<26}" + base_col)
    print(header)
    print('-' * len(header))
    for channels, k in SHAPES:
        base = run_baseline(args.baseline, (channels, k), scale) if args.baseline else None
        for kind in KINDS:
            for placement in PLACEMENTS:
                r = measure(channels, k, kind, placement, scale)
                line = (f'{channels:>3} {k:>5} {kind:>7} {placement:>4} | {r["rate"]:9.3g} '
                        f'{r["rate"] / args.bound:8.2f} | {fmt_paths(r["paths"]):<26}')
                if base:
                    b = base[f'{kind}/{placement}']['rate']
                    line += f'  {b:8.3g}  {r["rate"] / b:7.2f}x'
                print(line, flush=True)
    if args.baseline:
        print(f'baseline: {args.baseline} (SIMD path: {base[f"{KINDS[0]}/grid"]["simd"]})')


if __name__ == '__main__':
    main()
