// Copyright 2025 BecomingONE contributors. Apache-2.0.

#include "becomingone_cpp/kairos.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kairos_kernel.hpp"

namespace becomingone
{
namespace kairos
{

using detail::kBlock;

namespace detail
{
namespace
{
std::atomic<std::uint64_t> g_paths[5];
}  // namespace

void path_counts(std::uint64_t out[5])
{
  for (int i = 0; i < 5; ++i) {
    out[i] = g_paths[i].load(std::memory_order_relaxed);
  }
}

void reset_path_counts()
{
  for (auto & c : g_paths) {
    c.store(0, std::memory_order_relaxed);
  }
}

void add_path_counts(const LagState & st)
{
  g_paths[0].fetch_add(st.n_plain, std::memory_order_relaxed);
  g_paths[1].fetch_add(st.n_straddle, std::memory_order_relaxed);
  g_paths[2].fetch_add(st.n_scalar, std::memory_order_relaxed);
  g_paths[3].fetch_add(st.n_plain_failed, std::memory_order_relaxed);
  g_paths[4].fetch_add(st.n_plain_skipped, std::memory_order_relaxed);
}
}  // namespace detail

namespace
{

constexpr std::int64_t kMaxHistory = std::int64_t{1} << 26;

template<typename T>
void put(std::string & out, const T & v)
{
  out.append(reinterpret_cast<const char *>(&v), sizeof(T));
}

template<typename T>
void put_vec(std::string & out, const T * p, std::size_t n)
{
  out.append(reinterpret_cast<const char *>(p), n * sizeof(T));
}

struct Reader
{
  const std::string & s;
  std::size_t pos = 0;
  void need(std::size_t n)
  {
    if (n > s.size() || pos > s.size() - n) {
      throw std::invalid_argument("ResonanceBank.from_bytes: truncated data");
    }
  }
  template<typename T>
  T get()
  {
    need(sizeof(T));
    T v;
    std::memcpy(&v, s.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  template<typename T>
  void get_vec(T * p, std::size_t n)
  {
    if (n > (s.size() / sizeof(T)) + 1) {
      throw std::invalid_argument("ResonanceBank.from_bytes: truncated data");
    }
    need(n * sizeof(T));
    std::memcpy(p, s.data() + pos, n * sizeof(T));
    pos += n * sizeof(T);
  }
};

// Cache-line aligned storage for the history, so that vector loads at a
// given sample offset cross cache lines the same way in every array.
template<typename T>
struct LineAllocator
{
  using value_type = T;
  LineAllocator() = default;
  template<typename U>
  explicit LineAllocator(const LineAllocator<U> &) {}
  T * allocate(std::size_t n)
  {
    return static_cast<T *>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T * p, std::size_t) {::operator delete(p, std::align_val_t(64));}
  bool operator==(const LineAllocator &) const {return true;}
  bool operator!=(const LineAllocator &) const {return false;}
};
using HistoryVec = std::vector<double, LineAllocator<double>>;

const char kMagic[8] = {'K', 'A', 'I', 'R', 'O', 'S', 'B', 'K'};
constexpr std::uint32_t kFormatVersion = 2;
constexpr std::uint32_t kEndianProbe = 0x01020304u;

}  // namespace

struct ResonanceBank::Impl
{
  // Parameters.
  std::vector<double> lags;
  double window;
  double omega;
  int C;
  double max_rate;
  int K;
  std::int64_t reach;   // velocity samples a lag may reach back
  std::int64_t keep;    // samples kept when the history is compacted
  std::int64_t phys;    // physical history length (without slack)

  // Stream.
  std::uint64_t n_samples = 0;
  std::uint64_t n_rejected = 0;
  std::uint64_t n_overrun = 0;   // committed part
  bool have_t0 = false;
  double t0 = 0.0;
  double t_last = 0.0;
  double t1 = 0.0;
  std::vector<std::complex<double>> phi_last;
  std::int64_t n_last = 0;       // logical index of the newest velocity sample
  std::int64_t n_committed = 0;  // newest velocity sample in the committed state

  // History (structure of arrays), physical index = logical - base.
  std::int64_t base = 1;
  // theta: omega (t - t0) mod 2 pi; dre/dim (one channel only, else empty):
  // v_p - v_{p-1} (v_0 taken as 0) for the fast path, derived, not persisted.
  // With more channels the kernel forms them on the fly: the history stays
  // half as large, which matters more there than two subtractions.
  HistoryVec ts, inv_dt, alpha, oma, theta, norm2, vre, vim, dre, dim;

  // Committed lag state.
  std::vector<double> tre, tim, e0, et;
  std::vector<std::int64_t> cursor;

  // Read view: committed state advanced over the pending partial block.
  mutable bool view_valid = false;
  mutable std::vector<double> vtre, vtim, ve0, vet;
  mutable std::vector<std::int64_t> vcursor;
  mutable std::uint64_t v_overrun = 0;

  // Block scratch.
  // b_lanes holds t_n, beta, U re, U im in rows of kRow (see BlockArgs::tn).
  mutable std::vector<double> b_act, b_lanes, b_alpha, b_oma, b_theta, b_wre, b_wim, b_prod,
    b_norm2, b_vnre, b_vnim;

  // Scratch of push_run and push_one (kBlock samples; velocities
  // channel-major).
  std::vector<double> run_dt, run_inv, run_n2, run_vr, run_vi;
  // Per-lag fast-path hint (see detail::LagState::hint): not state.
  mutable std::vector<std::uint16_t> hint;
  detail::KernelFn kernel;
  detail::PhaseFn phases;
  detail::SampleFn samples;
  mutable std::mutex mu;
  // Cache of dt -> (alpha, 1 - alpha); not state (a pure function).
  struct AlphaEntry
  {
    double dt = -1.0, alpha = 0.0, oma = 0.0;
  };
  static constexpr int kAlphaCacheBits = 6;
  AlphaEntry alpha_cache[1 << kAlphaCacheBits];

  // alpha and 1 - alpha of dt (the latter via expm1, accurate for dt << W);
  // a repeated dt (uniform sampling) reuses them: same input, same value.
  // Stamps uniform only to rounding (float rates, ROS nanoseconds) cycle
  // through a handful of dt values that differ in middle or low mantissa
  // bits, so the slot is taken from the top bits of a multiplicative
  // (Fibonacci) hash of all 64 bits: the old key (low bits ^ bits 17..21)
  // put the 3 dt values of 1 kHz ROS-ns stamps in one slot, and missed on
  // about half of the samples (an exp and an expm1 each).  A pure function
  // of dt, so the cache never changes a bit.
  const AlphaEntry & alpha_of(double dt)
  {
    std::uint64_t bits;
    std::memcpy(&bits, &dt, sizeof(bits));
    AlphaEntry & ce =
      alpha_cache[(bits * 0x9E3779B97F4A7C15ull) >> (64 - kAlphaCacheBits)];
    if (dt != ce.dt) {
      ce.dt = dt;
      const double x = dt / window;
      ce.alpha = std::exp(-x);
      ce.oma = -std::expm1(-x);
    }
    return ce;
  }

  Impl(std::vector<double> lags_in, double window_in, double omega_in, int channels,
    double max_rate_in)
  : lags(std::move(lags_in)), window(window_in), omega(omega_in), C(channels),
    max_rate(max_rate_in)
  {
    if (lags.empty()) {
      throw std::invalid_argument("ResonanceBank: lags must not be empty");
    }
    double max_lag = 0.0;
    for (double l : lags) {
      if (!std::isfinite(l) || l < 0.0) {
        throw std::invalid_argument("ResonanceBank: lags must be finite and >= 0 seconds");
      }
      max_lag = std::max(max_lag, l);
    }
    if (lags.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
      throw std::invalid_argument("ResonanceBank: too many lags");
    }
    if (!std::isfinite(window) || window <= 0.0) {
      throw std::invalid_argument("ResonanceBank: window must be finite and > 0 seconds");
    }
    if (!std::isfinite(omega)) {
      throw std::invalid_argument("ResonanceBank: omega must be finite");
    }
    if (channels < 1) {
      throw std::invalid_argument("ResonanceBank: channels must be >= 1");
    }
    if (!std::isfinite(max_rate) || max_rate <= 0.0) {
      throw std::invalid_argument("ResonanceBank: max_rate must be finite and > 0 Hz");
    }
    const double span = std::ceil(max_lag * max_rate);
    if (!(span < static_cast<double>(kMaxHistory))) {
      throw std::invalid_argument(
              "ResonanceBank: max(lags) * max_rate exceeds the history bound (2^26 samples)");
    }
    K = static_cast<int>(lags.size());
    // +3: the lower bracket sample, the current one and rounding slack.
    reach = static_cast<std::int64_t>(span) + 3;
    keep = reach + 2 * kBlock;
    phys = 2 * keep;
    const std::size_t alloc = static_cast<std::size_t>(phys + 2 * kBlock);
    for (auto * v : {&ts, &inv_dt, &alpha, &oma, &theta, &norm2}) {
      v->assign(alloc, 0.0);
    }
    for (auto * v : {&vre, &vim}) {
      v->assign(alloc * C, 0.0);
    }
    for (auto * v : {&dre, &dim}) {
      v->assign(C == 1 ? alloc : 0, 0.0);
    }
    for (auto * v : {&b_act, &b_alpha, &b_oma, &b_theta, &b_wre, &b_wim, &b_prod, &b_norm2}) {
      v->assign(kBlock, 0.0);
    }
    b_lanes.assign(static_cast<std::size_t>(detail::kRow) * (2 + 2 * C), 0.0);
    for (auto * v : {&b_vnre, &b_vnim}) {
      v->assign(static_cast<std::size_t>(kBlock) * C, 0.0);
    }
    for (auto * v : {&run_dt, &run_inv, &run_n2}) {
      v->assign(kBlock, 0.0);
    }
    for (auto * v : {&run_vr, &run_vi}) {
      v->assign(static_cast<std::size_t>(kBlock) * C, 0.0);
    }
    kernel = detail::select_kernel(nullptr);
    phases = detail::select_phases();
    samples = detail::select_samples();
    clear();
  }

  std::int64_t vstride() const {return phys + 2 * kBlock;}

  void clear()
  {
    n_samples = n_rejected = n_overrun = 0;
    have_t0 = false;
    t0 = t_last = t1 = 0.0;
    phi_last.assign(C, {0.0, 0.0});
    n_last = n_committed = 0;
    base = 1;
    for (auto * v : {&ts, &inv_dt, &alpha, &oma, &theta, &norm2, &vre, &vim, &dre, &dim}) {
      std::fill(v->begin(), v->end(), 0.0);
    }
    tre.assign(K, 0.0);
    tim.assign(K, 0.0);
    e0.assign(K, 0.0);
    et.assign(K, 0.0);
    cursor.assign(K, 1);
    hint.assign(K, 0);
    view_valid = false;
  }

  // Makes room for logical index i in the physical history.
  void ensure_room(std::int64_t i)
  {
    if (i - base < phys) {
      return;
    }
    const std::int64_t new_base = i - keep;
    const std::int64_t shift = new_base - base;
    const std::int64_t count = i - new_base;  // samples new_base .. i-1
    // Everything past the kept samples is zeroed, so what the kernel's padded
    // vector lanes read there never depends on the history's past layout.
    const std::int64_t vs = vstride();
    for (auto * v : {&ts, &inv_dt, &alpha, &oma, &theta, &norm2}) {
      std::memmove(v->data(), v->data() + shift, count * sizeof(double));
      std::fill(v->begin() + count, v->begin() + vs, 0.0);
    }
    for (int c = 0; c < C; ++c) {
      for (auto * v : {&vre, &vim, &dre, &dim}) {
        if (v->empty()) {
          continue;
        }
        double * row = v->data() + c * vs;
        std::memmove(row, row + shift, count * sizeof(double));
        std::fill(row + count, row + vs, 0.0);
      }
    }
    base = new_base;
  }

  bool push_one(double t, const std::complex<double> * phase)
  {
    bool ok = std::isfinite(t);
    for (int c = 0; ok && c < C; ++c) {
      ok = std::isfinite(phase[c].real()) && std::isfinite(phase[c].imag());
    }
    if (ok && have_t0 && !(t > t_last)) {
      ok = false;
    }
    if (!ok) {
      ++n_rejected;
      return false;
    }
    if (!have_t0) {
      have_t0 = true;
      t0 = t_last = t;
      std::copy(phase, phase + C, phi_last.begin());
      ++n_samples;
      view_valid = false;
      return true;
    }
    // dt, 1/dt, the velocities and |v|^2 by the dispatched code that
    // push_run uses for its runs (so the same bits), into scratch: a
    // rejected sample leaves no trace.
    if (!samples(&t, reinterpret_cast<const double *>(phase), 1, C, t_last,
      reinterpret_cast<const double *>(phi_last.data()), run_dt.data(), run_inv.data(),
      run_vr.data(), run_vi.data(), run_n2.data()))
    {
      ++n_rejected;
      return false;
    }
    const double dt = run_dt[0];
    const double inv = run_inv[0];
    const double n2 = run_n2[0];
    const std::int64_t i = n_last + 1;
    ensure_room(i);
    const std::int64_t p = i - base;
    const AlphaEntry & ce = alpha_of(dt);
    const double a = ce.alpha;
    const double om = ce.oma;
    ts[p] = t;
    inv_dt[p] = inv;
    alpha[p] = a;
    oma[p] = om;
    // theta by the dispatched vector code (the same for push_run's runs);
    // e^{i theta} is evaluated per block, vectorised, by the kernel.
    phases(omega, t0, &t, &theta[p], 1);
    norm2[p] = n2;
    const std::int64_t vs = vstride();
    for (int c = 0; c < C; ++c) {
      vre[c * vs + p] = run_vr[c * kBlock];
      vim[c * vs + p] = run_vi[c * kBlock];
    }
    set_differences(p);
    if (i == 1) {
      t1 = t;
    }
    n_last = i;
    t_last = t;
    std::copy(phase, phase + C, phi_last.begin());
    ++n_samples;
    view_valid = false;
    if (n_last % kBlock == 0) {
      commit();
    }
    return true;
  }

  // Advances the committed state over the pending samples (a whole block at
  // an aligned boundary; a shorter one when dissipate() asks mid-block).
  void commit()
  {
    const std::int64_t pending = n_last - n_committed;
    if (pending <= 0) {
      return;
    }
    detail::LagState st{tre.data(), tim.data(), e0.data(), et.data(), cursor.data(),
      n_overrun, hint.data()};
    run_block(n_committed + 1, static_cast<int>(pending), st);
    n_overrun = st.overrun;
    n_committed = n_last;
    view_valid = false;
  }

  // Appends up to n samples in bulk when every one of them is accepted and
  // no compaction falls inside: the same formulas as push_one (so the same
  // bits), in plain loops without per-sample branching and calls.  Returns
  // the number of samples consumed; 0 means "use push_one" (the first two
  // samples, a run with a sample to reject, a compaction, short runs).
  std::size_t push_run(const double * t, const std::complex<double> * phase, std::size_t n)
  {
    if (!have_t0 || n_last == 0) {
      return 0;
    }
    // Up to the next aligned block boundary (the committed state may be
    // short of the previous one only after a dissipate(), never behind it).
    std::size_t m = std::min<std::size_t>(n, static_cast<std::size_t>(kBlock - n_last % kBlock));
    // push_one compacts the history when the accepted sample's index reaches
    // base + phys: stop the run before that index, or, when it is the run's
    // first, compact once the sample is known to be accepted (below); after a
    // compaction there is room for more than a block.
    const bool compact_first = n_last + 1 - base >= phys;
    if (!compact_first && n_last + static_cast<std::int64_t>(m) - base >= phys) {
      m = static_cast<std::size_t>(phys - (n_last + 1 - base));
    }
    if (m < 4) {
      return 0;
    }
    // Pass 1: checks and velocities into scratch (nothing is written to the
    // history unless all of them are accepted).
    double * rdt = run_dt.data();
    double * rinv = run_inv.data();
    double * rn2 = run_n2.data();
    double * rvr = run_vr.data();
    double * rvi = run_vi.data();
    // (push_one's checks, see detail::SampleFn.)
    const bool ok = samples(t, reinterpret_cast<const double *>(phase), static_cast<int>(m), C,
      t_last, reinterpret_cast<const double *>(phi_last.data()), rdt, rinv, rvr, rvi, rn2);
    if (!ok) {
      return 0;
    }
    // Pass 2: the history.
    if (compact_first) {
      ensure_room(n_last + 1);
    }
    const std::int64_t p0 = n_last + 1 - base;
    const std::int64_t vs = vstride();
    std::memcpy(ts.data() + p0, t, m * sizeof(double));
    std::memcpy(inv_dt.data() + p0, rinv, m * sizeof(double));
    std::memcpy(norm2.data() + p0, rn2, m * sizeof(double));
    for (std::size_t j = 0; j < m; ++j) {
      const AlphaEntry & ce = alpha_of(rdt[j]);
      alpha[p0 + j] = ce.alpha;
      oma[p0 + j] = ce.oma;
    }
    phases(omega, t0, t, &theta[p0], static_cast<int>(m));
    for (int c = 0; c < C; ++c) {
      std::memcpy(vre.data() + c * vs + p0, rvr + c * kBlock, m * sizeof(double));
      std::memcpy(vim.data() + c * vs + p0, rvi + c * kBlock, m * sizeof(double));
    }
    if (!dre.empty()) {
      for (std::size_t j = 0; j < m; ++j) {
        const std::int64_t p = p0 + static_cast<std::int64_t>(j);
        dre[p] = vre[p] - vre[p - 1];
        dim[p] = vim[p] - vim[p - 1];
      }
    }
    n_last += static_cast<std::int64_t>(m);
    t_last = t[m - 1];
    std::copy(phase + (m - 1) * C, phase + m * C, phi_last.begin());
    n_samples += m;
    view_valid = false;
    if (n_last % kBlock == 0) {
      commit();
    }
    return m;
  }

  // dre/dim at physical index p from the velocities at p and p - 1 (C = 1).
  void set_differences(std::int64_t p)
  {
    if (dre.empty()) {
      return;
    }
    const bool first = p + base == 1;  // v_0 does not exist: taken as 0
    dre[p] = first ? vre[p] : vre[p] - vre[p - 1];
    dim[p] = first ? vim[p] : vim[p] - vim[p - 1];
  }

  void run_block(std::int64_t n0, int nb, detail::LagState & st) const
  {
    const std::int64_t vs = vstride();
    const std::int64_t p0 = n0 - base;
    // Block inputs.  A whole block reads the history in place (the same
    // values, no padding); a shorter one (a read, a dissipate) is copied,
    // the padding repeating the last sample (finite, weight 0).  t_n is
    // always copied: the kernel keeps its per-sample terms next to it.
    const bool full = nb == kBlock;
    for (int j = 0; j < kBlock; ++j) {
      const std::int64_t p = p0 + std::min(j, nb - 1);
      b_act[j] = j < nb ? 1.0 : 0.0;
      b_lanes[j] = ts[p];
      if (full) {
        continue;
      }
      b_alpha[j] = alpha[p];
      b_oma[j] = oma[p];
      b_theta[j] = theta[p];
      b_norm2[j] = norm2[p];
      for (int c = 0; c < C; ++c) {
        b_vnre[c * kBlock + j] = vre[c * vs + p];
        b_vnim[c * kBlock + j] = vim[c * vs + p];
      }
    }
    detail::BlockArgs a;
    a.nb = nb;
    a.n0 = n0;
    a.channels = C;
    a.reach = reach;
    a.t1 = t1;
    a.num_lags = K;
    a.tau = lags.data();
    a.tn = b_lanes.data();
    a.active = b_act.data();
    a.alpha = full ? alpha.data() + p0 : b_alpha.data();
    a.oma = full ? oma.data() + p0 : b_oma.data();
    a.theta = full ? theta.data() + p0 : b_theta.data();
    a.norm2 = full ? norm2.data() + p0 : b_norm2.data();
    a.vnre = full ? vre.data() + p0 : b_vnre.data();
    a.vnim = full ? vim.data() + p0 : b_vnim.data();
    a.vnstride = full ? vs : kBlock;
    a.wre = b_wre.data();
    a.wim = b_wim.data();
    a.prod = b_prod.data();
    a.beta = b_lanes.data() + detail::kRow;
    a.ure = b_lanes.data() + 2 * detail::kRow;
    a.uim = b_lanes.data() + (2 + C) * detail::kRow;
    a.base = base;
    a.ts = ts.data();
    a.inv_dt = inv_dt.data();
    a.vre = vre.data();
    a.vim = vim.data();
    a.dre = dre.empty() ? nullptr : dre.data();
    a.dim = dim.empty() ? nullptr : dim.data();
    a.vstride = vs;
    kernel(a, st);
    detail::add_path_counts(st);
  }

  // Committed state advanced over the pending samples (not committed).
  void refresh_view() const
  {
    if (view_valid) {
      return;
    }
    vtre = tre;
    vtim = tim;
    ve0 = e0;
    vet = et;
    vcursor = cursor;
    v_overrun = n_overrun;
    const int pending = static_cast<int>(n_last - n_committed);
    if (pending > 0) {
      detail::LagState st{vtre.data(), vtim.data(), ve0.data(), vet.data(), vcursor.data(),
        n_overrun, hint.data()};
      run_block(n_committed + 1, pending, st);
      v_overrun = st.overrun;
    }
    view_valid = true;
  }
};

// ---------------------------------------------------------------------------

ResonanceBank::ResonanceBank(
  std::vector<double> lags, double window, double omega, int channels, double max_rate)
: impl_(std::make_unique<Impl>(std::move(lags), window, omega, channels, max_rate)) {}

ResonanceBank::ResonanceBank(std::unique_ptr<Impl> impl)
: impl_(std::move(impl)) {}

ResonanceBank::~ResonanceBank() = default;
ResonanceBank::ResonanceBank(ResonanceBank &&) noexcept = default;
ResonanceBank & ResonanceBank::operator=(ResonanceBank &&) noexcept = default;

bool ResonanceBank::push(double t, const std::complex<double> * phase)
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->push_one(t, phase);
}

std::size_t ResonanceBank::push_block(
  const double * t, const std::complex<double> * phase, std::size_t n)
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::size_t accepted = 0;
  const std::size_t C = static_cast<std::size_t>(impl_->C);
  std::size_t i = 0;
  while (i < n) {
    const std::size_t m = impl_->push_run(t + i, phase + i * C, n - i);
    if (m > 0) {
      accepted += m;
      i += m;
      continue;
    }
    // One sample the exact per-sample way, then try bulk again from the
    // next block boundary on (a short run) or right away.
    accepted += impl_->push_one(t[i], phase + i * C) ? 1 : 0;
    ++i;
  }
  return accepted;
}

void ResonanceBank::count_rejected(std::uint64_t n)
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->n_rejected += n;
}

std::vector<std::complex<double>> ResonanceBank::resonance() const
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl & m = *impl_;
  m.refresh_view();
  std::vector<std::complex<double>> g(m.K);
  for (int k = 0; k < m.K; ++k) {
    const double den = m.ve0[k] * m.vet[k];
    if (den > 0.0) {
      const double s = std::sqrt(den);
      g[k] = {m.vtre[k] / s, m.vtim[k] / s};
    }
  }
  return g;
}

std::vector<double> ResonanceBank::coherence() const
{
  std::vector<std::complex<double>> g = resonance();
  std::vector<double> out(g.size());
  for (std::size_t k = 0; k < g.size(); ++k) {
    // |T|^2 <= E0 Et by Cauchy-Schwarz; clip the rounding excess.
    out[k] = std::min(1.0, std::norm(g[k]));
  }
  return out;
}

RawState ResonanceBank::raw() const
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl & m = *impl_;
  m.refresh_view();
  RawState r;
  r.T.resize(m.K);
  for (int k = 0; k < m.K; ++k) {
    r.T[k] = {m.vtre[k], m.vtim[k]};
  }
  r.E0 = m.ve0;
  r.Etau = m.vet;
  return r;
}

std::uint64_t ResonanceBank::rejected() const
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->n_rejected;
}

std::uint64_t ResonanceBank::samples() const
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->n_samples;
}

std::uint64_t ResonanceBank::overrun() const
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->refresh_view();
  return impl_->v_overrun;
}

const std::vector<double> & ResonanceBank::lags() const {return impl_->lags;}
double ResonanceBank::window() const {return impl_->window;}
double ResonanceBank::omega() const {return impl_->omega;}
int ResonanceBank::channels() const {return impl_->C;}
double ResonanceBank::max_rate() const {return impl_->max_rate;}
std::size_t ResonanceBank::history_capacity() const
{
  return static_cast<std::size_t>(impl_->reach);
}

void ResonanceBank::dissipate(double factor)
{
  if (!(factor > 0.0 && factor <= 1.0)) {  // NaN fails both
    throw std::invalid_argument("ResonanceBank.dissipate: factor must be in (0, 1]");
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl & m = *impl_;
  if (factor == 1.0) {
    return;  // bit for bit nothing: not even the pending samples' evaluation
  }
  // The pending samples first, so that the factor scales all of the past and
  // nothing after it; the same values a read would have shown (the same
  // block evaluation), times factor.
  m.commit();
  for (auto * v : {&m.tre, &m.tim, &m.e0, &m.et}) {
    for (double & x : *v) {
      x *= factor;
    }
  }
  m.view_valid = false;
}

void ResonanceBank::reset()
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->clear();
}

std::string ResonanceBank::to_bytes() const
{
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Impl & m = *impl_;
  std::string out;
  out.append(kMagic, sizeof(kMagic));
  put(out, kFormatVersion);
  put(out, kEndianProbe);
  put(out, static_cast<std::uint64_t>(m.K));
  put(out, static_cast<std::int32_t>(m.C));
  put(out, m.window);
  put(out, m.omega);
  put(out, m.max_rate);
  put_vec(out, m.lags.data(), m.K);
  put(out, m.n_samples);
  put(out, m.n_rejected);
  put(out, m.n_overrun);
  put(out, static_cast<std::uint8_t>(m.have_t0));
  put(out, m.t0);
  put(out, m.t_last);
  put(out, m.t1);
  put_vec(out, m.phi_last.data(), m.C);
  put(out, m.n_last);
  put(out, m.n_committed);
  put_vec(out, m.tre.data(), m.K);
  put_vec(out, m.tim.data(), m.K);
  put_vec(out, m.e0.data(), m.K);
  put_vec(out, m.et.data(), m.K);
  put_vec(out, m.cursor.data(), m.K);
  // Retained history: the samples any future lag update can still read.
  const std::int64_t first = std::max<std::int64_t>(m.base, m.n_last - m.keep + 1);
  const std::int64_t count = m.n_last >= first ? m.n_last - first + 1 : 0;
  put(out, first);
  put(out, count);
  const std::int64_t p0 = first - m.base;
  for (const auto * v : {&m.ts, &m.inv_dt, &m.alpha, &m.oma, &m.theta, &m.norm2}) {
    put_vec(out, v->data() + p0, count);
  }
  const std::int64_t vs = m.vstride();
  for (int c = 0; c < m.C; ++c) {
    put_vec(out, m.vre.data() + c * vs + p0, count);
    put_vec(out, m.vim.data() + c * vs + p0, count);
  }
  return out;
}

ResonanceBank ResonanceBank::from_bytes(const std::string & bytes)
{
  Reader r{bytes};
  r.need(sizeof(kMagic));
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    throw std::invalid_argument("ResonanceBank.from_bytes: not a ResonanceBank state");
  }
  r.pos = sizeof(kMagic);
  if (r.get<std::uint32_t>() != kFormatVersion) {
    throw std::invalid_argument("ResonanceBank.from_bytes: unsupported format version");
  }
  if (r.get<std::uint32_t>() != kEndianProbe) {
    throw std::invalid_argument("ResonanceBank.from_bytes: state written with other byte order");
  }
  const std::uint64_t K = r.get<std::uint64_t>();
  const std::int32_t C = r.get<std::int32_t>();
  const double window = r.get<double>();
  const double omega = r.get<double>();
  const double max_rate = r.get<double>();
  if (K == 0 || K > bytes.size() / sizeof(double)) {
    throw std::invalid_argument("ResonanceBank.from_bytes: bad lag count");
  }
  if (C < 1 || static_cast<std::uint64_t>(C) > bytes.size()) {
    throw std::invalid_argument("ResonanceBank.from_bytes: bad channel count");
  }
  std::vector<double> lags(K);
  r.get_vec(lags.data(), K);
  auto impl = std::make_unique<Impl>(std::move(lags), window, omega, C, max_rate);
  Impl & m = *impl;
  m.n_samples = r.get<std::uint64_t>();
  m.n_rejected = r.get<std::uint64_t>();
  m.n_overrun = r.get<std::uint64_t>();
  m.have_t0 = r.get<std::uint8_t>() != 0;
  m.t0 = r.get<double>();
  m.t_last = r.get<double>();
  m.t1 = r.get<double>();
  r.get_vec(m.phi_last.data(), m.C);
  m.n_last = r.get<std::int64_t>();
  m.n_committed = r.get<std::int64_t>();
  r.get_vec(m.tre.data(), m.K);
  r.get_vec(m.tim.data(), m.K);
  r.get_vec(m.e0.data(), m.K);
  r.get_vec(m.et.data(), m.K);
  r.get_vec(m.cursor.data(), m.K);
  const std::int64_t first = r.get<std::int64_t>();
  const std::int64_t count = r.get<std::int64_t>();
  const bool consistent =
    m.n_last >= 0 && m.n_committed >= 0 && m.n_committed <= m.n_last &&
    m.n_committed >= m.n_last - m.n_last % kBlock &&
    count >= 0 && count <= m.keep && first >= 1 &&
    (count == 0 ? m.n_last == 0 : first + count - 1 == m.n_last) &&
    (m.n_last == 0 || count == std::min<std::int64_t>(m.n_last, m.keep)) &&
    (m.have_t0 || m.n_last == 0);
  if (!consistent) {
    throw std::invalid_argument("ResonanceBank.from_bytes: inconsistent state");
  }
  for (int k = 0; k < m.K; ++k) {
    if (m.cursor[k] < 1 || m.cursor[k] > std::max<std::int64_t>(1, m.n_last)) {
      throw std::invalid_argument("ResonanceBank.from_bytes: inconsistent state");
    }
  }
  m.base = first;
  for (auto * v : {&m.ts, &m.inv_dt, &m.alpha, &m.oma, &m.theta, &m.norm2}) {
    r.get_vec(v->data(), count);
  }
  const std::int64_t vs = m.vstride();
  for (int c = 0; c < m.C; ++c) {
    r.get_vec(m.vre.data() + c * vs, count);
    r.get_vec(m.vim.data() + c * vs, count);
  }
  // Differences are derived; the oldest retained one (whose predecessor is
  // not persisted) is never read: every lag's bracket lies above it.
  for (std::int64_t p = 1; p < count; ++p) {
    m.set_differences(p);
  }
  if (first == 1 && count > 0) {
    m.set_differences(0);
  }
  if (r.pos != bytes.size()) {
    throw std::invalid_argument("ResonanceBank.from_bytes: trailing data");
  }
  m.view_valid = false;
  return ResonanceBank(std::move(impl));
}

}  // namespace kairos
}  // namespace becomingone
