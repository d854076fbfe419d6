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
// that vectorises over samples with contiguous loads.  Otherwise the lag is
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

constexpr int kBlock = 64;

struct BlockArgs
{
  int nb;                // samples in this block, 1..kBlock
  std::int64_t n0;       // logical index of the first velocity sample
  int channels;
  std::int64_t reach;    // a lag may use velocity indices >= n - reach + 1
  double t1;             // stamp of the first velocity sample
  int num_lags;
  const double * tau;
  // Per block sample j (arrays of kBlock, padded; channel-major c*kBlock+j).
  const double * tn;
  const double * ure;
  const double * uim;
  const double * beta;
  double block_decay;    // A
  double block_e0;       // sum_j b_j |v_j|^2
  const double * alpha;
  const double * oma;    // 1 - alpha, as -expm1(-dt/W)
  const double * wre;    // (1 - alpha) cos(theta)
  const double * wim;    // (1 - alpha) sin(theta)
  const double * norm2;  // |v_j|^2
  const double * vnre;   // v_j, channel-major c*kBlock+j
  const double * vnim;
  // History, physical index = logical index - base.
  std::int64_t base;
  const double * ts;
  const double * inv_dt;
  const double * vre;    // channel-major c*vstride + p
  const double * vim;
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
};

using KernelFn = void (*)(const BlockArgs &, LagState &);

/// Selects the widest kernel the CPU supports (once); `name` receives its
/// name.  BECOMINGONE_KAIROS_SIMD=default|avx2|avx512f may only narrow it.
KernelFn select_kernel(const char ** name);

// ---------------------------------------------------------------------------
// Scalar path for one lag over the block: the definition, sample by sample.
inline void scalar_lag(const BlockArgs & a, LagState & st, int k)
{
  const double tau = a.tau[k];
  const int C = a.channels;
  double tre = st.tre[k], tim = st.tim[k], e0 = st.e0[k], et = st.et[k];
  std::int64_t cur = st.cursor[k];
  for (int j = 0; j < a.nb; ++j) {
    const std::int64_t n = a.n0 + j;
    const double s = a.tn[j] - tau;
    if (s < a.t1) {
      continue;  // history does not reach back tau yet
    }
    const std::int64_t winlo = std::max<std::int64_t>(1, n - a.reach + 1);
    std::int64_t up = std::max(cur, winlo);
    while (up < n && a.ts[up - a.base] < s) {
      ++up;
    }
    cur = up;
    const std::int64_t pup = up - a.base;
    double xr = 0.0, xi = 0.0, ll = 0.0;
    if (a.ts[pup] == s) {
      for (int c = 0; c < C; ++c) {
        const double lr = a.vre[c * a.vstride + pup], li = a.vim[c * a.vstride + pup];
        const double vr = a.vnre[c * kBlock + j], vi = a.vnim[c * kBlock + j];
        xr += vr * lr + vi * li;
        xi += vi * lr - vr * li;
        ll += lr * lr + li * li;
      }
    } else {
      const std::int64_t lo = up - 1;
      if (lo < winlo) {
        ++st.overrun;  // bracket fell out of the bounded history
        continue;
      }
      const std::int64_t plo = lo - a.base;
      const double h = (s - a.ts[plo]) * a.inv_dt[pup];
      for (int c = 0; c < C; ++c) {
        const double ar = a.vre[c * a.vstride + plo], ai = a.vim[c * a.vstride + plo];
        const double br = a.vre[c * a.vstride + pup], bi = a.vim[c * a.vstride + pup];
        const double lr = ar - h * ar + h * br;
        const double li = ai - h * ai + h * bi;
        const double vr = a.vnre[c * kBlock + j], vi = a.vnim[c * kBlock + j];
        xr += vr * lr + vi * li;
        xi += vi * lr - vr * li;
        ll += lr * lr + li * li;
      }
    }
    const double al = a.alpha[j];
    const double nr = al * tre + (a.wre[j] * xr - a.wim[j] * xi);
    const double ni = al * tim + (a.wre[j] * xi + a.wim[j] * xr);
    tre = nr;
    tim = ni;
    e0 = al * e0 + a.oma[j] * a.norm2[j];
    et = al * et + a.oma[j] * ll;
  }
  st.tre[k] = tre;
  st.tim[k] = tim;
  st.e0[k] = e0;
  st.et[k] = et;
  st.cursor[k] = cur;
}

#if defined(__GNUC__) || defined(__clang__)
#define KAIROS_INLINE inline __attribute__((always_inline))
typedef double v8d __attribute__((vector_size(64)));
typedef std::int64_t v8l __attribute__((vector_size(64)));

KAIROS_INLINE v8d load8(const double * p)
{
  v8d v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

KAIROS_INLINE double hsum(v8d v)
{
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

// The whole block for every lag.  Written with GCC/Clang vector extensions so
// the same source becomes AVX-512, AVX2, SSE2 or NEON code depending on the
// target of the function it is inlined into.
KAIROS_INLINE void block_kernel(const BlockArgs & a, LagState & st)
{
  const int nb = a.nb;
  const int nv = (nb + 7) / 8;
  const int C = a.channels;
  const v8l iota = {0, 1, 2, 3, 4, 5, 6, 7};
  const v8d zero = {0, 0, 0, 0, 0, 0, 0, 0};
  const v8d one = zero + 1.0;
  const std::int64_t winlo0 = std::max<std::int64_t>(1, a.n0 - a.reach + 1);
  for (int k = 0; k < a.num_lags; ++k) {
    const double tau = a.tau[k];
    const double s0 = a.tn[0] - tau;
    if (s0 < a.t1) {
      scalar_lag(a, st, k);
      continue;
    }
    std::int64_t up = std::max(st.cursor[k], winlo0);
    while (up < a.n0 && a.ts[up - a.base] < s0) {
      ++up;
    }
    if (up - 1 < winlo0) {
      scalar_lag(a, st, k);
      continue;
    }
    const std::int64_t pup = up - a.base;
    const std::int64_t plo = pup - 1;
    const v8d tauv = zero + tau;
    v8d xr = zero, xi = zero, y = zero;
    v8l bad = iota - iota;
    for (int v = 0; v < nv; ++v) {
      const int j0 = 8 * v;
      const v8l active = iota < static_cast<std::int64_t>(nb - j0);
      const v8d s = load8(a.tn + j0) - tauv;
      const v8d tlo = load8(a.ts + plo + j0);
      const v8d tup = load8(a.ts + pup + j0);
      const v8d d = s - tlo;
      bad |= active & ((d <= zero) | (s > tup));
      v8d h = d * load8(a.inv_dt + pup + j0);
      h = (s == tup) ? one : h;
      h = active ? h : zero;  // padded lanes: finite, and weighted by 0
      v8d ll = zero;
      for (int c = 0; c < C; ++c) {
        const double * vr = a.vre + c * a.vstride;
        const double * vi = a.vim + c * a.vstride;
        const v8d ar = load8(vr + plo + j0), ai = load8(vi + plo + j0);
        const v8d br = load8(vr + pup + j0), bi = load8(vi + pup + j0);
        const v8d lr = ar - h * ar + h * br;
        const v8d li = ai - h * ai + h * bi;
        const v8d ur = load8(a.ure + c * kBlock + j0), ui = load8(a.uim + c * kBlock + j0);
        xr += ur * lr + ui * li;
        xi += ui * lr - ur * li;
        ll += lr * lr + li * li;
      }
      y += load8(a.beta + j0) * ll;
    }
    bool any_bad = false;
    for (int i = 0; i < 8; ++i) {
      any_bad |= (bad[i] != 0);
    }
    if (any_bad) {
      scalar_lag(a, st, k);
      continue;
    }
    const double A = a.block_decay;
    st.tre[k] = A * st.tre[k] + hsum(xr);
    st.tim[k] = A * st.tim[k] + hsum(xi);
    st.e0[k] = A * st.e0[k] + a.block_e0;
    st.et[k] = A * st.et[k] + hsum(y);
    st.cursor[k] = up + nb - 1;
  }
}
#else
inline void block_kernel(const BlockArgs & a, LagState & st)
{
  for (int k = 0; k < a.num_lags; ++k) {
    scalar_lag(a, st, k);
  }
}
#endif

}  // namespace detail
}  // namespace kairos
}  // namespace becomingone

#endif  // KAIROS_KERNEL_HPP_
