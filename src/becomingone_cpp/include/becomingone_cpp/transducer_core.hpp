// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// The per-sample half of becomingone_core.transducer.Transducer: the source
// table, the receiver-clock and rate rules, the integration bins and the feed
// of closed bins into a ResonanceBank.  One push() per message block.
// Plain C++17: no ROS, no Python.
//
// The rules are the Python module docstring's (becomingone_core/transducer.py)
// and are checked there, bit for bit, against the frozen pure-Python
// implementation (test/transducer_python_oracle.py of becomingone_core):
//
// * Sources as channels: a source owns `width` bank channels, taken from the
//   front of the free list (a silent source's channels are reclaimed, oldest
//   first, when a new source needs them; a joining source that had no sample
//   accepted gives its channels back).  A silent source's channels hold their
//   last value; the bin holding a (re)joining source's first new sample sets
//   a per-channel offset so its channels continue where they were held (no
//   velocity jump).  Not the first bin pushed after the return: a source
//   usually goes silent inside a bin, which stays open (its end not reached)
//   and is pushed first when the source returns; that bin holds old samples,
//   so the offset taken there would absorb nothing of the step.  That bin is
//   kept and pushed in its turn (closing it early would push a bin before its
//   end and make the other sources' samples for it late).  A source returning
//   inside the very bin it left (stamps paused while the clock ran on) shares
//   that bin's mean, as before.
// * Per sample, in this order: non_finite, future / stale (receiver clock,
//   only when max_clock_skew_s is finite), time_backwards (per source),
//   out_of_range (bin index beyond 2^52 bins from the anchor), late (its bin
//   already closed), flood (per-source token bucket, the arithmetic of
//   becomingone_core.token_bucket.TokenBucket with rate = burst =
//   max_input_rate_hz; only a sample that passed every other check takes a
//   token).
// * Bins of 1 / sample_rate_hz whose ends fall on t0 + j / sample_rate_hz; a
//   bin closes when every active source passed its end, or the lead source
//   (never beyond the clock) passed it by max_delay_s, never beyond the clock.
//   sample_rate_hz == 0 pushes every sample as it comes (one active source).
// * A closed bin is pushed to the bank as the per-channel mean (complex
//   division rounded as numpy does it), stamped at the mean of its samples'
//   times; a bank refusal or a stamp not after the newest is counted as "bank".
//
// All floating-point steps are written in the order of the Python original;
// this file is compiled with -ffp-contract=off so no multiply-add is fused.

#ifndef BECOMINGONE_CPP__TRANSDUCER_CORE_HPP_
#define BECOMINGONE_CPP__TRANSDUCER_CORE_HPP_

#include <array>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "becomingone_cpp/kairos.hpp"

namespace becomingone
{
namespace kairos
{

/// Why a sample was not integrated; names are those of the Python counters.
enum class Reason : int
{
  kNone = 0,
  kNonFinite,
  kFuture,
  kStale,
  kTimeBackwards,
  kOutOfRange,
  kLate,
  kFlood,
  kTooManySources,
  kShape,
  kBank,
  kCount
};

constexpr double kInfinity = std::numeric_limits<double>::infinity();
constexpr std::size_t kReasonCount = static_cast<std::size_t>(Reason::kCount);

/// "non_finite", "future", ... ("" for kNone).
const char * reason_name(Reason reason);

/// Settings of becomingone_core.transducer.TransducerConfig the core uses.
struct TransducerSettings
{
  int channels = 4;
  double sample_rate_hz = 0.0;
  double max_delay_s = 0.1;
  double max_input_rate_hz = 10000.0;
  /// inf: no receiver clock (offline use).
  double max_clock_skew_s = kInfinity;
  double max_age_s = kInfinity;
  double source_timeout_s = 1.0;
};

/// What one push() did.
struct PushOutcome
{
  std::size_t accepted = 0;
  std::size_t rejected = 0;
  /// The last rejection reason of the call (kNone without rejections).
  Reason reason = Reason::kNone;
  /// Bins pushed to the bank.
  std::size_t cycles = 0;
  /// Stamp of the newest accepted sample (-inf without).
  double newest_t = -kInfinity;
  /// Every rejection counted by this call, by reason (includes "bank",
  /// which is not in `rejected`: it refuses a bin, not a sample).
  std::array<std::uint64_t, kReasonCount> counts{};
  std::uint64_t counted = 0;
};

class TransducerCore
{
public:
  /// Feeds `bank` (which must outlive the core; its channels() must equal
  /// settings.channels).  Throws std::invalid_argument for settings the
  /// Python TransducerConfig.validate() refuses (and a rate below 1 Hz,
  /// which leaves the token bucket no whole token).
  TransducerCore(ResonanceBank & bank, const TransducerSettings & settings);

  /// Integrate `n` samples: stamps t[n] (s, the receiver clock's time base),
  /// values row-major n x width, received at now_s, from `source`.  Never
  /// throws for bad data: every refused sample is counted by reason.
  PushOutcome push(
    const std::string & source, const double * t, const std::complex<double> * values,
    std::size_t n, std::size_t width, double now_s);

  /// Mark sources silent for source_timeout_s as inactive; return their names
  /// in the order they joined (each reported once).
  std::vector<std::string> expire(double now_s);

  /// Names of the active / silent sources, sorted.
  std::vector<std::string> active_sources() const;
  std::vector<std::string> silent_sources() const;
  /// Bank channels of `source` (empty if unknown).
  std::vector<int> channels_of(const std::string & source) const;

  std::uint64_t accepted() const {return accepted_;}
  std::uint64_t cycles() const {return cycles_;}
  /// Stamp of the first / newest bin pushed (inf / -inf before any).
  double first_t() const {return first_t_;}
  double newest_t() const {return newest_t_;}
  /// Cumulative counts by reason (what every push() returned, summed).
  const std::array<std::uint64_t, kReasonCount> & counts() const {return counts_;}
  const TransducerSettings & settings() const {return settings_;}
  /// Integration bins holding samples, not yet pushed.
  std::size_t open_bins() const {return open_.size();}

private:
  struct Source
  {
    std::string name;
    std::vector<int> slots;
    double last_received_s;
    double last_t;
    bool active = true;
    bool rejoin = true;
    // TokenBucket(rate, burst=rate, now_s=now): tokens and the last refill.
    double tokens;
    double bucket_s;
  };

  struct Bin
  {
    std::vector<std::complex<double>> total;
    std::vector<std::int64_t> count;
    double t_sum = 0.0;
    std::int64_t t_count = 0;
  };

  Source * find(const std::string & name);
  Source * add_source(const std::string & name, std::size_t width, double now_s);
  void reclaim_silent(std::size_t width);
  void remove_source(std::size_t index);
  bool admit(Source & source);
  Reason check(Source & source, double t, const std::complex<double> * values);
  bool in_reach(double t) const;
  double bin_of(double t) const;
  std::size_t add_sample(Source & source, double t, const std::complex<double> * values);
  std::size_t close_due_bins();
  std::size_t push_bin(Bin & bin, std::int64_t key);
  int take_bin();

  ResonanceBank & bank_;
  TransducerSettings settings_;
  std::size_t channels_;
  double interval_;
  double tolerance_;
  bool clocked_;
  double clock_s_ = -kInfinity;
  bool anchored_ = false;
  double anchor_ = 0.0;
  /// Highest bin index closed; -inf before any (a double: Python's int or -inf).
  double closed_ = -kInfinity;
  std::vector<Source> sources_;  // in joining order, as the Python dict
  std::vector<int> free_slots_;
  std::map<std::int64_t, int> open_;  // bin index -> bins_ entry
  std::vector<Bin> bins_;
  std::vector<int> spare_bins_;
  std::vector<std::complex<double>> held_, offset_, means_;
  std::vector<char> have_;
  /// Per channel, the keys of the bins holding a (re)joining source's first
  /// new sample, oldest first: the offset is set when that bin is pushed.  A
  /// queue, as a flapping source may return again before that bin closes.
  std::vector<std::deque<std::int64_t>> rejoin_at_;
  double first_t_ = kInfinity;
  double newest_t_ = -kInfinity;
  std::uint64_t accepted_ = 0;
  std::uint64_t cycles_ = 0;
  std::array<std::uint64_t, kReasonCount> counts_{};
  PushOutcome * outcome_ = nullptr;  // the push() under way (push_bin counts into it)
};

}  // namespace kairos
}  // namespace becomingone

#endif  // BECOMINGONE_CPP__TRANSDUCER_CORE_HPP_
