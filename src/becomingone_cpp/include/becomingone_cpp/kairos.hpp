// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// KAIROS kernel: a bank of exponentially windowed, lagged phase-velocity
// correlations ("temporal resonance").  Plain C++17: no ROS, no Python.
//
// Input: samples (t_n, phi_n), t_n strictly increasing seconds, phi_n in C^C.
//   v_n      = (phi_n - phi_{n-1}) / (t_n - t_{n-1}), stamped at t_n (n >= 1)
//   l_k(n)   = v(t_n - tau_k), linear interpolation between the two stored
//              velocity samples whose stamps bracket t_n - tau_k (an exact
//              stamp uses that sample)
//   alpha_n  = exp(-(t_n - t_{n-1}) / W), theta_n = omega (t_n - t_0) mod 2 pi
//   T_k   <- alpha_n T_k   + (1 - alpha_n) <v_n, l_k(n)> e^{i theta_n}
//   E0_k  <- alpha_n E0_k  + (1 - alpha_n) |v_n|^2
//   Et_k  <- alpha_n Et_k  + (1 - alpha_n) |l_k(n)|^2
//   gamma_k = T_k / sqrt(E0_k Et_k)  (0 when either energy is 0)
// A lag whose bracket is not available (history does not reach back tau_k
// yet, or it fell out of the bounded history) is not updated at all for that
// sample: no decay either.  The second case is counted in overrun().

#ifndef BECOMINGONE_CPP__KAIROS_HPP_
#define BECOMINGONE_CPP__KAIROS_HPP_

#include <complex>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace becomingone
{
namespace kairos
{

/// Name of the vector kernel this process runs: "avx512f", "avx2",
/// "default" (x86-64 baseline) or "neon" (aarch64), or "scalar".
const char * simd_path();

/// Raw state of the bank, one entry per lag.
struct RawState
{
  std::vector<std::complex<double>> T;
  std::vector<double> E0;
  std::vector<double> Etau;
};

class ResonanceBank
{
public:
  /// Throws std::invalid_argument for empty/negative/non-finite lags,
  /// window <= 0, channels < 1, max_rate <= 0 or non-finite arguments, and
  /// for a history (max(lags) * max_rate) larger than 2^26 samples.
  ResonanceBank(
    std::vector<double> lags, double window, double omega = 0.0,
    int channels = 1, double max_rate = 1000.0);
  ~ResonanceBank();
  ResonanceBank(ResonanceBank &&) noexcept;
  ResonanceBank & operator=(ResonanceBank &&) noexcept;
  ResonanceBank(const ResonanceBank &) = delete;
  ResonanceBank & operator=(const ResonanceBank &) = delete;

  /// One sample: `phase` points at channels() values.  Returns false (and
  /// counts it in rejected()) for non-finite t or phase, t <= previous t,
  /// or a velocity that overflows.
  bool push(double t, const std::complex<double> * phase);

  /// n samples; phase is row-major n x channels().  Exactly equivalent to n
  /// push() calls (bit for bit); returns the number accepted.
  std::size_t push_block(const double * t, const std::complex<double> * phase, std::size_t n);

  /// Count a sample the caller rejected before it reached the bank (e.g. a
  /// wrong shape seen by a language binding).
  void count_rejected(std::uint64_t n);

  std::vector<std::complex<double>> resonance() const;
  std::vector<double> coherence() const;
  RawState raw() const;

  std::uint64_t rejected() const;
  std::uint64_t samples() const;
  /// Lag updates skipped because the bracket fell out of the bounded history
  /// (the real rate exceeded max_rate).
  std::uint64_t overrun() const;

  const std::vector<double> & lags() const;
  double window() const;
  double omega() const;
  int channels() const;
  double max_rate() const;
  /// Velocity samples of history a lag may reach back (the bound).
  std::size_t history_capacity() const;

  /// Forgets the share 1 - factor of the past at once: T_k, E0_k and Et_k of
  /// every lag are multiplied by factor in (0, 1] (as if the window had aged
  /// by ln(1/factor) W), so the samples after it weigh relatively more; the
  /// history, t_0, the counters and which lags are reached stay as they are.
  /// Samples pending in the current block are evaluated into the state first
  /// (a shorter block; the next one ends at the usual boundary), so it applies
  /// to every sample before it and to none after it, whatever the calls were.
  /// factor == 1 changes nothing at all (no evaluation either).  Throws
  /// std::invalid_argument for a factor outside (0, 1] or not finite.
  void dissipate(double factor);

  /// Back to the freshly constructed state (counters included).
  void reset();

  /// Exact state, for persisting; from_bytes() throws std::invalid_argument
  /// on anything it cannot read.  A restored bank continues bit-identically.
  std::string to_bytes() const;
  static ResonanceBank from_bytes(const std::string & bytes);

  struct Impl;

private:
  explicit ResonanceBank(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kairos
}  // namespace becomingone

#endif  // BECOMINGONE_CPP__KAIROS_HPP_
