// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// Unit tests of TransducerCore: the source table, the per-sample rules and
// their reasons, the integration bins and what reaches the bank.  (Its
// equality with the Python transducer it replaced is tested in
// becomingone_core/test/test_transducer_equivalence.py.)

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstddef>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "becomingone_cpp/kairos.hpp"
#include "becomingone_cpp/transducer_core.hpp"

using becomingone::kairos::PushOutcome;
using becomingone::kairos::Reason;
using becomingone::kairos::reason_name;
using becomingone::kairos::ResonanceBank;
using becomingone::kairos::TransducerCore;
using becomingone::kairos::TransducerSettings;
using cplx = std::complex<double>;

namespace
{

constexpr double kInf = std::numeric_limits<double>::infinity();

TransducerSettings settings(int channels, double rate_hz)
{
  TransducerSettings s;
  s.channels = channels;
  s.sample_rate_hz = rate_hz;
  s.max_delay_s = 0.1;
  s.max_input_rate_hz = 10000.0;
  s.source_timeout_s = 1.0;
  return s;
}

TransducerSettings clocked(int channels, double rate_hz)
{
  TransducerSettings s = settings(channels, rate_hz);
  s.max_clock_skew_s = 0.5;
  s.max_age_s = 10.0;
  return s;
}

ResonanceBank bank_for(int channels, double rate_hz = 1000.0)
{
  return ResonanceBank({0.01, 0.05, 0.1}, 1.0, 0.0, channels, rate_hz);
}

// One source's block of n samples from t0 every dt, `width` channels of e^{i w t}.
struct Block
{
  std::vector<double> t;
  std::vector<cplx> values;
  std::size_t width;

  Block(double t0, double dt, std::size_t n, std::size_t w = 1, double omega = 5.0)
  : width(w)
  {
    for (std::size_t i = 0; i < n; ++i) {
      t.push_back(t0 + dt * static_cast<double>(i));
      for (std::size_t c = 0; c < w; ++c) {
        values.push_back(std::polar(1.0, omega * t.back() * static_cast<double>(c + 1)));
      }
    }
  }

  PushOutcome into(TransducerCore & core, const std::string & name, double now_s) const
  {
    return core.push(name, t.data(), values.data(), t.size(), width, now_s);
  }
};

std::uint64_t count(const PushOutcome & out, Reason reason)
{
  return out.counts[static_cast<std::size_t>(reason)];
}

// A ROS-like stretch of `source` from start_s to stop_s: 1 kHz stamps +-10 %
// (whole nanoseconds), 10 ms messages received 2 ms after their last stamp,
// values signal(t).  Returns the stamp of the last sample.
template<typename Signal>
double feed_jittered(
  TransducerCore & core, const std::string & source, std::mt19937_64 & rng, double start_s,
  double stop_s, Signal signal)
{
  std::uniform_real_distribution<double> step(0.9e6, 1.1e6);
  std::int64_t stamp_ns = static_cast<std::int64_t>(start_s * 1e9);
  std::vector<double> t(10);
  std::vector<cplx> values(10);
  while (static_cast<double>(stamp_ns) < stop_s * 1e9) {
    for (std::size_t i = 0; i < t.size(); ++i) {
      stamp_ns += static_cast<std::int64_t>(std::llround(step(rng)));
      t[i] = static_cast<double>(stamp_ns) / 1e9;
      values[i] = signal(t[i]);
    }
    const PushOutcome out =
      core.push(source, t.data(), values.data(), t.size(), 1, t.back() + 0.002);
    EXPECT_EQ(out.rejected, 0u);
  }
  return t.back();
}

}  // namespace

TEST(TransducerCore, RefusesSettingsThePythonConfigRefuses)
{
  ResonanceBank bank = bank_for(2);
  EXPECT_THROW(TransducerCore(bank, settings(3, 10.0)), std::invalid_argument);  // 2 != 3
  TransducerSettings s = settings(2, 10.0);
  s.sample_rate_hz = -1.0;
  EXPECT_THROW(TransducerCore(bank, s), std::invalid_argument);
  s = settings(2, 10.0);
  s.max_input_rate_hz = 0.5;
  EXPECT_THROW(TransducerCore(bank, s), std::invalid_argument);
  s = settings(2, 10.0);
  s.source_timeout_s = 0.0;
  EXPECT_THROW(TransducerCore(bank, s), std::invalid_argument);
  s = settings(2, 10.0);
  s.max_age_s = 0.0;
  EXPECT_THROW(TransducerCore(bank, s), std::invalid_argument);
  EXPECT_NO_THROW(TransducerCore(bank, settings(2, 0.0)));
}

TEST(TransducerCore, ReasonNamesAreThePythonCounterKeys)
{
  EXPECT_STREQ(reason_name(Reason::kNone), "");
  EXPECT_STREQ(reason_name(Reason::kNonFinite), "non_finite");
  EXPECT_STREQ(reason_name(Reason::kTimeBackwards), "time_backwards");
  EXPECT_STREQ(reason_name(Reason::kTooManySources), "too_many_sources");
  EXPECT_STREQ(reason_name(Reason::kOutOfRange), "out_of_range");
  EXPECT_STREQ(reason_name(Reason::kBank), "bank");
}

TEST(TransducerCore, BinsCloseOnTheirLastSample)
{
  ResonanceBank bank = bank_for(1);
  TransducerCore core(bank, settings(1, 10.0));
  std::vector<std::size_t> closing;
  for (std::size_t i = 0; i <= 100; ++i) {
    const Block one(0.01 * static_cast<double>(i), 0.01, 1);
    if (one.into(core, "s", 0.0).cycles) {
      closing.push_back(i);
    }
  }
  // The first sample closes its own bin, then every tenth sample closes one.
  ASSERT_EQ(closing.size(), 11u);
  for (std::size_t j = 0; j < closing.size(); ++j) {
    EXPECT_EQ(closing[j], 10 * j);
  }
  EXPECT_EQ(core.cycles(), 11u);
  EXPECT_EQ(bank.samples(), 11u);
  EXPECT_EQ(core.open_bins(), 0u);
}

TEST(TransducerCore, BinMeansAndStampsReachTheBank)
{
  // Two samples per bin of 0.1 s: the bank sees their mean at their mean time.
  ResonanceBank bank = bank_for(1, 100.0);
  ResonanceBank expected = bank_for(1, 100.0);
  TransducerCore core(bank, settings(1, 10.0));
  const Block block(0.0, 0.05, 41);
  block.into(core, "s", 0.0);
  // Bin 1 holds t = 0 alone (anchor = t0 - interval); then (0.05, 0.1), (0.15, 0.2), ...
  // The first bin of a joining source sets its offset: its channels start at 0.
  const cplx first = block.values[0];
  const cplx zero = first - first;
  expected.push(0.0, &zero);
  for (std::size_t i = 1; i + 1 < block.t.size(); i += 2) {
    const double t = (block.t[i] + block.t[i + 1]) / 2.0;
    const cplx sum = block.values[i] + block.values[i + 1];
    const cplx mean((sum.real() + sum.imag() * 0.0) * (1.0 / 2.0),
      (sum.imag() - sum.real() * 0.0) * (1.0 / 2.0));
    const cplx held = mean - first;
    expected.push(t, &held);
  }
  EXPECT_EQ(core.cycles(), expected.samples());
  EXPECT_EQ(bank.to_bytes(), expected.to_bytes());
}

TEST(TransducerCore, UnbinnedFeedsEverySampleAsItComes)
{
  ResonanceBank bank = bank_for(2);
  ResonanceBank expected = bank_for(2);
  TransducerCore core(bank, settings(2, 0.0));
  const Block block(1.0, 0.001, 500, 2);
  const PushOutcome out = block.into(core, "s", 0.0);
  EXPECT_EQ(out.accepted, 500u);
  EXPECT_EQ(out.cycles, 500u);
  std::vector<cplx> held(block.values);
  for (std::size_t i = 0; i < held.size(); ++i) {
    held[i] = block.values[i] - block.values[i % 2];  // offset by the first sample
  }
  expected.push_block(block.t.data(), held.data(), block.t.size());
  EXPECT_EQ(bank.to_bytes(), expected.to_bytes());
  // One time line: a second active source is refused whole.
  const PushOutcome other = Block(2.0, 0.001, 3).into(core, "other", 0.0);
  EXPECT_EQ(other.reason, Reason::kTooManySources);
  EXPECT_EQ(other.rejected, 3u);
  // A stamp not after the source's newest one.
  EXPECT_EQ(Block(1.2, 0.001, 1, 2).into(core, "s", 0.0).reason, Reason::kTimeBackwards);
}

TEST(TransducerCore, EveryBadSampleIsCountedByItsReason)
{
  ResonanceBank bank = bank_for(3);
  TransducerCore core(bank, clocked(3, 100.0));
  Block good(10.0, 0.001, 200);
  EXPECT_EQ(good.into(core, "a", 10.2).accepted, 200u);
  // non_finite (t or any value), time_backwards
  Block bad(10.2, 0.001, 4);
  bad.values[1] = cplx(std::nan(""), 0.0);
  bad.t[2] = kInf;
  PushOutcome out = bad.into(core, "a", 10.2);
  EXPECT_EQ(count(out, Reason::kNonFinite), 2u);
  EXPECT_EQ(out.accepted, 2u);
  EXPECT_EQ(Block(10.1, 0.001, 5).into(core, "a", 10.2).reason, Reason::kTimeBackwards);
  // future, stale: the receiver clock's rules; such a source holds no channels afterwards
  EXPECT_EQ(Block(3610.0, 0.001, 1).into(core, "b", 10.2).reason, Reason::kFuture);
  EXPECT_EQ(Block(0.1, 0.001, 1).into(core, "b", 10.2).reason, Reason::kStale);
  EXPECT_TRUE(core.channels_of("b").empty());
  // late: its bin already closed
  EXPECT_EQ(Block(10.0, 0.001, 1).into(core, "b", 10.2).reason, Reason::kLate);
  // shape: a source keeps its width
  EXPECT_EQ(Block(10.3, 0.001, 2, 2).into(core, "a", 10.3).reason, Reason::kShape);
  // too_many_sources: 1 + 2 channels taken, none left
  EXPECT_EQ(Block(10.3, 0.001, 1, 2).into(core, "c", 10.3).accepted, 1u);
  EXPECT_EQ(Block(10.3, 0.001, 1).into(core, "d", 10.3).reason, Reason::kTooManySources);
  const auto & totals = core.counts();
  EXPECT_EQ(totals[static_cast<std::size_t>(Reason::kNonFinite)], 2u);
  EXPECT_EQ(totals[static_cast<std::size_t>(Reason::kShape)], 2u);
  EXPECT_EQ(totals[static_cast<std::size_t>(Reason::kTimeBackwards)], 5u);
}

TEST(TransducerCore, OutOfRangeAndBankRefusalsWithoutAClock)
{
  ResonanceBank bank = bank_for(1);
  TransducerCore core(bank, settings(1, 20.0));
  Block(0.0, 0.05, 2).into(core, "s", 0.0);
  EXPECT_EQ(Block(1e300, 1.0, 1).into(core, "s", 0.0).reason, Reason::kOutOfRange);
  // A finite phase whose velocity overflows is the bank's to refuse: counted as "bank".
  Block huge(0.2, 0.05, 2);
  huge.values = {cplx(1e308, 0.0), cplx(-1e308, 0.0)};
  const PushOutcome out = huge.into(core, "s", 0.0);
  EXPECT_EQ(out.accepted, 2u);
  EXPECT_EQ(out.rejected, 0u);  // a bin is refused, not a sample
  EXPECT_GE(count(out, Reason::kBank), 1u);
}

TEST(TransducerCore, FloodBeyondTheRateBudget)
{
  ResonanceBank bank = bank_for(1);
  TransducerSettings s = settings(1, 0.0);
  s.max_input_rate_hz = 100.0;
  TransducerCore core(bank, s);
  const PushOutcome out = Block(0.0, 0.001, 3000).into(core, "s", 0.0);
  // One second of burst (100 samples) at once, the rest refused; tokens come back with time.
  EXPECT_EQ(out.accepted, 100u);
  EXPECT_EQ(count(out, Reason::kFlood), 2900u);
  EXPECT_EQ(Block(3.0, 0.001, 100).into(core, "s", 0.5).accepted, 50u);
  // Time going back earns nothing.
  EXPECT_EQ(Block(4.0, 0.001, 10).into(core, "s", 0.2).accepted, 0u);
}

TEST(TransducerCore, SilentSourcesAreReportedOnceAndTheirChannelsTakenOver)
{
  ResonanceBank bank = bank_for(3);
  TransducerCore core(bank, settings(3, 100.0));
  EXPECT_EQ(Block(0.0, 0.01, 50).into(core, "a", 0.5).accepted, 50u);
  EXPECT_EQ(Block(0.5, 0.01, 50).into(core, "b", 0.6).accepted, 50u);
  EXPECT_EQ(Block(1.0, 0.01, 50).into(core, "c", 0.7).accepted, 50u);
  EXPECT_EQ(core.channels_of("b"), std::vector<int>({1}));
  EXPECT_EQ(core.expire(1.65), std::vector<std::string>({"a", "b"}));
  EXPECT_TRUE(core.expire(1.66).empty());
  EXPECT_EQ(core.active_sources(), std::vector<std::string>({"c"}));
  EXPECT_EQ(core.silent_sources(), std::vector<std::string>({"a", "b"}));
  // A two-channel source takes the channels of the longest silent first.
  EXPECT_EQ(Block(1.5, 0.01, 10, 2).into(core, "wide", 1.7).accepted, 10u);
  EXPECT_EQ(core.channels_of("wide"), std::vector<int>({0, 1}));
  EXPECT_TRUE(core.channels_of("a").empty());
  EXPECT_TRUE(core.channels_of("b").empty());
}

TEST(TransducerCore, AReturningSourceRejoinsWithoutAJump)
{
  // A still source (constant phase) has zero velocity: any jump would show as energy.
  ResonanceBank bank = bank_for(1, 100.0);
  TransducerCore core(bank, settings(1, 10.0));
  // The last sample ends a bin (t0 + 20 bins), so no bin of the old stretch is left open.
  Block still(0.0, 0.01, 201, 1, 0.0);
  still.into(core, "s", 2.0);
  ASSERT_EQ(core.open_bins(), 0u);
  ASSERT_EQ(core.expire(3.5).size(), 1u);
  Block moved(4.0, 0.01, 200, 1, 0.0);
  for (cplx & v : moved.values) {
    v *= 100.0;  // returns far from where it was held
  }
  moved.into(core, "s", 6.0);
  EXPECT_GT(bank.samples(), 30u);
  for (double e : bank.raw().E0) {
    EXPECT_EQ(e, 0.0);
  }
}

TEST(TransducerCore, AReturningSourceWhoseLastBinIsStillOpenRejoinsWithoutAJump)
{
  // Regression: with jittered stamps a source goes silent inside a bin, which
  // stays open; on the return that old bin was pushed first and took the
  // re-join offset, so the new data still jumped (E0 ~ 277 here, not ~1e-20).
  ResonanceBank bank = bank_for(1);
  TransducerCore core(bank, clocked(1, 100.0));
  std::mt19937_64 rng(4);
  const auto still = [](double) {return cplx(1.0, 0.0);};
  const double last = feed_jittered(core, "s", rng, 1.0, 4.0, still);
  ASSERT_EQ(core.open_bins(), 1u);  // the old stretch's last bin
  ASSERT_EQ(core.expire(last + 1.2), std::vector<std::string>({"s"}));
  feed_jittered(core, "s", rng, last + 1.5, last + 4.0, [](double) {return cplx(100.0, 0.0);});
  EXPECT_GT(bank.samples(), 500u);
  // Only the rounding of bin means of 9 to 11 samples moves a still source
  // (|v|^2 ~ 1e-20); a jump of 99 in a 10 ms bin gives thousands.
  for (double e : bank.raw().E0) {
    EXPECT_LT(e, 1e-12);
  }
  for (double e : bank.raw().Etau) {
    EXPECT_LT(e, 1e-12);
  }
}

TEST(TransducerCore, AMovingSourceRejoinsAsIfItHadNeverJumped)
{
  // The same return, moving (e^{i 5 t}): a step of 100 - 40i on the return
  // leaves T, E0 and E_tau what they are without it, up to rounding.
  const auto run = [](cplx jump) {
      ResonanceBank bank = bank_for(1);
      TransducerCore core(bank, clocked(1, 100.0));
      std::mt19937_64 rng(9);
      const auto moving = [](double t) {return std::polar(1.0, 5.0 * t);};
      const double last = feed_jittered(core, "s", rng, 1.0, 4.0, moving);
      EXPECT_EQ(core.open_bins(), 1u);
      EXPECT_EQ(core.expire(last + 1.2).size(), 1u);
      feed_jittered(
        core, "s", rng, last + 1.5, last + 4.0, [&](double t) {return moving(t) + jump;});
      return bank.raw();
    };
  const auto reference = run(cplx(0.0, 0.0));
  const auto jumped = run(cplx(100.0, -40.0));
  ASSERT_EQ(jumped.E0.size(), reference.E0.size());
  for (std::size_t k = 0; k < reference.E0.size(); ++k) {
    EXPECT_NEAR(jumped.E0[k], reference.E0[k], 1e-9 * reference.E0[k]);
    EXPECT_NEAR(jumped.Etau[k], reference.Etau[k], 1e-9 * reference.Etau[k]);
    EXPECT_NEAR(std::abs(jumped.T[k] - reference.T[k]), 0.0, 1e-9 * reference.E0[k]);
  }
  EXPECT_NEAR(reference.E0[0], 25.0, 5.0);  // ~ |v|^2 of e^{i 5 t}: the signal got through
}

TEST(TransducerCore, AFlappingSourceAndATakeOverRejoinWithoutAJump)
{
  // Bins of 50 ms, stretches of one 10 ms message: a stretch often lies in
  // one bin, still open (and its offset still due) when the source returns
  // again; a new source then takes the channel over from an open bin too.
  ResonanceBank bank = bank_for(1);
  TransducerCore core(bank, clocked(1, 20.0));
  std::mt19937_64 rng(5);
  double last = 1.0;
  for (int stretch = 0; stretch < 8; ++stretch) {
    const cplx value(stretch % 2 ? 100.0 : -7.0 * stretch, 1.0);
    last = feed_jittered(
      core, "s", rng, last + 1.5, last + 1.5005, [=](double) {return value;});
    ASSERT_GE(core.open_bins(), 1u);
    ASSERT_EQ(core.expire(last + 1.2).size(), 1u);
  }
  feed_jittered(core, "other", rng, last + 1.5, last + 2.5, [](double) {return cplx(-3e3, 0.0);});
  EXPECT_EQ(core.channels_of("other"), std::vector<int>({0}));
  EXPECT_GT(bank.samples(), 20u);
  for (double e : bank.raw().E0) {
    EXPECT_LT(e, 1e-12);  // rounding of the bin means only, as above
  }
}

TEST(TransducerCore, TheHorizonNeverPassesTheClock)
{
  // A source stamped ahead (within the skew) waits for the clock: the other stays on time.
  ResonanceBank bank = bank_for(2);
  TransducerCore core(bank, clocked(2, 100.0));
  std::uint64_t late = 0;
  for (int step = 0; step < 100; ++step) {
    const double now = 1.0 + 0.01 * step;
    if (step >= 10) {  // after the clean source has started
      EXPECT_EQ(Block(now + 0.45, 0.001, 1).into(core, "ahead", now).accepted, 1u);
    }
    const PushOutcome out = Block(now - 0.005, 0.005, 2).into(core, "clean", now);
    late += count(out, Reason::kLate);
    EXPECT_LE(core.newest_t(), now);
    EXPECT_GE(core.newest_t(), now - 0.03);
  }
  EXPECT_EQ(late, 0u);
}

TEST(TransducerCore, AnyBytesAreAName)
{
  ResonanceBank bank = bank_for(2);
  TransducerCore core(bank, settings(2, 0.0));
  const std::string odd("\xed\xa0\x80 \0 x", 7);
  EXPECT_EQ(Block(0.0, 0.01, 5).into(core, odd, 0.0).accepted, 5u);
  EXPECT_EQ(core.active_sources(), std::vector<std::string>({odd}));
  EXPECT_EQ(core.accepted(), 5u);
}
