// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// TransducerCore: see include/becomingone_cpp/transducer_core.hpp.  Every
// step mirrors becomingone_core/transducer.py (the frozen oracle of its
// tests), including Python's min()/max() on ties and the order of each
// floating-point operation, so both give the same bits.

#include "becomingone_cpp/transducer_core.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace becomingone
{
namespace kairos
{

namespace
{

using cplx = std::complex<double>;

// Python's min(a, b) / max(a, b): the first argument unless the second is
// strictly smaller / larger (so a NaN second argument never wins).
inline double py_min(double a, double b) {return b < a ? b : a;}
inline double py_max(double a, double b) {return b > a ? b : a;}

// numpy's complex128 / int64 (the int cast to complex, Smith's division with
// a zero imaginary part), which is not a plain real division: the result is
// value * (1 / n), rounded twice.
inline cplx numpy_divide(const cplx & value, std::int64_t n)
{
  const double divisor = static_cast<double>(n);
  const double ratio = 0.0 / divisor;
  const double scale = 1.0 / (divisor + 0.0 * ratio);
  return {(value.real() + value.imag() * ratio) * scale,
    (value.imag() - value.real() * ratio) * scale};
}

// Bin indices stay exact integers this far from the anchor (see in_reach).
constexpr double kReachBins = 4503599627370496.0;  // 2^52

}  // namespace

const char * reason_name(Reason reason)
{
  switch (reason) {
    case Reason::kNone: return "";
    case Reason::kNonFinite: return "non_finite";
    case Reason::kFuture: return "future";
    case Reason::kStale: return "stale";
    case Reason::kTimeBackwards: return "time_backwards";
    case Reason::kOutOfRange: return "out_of_range";
    case Reason::kLate: return "late";
    case Reason::kFlood: return "flood";
    case Reason::kTooManySources: return "too_many_sources";
    case Reason::kShape: return "shape";
    case Reason::kBank: return "bank";
    case Reason::kCount: break;
  }
  return "";
}

TransducerCore::TransducerCore(ResonanceBank & bank, const TransducerSettings & settings)
: bank_(bank), settings_(settings)
{
  const TransducerSettings & s = settings;
  if (s.channels < 1) {
    throw std::invalid_argument("TransducerCore: channels must be >= 1");
  }
  if (bank.channels() != s.channels) {
    throw std::invalid_argument("TransducerCore: the bank must have `channels` channels");
  }
  if (!(std::isfinite(s.sample_rate_hz) && s.sample_rate_hz >= 0)) {
    throw std::invalid_argument("TransducerCore: sample_rate_hz must be finite and >= 0");
  }
  if (!(s.source_timeout_s > 0)) {
    throw std::invalid_argument("TransducerCore: source_timeout_s must be > 0");
  }
  if (!(s.max_delay_s >= 0)) {
    throw std::invalid_argument("TransducerCore: max_delay_s must be >= 0");
  }
  if (!(s.max_input_rate_hz >= 1)) {
    // The bucket holds one second of burst: below 1 Hz it never holds a token.
    throw std::invalid_argument("TransducerCore: max_input_rate_hz must be >= 1");
  }
  if (!(s.max_clock_skew_s >= 0)) {
    throw std::invalid_argument("TransducerCore: max_clock_skew_s must be >= 0");
  }
  if (!(s.max_age_s > 0)) {
    throw std::invalid_argument("TransducerCore: max_age_s must be > 0");
  }
  channels_ = static_cast<std::size_t>(s.channels);
  interval_ = s.sample_rate_hz > 0 ? 1.0 / s.sample_rate_hz : 0.0;
  tolerance_ = std::min(1e-6, interval_ * 1e-3);
  clocked_ = std::isfinite(s.max_clock_skew_s);
  for (int c = 0; c < s.channels; ++c) {
    free_slots_.push_back(c);
  }
  held_.assign(channels_, cplx());
  offset_.assign(channels_, cplx());
  means_.assign(channels_, cplx());
  have_.assign(channels_, 0);
  rejoin_at_.assign(channels_, std::deque<std::int64_t>());
}

// ------------------------------------------------------------------- input
PushOutcome TransducerCore::push(
  const std::string & source, const double * t, const cplx * values, std::size_t n,
  std::size_t width, double now_s)
{
  PushOutcome outcome;
  outcome_ = &outcome;
  clock_s_ = now_s;
  Source * state = find(source);
  const bool joined = state == nullptr;
  Reason refused = Reason::kNone;
  if (joined) {
    state = add_source(source, width, now_s);
    if (state == nullptr) {
      refused = Reason::kTooManySources;
    }
  } else if (state->slots.size() != width) {
    refused = Reason::kShape;
  }
  if (refused != Reason::kNone) {
    outcome.rejected = n;
    outcome.reason = refused;
    outcome.counts[static_cast<std::size_t>(refused)] += n;
    outcome.counted += n;
  } else {
    if (!state->active) {
      state->active = true;
      state->rejoin = true;
    }
    state->last_received_s = now_s;
    for (std::size_t i = 0; i < n; ++i) {
      const cplx * row = values + i * width;
      const Reason reason = check(*state, t[i], row);
      if (reason != Reason::kNone) {
        outcome.counts[static_cast<std::size_t>(reason)] += 1;
        outcome.counted += 1;
        outcome.rejected += 1;
        outcome.reason = reason;
        continue;
      }
      state->last_t = outcome.newest_t = t[i];
      outcome.cycles += add_sample(*state, t[i], row);
      outcome.accepted += 1;
    }
    accepted_ += outcome.accepted;
    if (joined && outcome.accepted == 0) {
      // Nothing usable yet: a source made only of rejected samples holds no
      // channels (and no bins back), so invented names crowd nobody out.
      free_slots_.insert(free_slots_.end(), state->slots.begin(), state->slots.end());
      remove_source(sources_.size() - 1);
    }
  }
  for (std::size_t r = 0; r < kReasonCount; ++r) {
    counts_[r] += outcome.counts[r];
  }
  outcome_ = nullptr;
  return outcome;
}

std::vector<std::string> TransducerCore::expire(double now_s)
{
  std::vector<std::string> silent;
  for (Source & state : sources_) {
    if (state.active && now_s - state.last_received_s >= settings_.source_timeout_s) {
      state.active = false;
      silent.push_back(state.name);
    }
  }
  return silent;
}

std::vector<std::string> TransducerCore::active_sources() const
{
  std::vector<std::string> names;
  for (const Source & state : sources_) {
    if (state.active) {
      names.push_back(state.name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> TransducerCore::silent_sources() const
{
  std::vector<std::string> names;
  for (const Source & state : sources_) {
    if (!state.active) {
      names.push_back(state.name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<int> TransducerCore::channels_of(const std::string & source) const
{
  for (const Source & state : sources_) {
    if (state.name == source) {
      return state.slots;
    }
  }
  return {};
}

// ------------------------------------------------------------------- sources
TransducerCore::Source * TransducerCore::find(const std::string & name)
{
  // A handful of sources (at most `channels`): a scan beats hashing the name.
  for (Source & state : sources_) {
    if (state.name.size() == name.size() && state.name == name) {
      return &state;
    }
  }
  return nullptr;
}

TransducerCore::Source * TransducerCore::add_source(
  const std::string & name, std::size_t width, double now_s)
{
  if (interval_ == 0.0) {
    for (const Source & state : sources_) {
      if (state.active) {
        return nullptr;  // unbinned: one time line, so one source at a time
      }
    }
  }
  if (free_slots_.size() < width) {
    reclaim_silent(width);
  }
  if (free_slots_.size() < width) {
    return nullptr;
  }
  Source state;
  state.name = name;
  state.slots.assign(free_slots_.begin(), free_slots_.begin() + width);
  free_slots_.erase(free_slots_.begin(), free_slots_.begin() + width);
  state.last_received_s = now_s;
  state.last_t = -kInfinity;
  state.tokens = settings_.max_input_rate_hz;  // a full bucket: one second of burst
  state.bucket_s = now_s;
  sources_.push_back(std::move(state));
  return &sources_.back();
}

void TransducerCore::reclaim_silent(std::size_t width)
{
  // Silent sources' channels back, the longest silent first, until `width` are free.
  std::vector<std::size_t> order(sources_.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(
    order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return sources_[a].last_received_s < sources_[b].last_received_s;
    });
  std::vector<char> removed(sources_.size(), 0);
  for (std::size_t i : order) {
    if (free_slots_.size() >= width) {
      break;
    }
    if (!sources_[i].active) {
      free_slots_.insert(free_slots_.end(), sources_[i].slots.begin(), sources_[i].slots.end());
      removed[i] = 1;
    }
  }
  for (std::size_t i = sources_.size(); i-- > 0; ) {
    if (removed[i]) {
      remove_source(i);
    }
  }
}

void TransducerCore::remove_source(std::size_t index)
{
  sources_.erase(sources_.begin() + static_cast<std::ptrdiff_t>(index));
}

bool TransducerCore::admit(Source & state)
{
  // TokenBucket.admit(now_s): refill (time going back earns nothing), then take one token.
  const double rate = settings_.max_input_rate_hz;
  state.tokens = py_min(rate, state.tokens + py_max(0.0, clock_s_ - state.bucket_s) * rate);
  state.bucket_s = py_max(state.bucket_s, clock_s_);
  if (state.tokens < 1.0) {
    return false;
  }
  state.tokens -= 1.0;
  return true;
}

// ------------------------------------------------------------------- samples
Reason TransducerCore::check(Source & state, double t, const cplx * values)
{
  bool finite = std::isfinite(t);
  for (std::size_t c = 0; finite && c < state.slots.size(); ++c) {
    finite = std::isfinite(values[c].real()) && std::isfinite(values[c].imag());
  }
  if (!finite) {
    return Reason::kNonFinite;
  }
  if (clocked_) {
    if (t > clock_s_ + settings_.max_clock_skew_s) {
      return Reason::kFuture;
    }
    if (t < clock_s_ - settings_.max_age_s) {
      return Reason::kStale;
    }
  }
  if (t <= state.last_t) {
    return Reason::kTimeBackwards;
  }
  if (!in_reach(t)) {
    return Reason::kOutOfRange;
  }
  if (bin_of(t) <= closed_) {
    return Reason::kLate;
  }
  if (!admit(state)) {  // last: only an accepted sample takes a token
    return Reason::kFlood;
  }
  return Reason::kNone;
}

bool TransducerCore::in_reach(double t) const
{
  if (interval_ == 0.0 || !anchored_) {
    return true;
  }
  return std::fabs(t - anchor_) < interval_ * kReachBins;
}

double TransducerCore::bin_of(double t) const
{
  if (interval_ == 0.0) {
    return t > newest_t_ ? kInfinity : -kInfinity;
  }
  if (!anchored_) {
    return kInfinity;
  }
  return std::ceil((t - anchor_ - tolerance_) / interval_);
}

int TransducerCore::take_bin()
{
  int index;
  if (spare_bins_.empty()) {
    index = static_cast<int>(bins_.size());
    bins_.emplace_back();
    bins_.back().total.assign(channels_, cplx());
    bins_.back().count.assign(channels_, 0);
  } else {
    index = spare_bins_.back();
    spare_bins_.pop_back();
    Bin & bin = bins_[static_cast<std::size_t>(index)];
    std::fill(bin.total.begin(), bin.total.end(), cplx());
    std::fill(bin.count.begin(), bin.count.end(), 0);
    bin.t_sum = 0.0;
    bin.t_count = 0;
  }
  return index;
}

std::size_t TransducerCore::add_sample(Source & state, double t, const cplx * values)
{
  int entry;
  std::int64_t key = 0;  // unbinned: every bin is pushed before the next is opened
  if (interval_ == 0.0) {
    entry = take_bin();  // unbinned: every sample is a bin of its own, pushed at once
  } else {
    if (!anchored_) {
      // Bin ends fall on t0 + j / sample_rate: a regular input closes each bin
      // with its last sample instead of waiting for the next one.
      anchor_ = t - interval_;
      anchored_ = true;
    }
    const double index = py_max(
      closed_ + 1.0, std::ceil((t - anchor_ - tolerance_) / interval_));
    key = static_cast<std::int64_t>(index);
    const auto found = open_.find(key);
    if (found == open_.end()) {
      entry = take_bin();
      open_.emplace(key, entry);
    } else {
      entry = found->second;
    }
  }
  Bin & bin = bins_[static_cast<std::size_t>(entry)];
  for (std::size_t c = 0; c < state.slots.size(); ++c) {
    const auto slot = static_cast<std::size_t>(state.slots[c]);
    bin.total[slot] += values[c];
    bin.count[slot] += 1;
  }
  bin.t_sum += t;
  bin.t_count += 1;
  if (state.rejoin) {
    // The offset belongs to this bin, the one holding the first new sample:
    // older open bins (the source's own last bin before it went silent, or
    // the previous owner's of these channels) still continue the old values.
    for (int slot : state.slots) {
      std::deque<std::int64_t> & pending = rejoin_at_[static_cast<std::size_t>(slot)];
      if (pending.empty() || pending.back() != key) {
        pending.push_back(key);
      }
    }
    state.rejoin = false;
  }
  if (interval_ == 0.0) {
    const std::size_t pushed = push_bin(bin, key);
    spare_bins_.push_back(entry);
    return pushed;
  }
  return close_due_bins();
}

std::size_t TransducerCore::close_due_bins()
{
  // Close every open bin all active sources have passed (or the lead passed by delay).
  bool first = true;
  double earliest = 0.0, lead = 0.0;
  for (const Source & state : sources_) {
    if (!state.active) {
      continue;
    }
    if (first) {
      earliest = lead = state.last_t;
      first = false;
    } else {
      earliest = py_min(earliest, state.last_t);
      lead = py_max(lead, state.last_t);
    }
  }
  if (clocked_) {
    lead = py_min(lead, clock_s_);
  }
  double horizon = py_max(earliest, lead - settings_.max_delay_s);
  if (clocked_) {
    horizon = py_min(horizon, clock_s_);
  }
  const double due = std::floor((horizon - anchor_ + tolerance_) / interval_);
  std::size_t pushed = 0;
  while (!open_.empty() && static_cast<double>(open_.begin()->first) <= due) {
    const std::int64_t key = open_.begin()->first;
    const int entry = open_.begin()->second;
    open_.erase(open_.begin());
    pushed += push_bin(bins_[static_cast<std::size_t>(entry)], key);
    spare_bins_.push_back(entry);
  }
  closed_ = py_max(closed_, due);
  return pushed;
}

std::size_t TransducerCore::push_bin(Bin & bin, std::int64_t key)
{
  for (std::size_t c = 0; c < channels_; ++c) {
    have_[c] = bin.count[c] > 0;
    means_[c] = have_[c] ? numpy_divide(bin.total[c], bin.count[c]) : cplx();
  }
  for (std::size_t c = 0; c < channels_; ++c) {
    std::deque<std::int64_t> & pending = rejoin_at_[c];
    if (have_[c] && !pending.empty() && pending.front() <= key) {
      // A (re)joining channel starts where it was held (every older bin, the
      // old stretch's last one included, already pushed): no velocity spike.
      offset_[c] = means_[c] - held_[c];
      while (!pending.empty() && pending.front() <= key) {
        pending.pop_front();
      }
    }
  }
  for (std::size_t c = 0; c < channels_; ++c) {
    if (have_[c]) {
      held_[c] = means_[c] - offset_[c];
    }
  }
  const double t = bin.t_sum / static_cast<double>(bin.t_count);
  if (t <= newest_t_ || !bank_.push(t, held_.data())) {
    outcome_->counts[static_cast<std::size_t>(Reason::kBank)] += 1;
    outcome_->counted += 1;
    return 0;
  }
  if (cycles_ == 0) {
    first_t_ = t;
  }
  newest_t_ = t;
  cycles_ += 1;
  return 1;
}

}  // namespace kairos
}  // namespace becomingone
