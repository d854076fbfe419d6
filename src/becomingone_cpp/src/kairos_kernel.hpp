// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// Internal: the block kernel that advances every lag over one block of
// velocity samples.  Not installed.
//
// Committed state only ever advances by whole blocks of kBlock samples that
// are aligned to the sample index, so the arithmetic done on the state
// depends on the accepted samples alone, never on how they were split into
// push()/push_block() calls (push_block == N pushes, bit for bit).  A read
// between block boundaries evaluates the pending partial block into a copy.
//
// Per lag and block the kernel first tries the fast path: if the bracket of
// t_n - tau_k advances by exactly one stored sample per sample over the whole
// block (always true for uniform sampling, and for jittered sampling away
// from stamp coincidences), the block update is the closed form
//   T_k  <- A T_k  + sum_j U_j conj(l_k(j)),   U_j = (1-a_j) e^{i th_j} P_j v_j
//   Et_k <- A Et_k + sum_j b_j |l_k(j)|^2,     b_j = (1-a_j) P_j
//   E0_k <- A E0_k + sum_j b_j |v_j|^2          (same for all lags)
// with P_j = prod_{i>j} a_i and A = prod_j a_j: a dot product over the block
// that vectorises over samples with contiguous loads, a few lags per pass.
// The lagged velocity is l = v_up + g (v_up - v_lo), g = (s - t_up) /
// (t_up - t_lo) in [-1, 0] (one FMA; exactly v_up on a stamp).  Otherwise the lag is
// done sample by sample (scalar path), which also handles warm-up, the
// bounded-history overrun and irregular sampling.

#ifndef KAIROS_KERNEL_HPP_
#define KAIROS_KERNEL_HPP_

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace becomingone
{
namespace kairos
{
namespace detail
{

constexpr int kBlock = 128;
// Row stride of the per-sample terms buffer (BlockArgs::tn): a block plus
// one cache line, so that its 2 + 2C rows do not all fall into the same few
// L1 sets (rows a multiple of 4 KiB apart share a set; with 16 channels the
// kernel reads 34 of them per vector of samples).
constexpr int kRow = kBlock + 8;

struct BlockArgs
{
  int nb;                // samples in this block, 1..kBlock
  std::int64_t n0;       // logical index of the first velocity sample
  int channels;
  std::int64_t reach;    // a lag may use velocity indices >= n - reach + 1
  double t1;             // stamp of the first velocity sample
  int num_lags;
  const double * tau;
  // Per block sample j, filled by the caller (arrays of kBlock, padded with
  // finite values, or the history itself for a whole block; velocities
  // channel-major c*vnstride+j).  tn, beta, ure and uim are one buffer:
  // beta = tn + kRow, ure = tn + 2*kRow, uim = ure + C*kRow.
  const double * tn;
  const double * active;  // 1.0 for j < nb, 0.0 for the padding
  const double * alpha;
  const double * oma;    // 1 - alpha, as -expm1(-dt/W)
  const double * theta;  // omega (t - t0) mod 2 pi
  const double * norm2;  // |v_j|^2
  const double * vnre;   // v_j, channel-major c*vnstride+j
  const double * vnim;
  std::int64_t vnstride;
  // Per block sample j, derived by the kernel itself (scratch of kBlock or
  // kBlock*C doubles): the rotation (1 - alpha) e^{i theta}, the products
  // P_j = prod_{i>j} alpha_i, b_j = (1 - alpha_j) P_j and U_j.
  double * wre;
  double * wim;
  double * prod;
  double * beta;
  double * ure;
  double * uim;
  // History, physical index = logical index - base.
  std::int64_t base;
  const double * ts;
  const double * inv_dt;
  const double * vre;    // channel-major c*vstride + p
  const double * vim;
  const double * dre;    // v_p - v_{p-1} (v_0 taken as 0); channels == 1 only
  const double * dim;
  std::int64_t vstride;
};

struct LagState
{
  double * tre;
  double * tim;
  double * e0;
  double * et;
  std::int64_t * cursor;  // upper bracket index used for the last sample
  std::uint64_t overrun;
  // Per lag: bit 0 if its plain check failed last time, bit 1 if its
  // whole-block straddle check did (a speed hint, not state: results do not
  // depend on it, see block_kernel_t).  Not a char type, so that its stores
  // cannot alias the kernel's pointers and indices (no reloads per lag).
  std::uint16_t * hint;
  // Lag-blocks done by each path (for the benchmark's "which path ran").
  std::uint64_t n_plain = 0;
  std::uint64_t n_straddle = 0;
  std::uint64_t n_scalar = 0;
  std::uint64_t n_plain_failed = 0;   // plain passes tried in vain
  std::uint64_t n_plain_skipped = 0;  // plain passes skipped by plain_holds
};

/// Lag-blocks done by the plain fast path, the straddle fast path and the
/// scalar path, plain passes tried in vain and plain passes skipped (the
/// check alone showed they would fail), since the process started
/// (or the last reset), all banks.
void path_counts(std::uint64_t out[5]);
void reset_path_counts();
void add_path_counts(const LagState & st);

/// Derives the per-sample block terms (wre..uim above), then advances every
/// lag over the block.
using KernelFn = void (*)(const BlockArgs &, LagState &);

/// Selects the widest kernel the CPU supports (once); `name` receives its
/// name.  BECOMINGONE_KAIROS_SIMD=default|avx2|avx512f may only narrow it.
KernelFn select_kernel(const char ** name);

/// theta_j = omega (t_j - t0) mod 2 pi for n samples (accurate to ~1e-16
/// rad; the value of a sample depends on t_j alone, not on n or j), from the
/// same target as select_kernel().
using PhaseFn = void (*)(double omega, double t0, const double * t, double * theta, int n);
PhaseFn select_phases();

/// The per-sample bookkeeping of n <= kBlock samples t[j], phase[j] (C
/// complex values each, interleaved re, im) that follow (t_prev, ph_prev):
/// dt_j, 1/dt_j, v_j = (phi_j - phi_{j-1}) / dt_j (times 1/dt; channel-major
/// c*kBlock+j) and |v_j|^2.  Returns false if any sample fails push()'s
/// checks after the first (t not after the previous, t not finite, |v|^2 not
/// finite, which covers non-finite phases and velocities).  A sample's values
/// depend on it and its predecessor alone, from the same target as
/// select_kernel().
using SampleFn = bool (*)(const double * t, const double * phase, int n, int C, double t_prev,
  const double * ph_prev, double * dt, double * inv, double * vr, double * vi, double * n2);
SampleFn select_samples();

}  // namespace detail
}  // namespace kairos
}  // namespace becomingone

#endif  // KAIROS_KERNEL_HPP_
