// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// Unit tests of the C++ core against a direct, sample-by-sample
// transcription of the definition (unbounded history, binary search).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "becomingone_cpp/kairos.hpp"

using becomingone::kairos::ResonanceBank;
using cplx = std::complex<double>;

namespace
{

// The definition, written plainly.
struct Naive
{
  std::vector<double> lags;
  double W, omega;
  int C;
  std::vector<double> ts;                 // velocity stamps
  std::vector<std::vector<cplx>> vs;      // velocities
  bool have0 = false;
  double t0 = 0, tl = 0;
  std::vector<cplx> pl;
  std::vector<cplx> T;
  std::vector<double> E0, Et;

  Naive(std::vector<double> l, double w, double om, int c)
  : lags(l), W(w), omega(om), C(c), T(l.size()), E0(l.size()), Et(l.size()) {}

  void push(double t, const cplx * p)
  {
    if (!have0) {
      have0 = true;
      t0 = tl = t;
      pl.assign(p, p + C);
      return;
    }
    const double dt = t - tl;
    std::vector<cplx> v(C);
    for (int c = 0; c < C; ++c) {
      v[c] = (p[c] - pl[c]) / dt;
    }
    ts.push_back(t);
    vs.push_back(v);
    tl = t;
    pl.assign(p, p + C);
    const double a = std::exp(-dt / W), om = -std::expm1(-dt / W);
    const double th = std::fmod(omega * (t - t0), 2 * M_PI);
    const cplx rot = std::polar(1.0, th);
    double n0 = 0;
    for (const cplx & x : v) {
      n0 += std::norm(x);
    }
    for (std::size_t k = 0; k < lags.size(); ++k) {
      const double s = t - lags[k];
      if (s < ts.front()) {
        continue;
      }
      const auto it = std::lower_bound(ts.begin(), ts.end(), s);
      const std::size_t up = it - ts.begin();
      std::vector<cplx> l(C);
      if (ts[up] == s) {
        l = vs[up];
      } else {
        const double h = (s - ts[up - 1]) / (ts[up] - ts[up - 1]);
        for (int c = 0; c < C; ++c) {
          l[c] = (1 - h) * vs[up - 1][c] + h * vs[up][c];
        }
      }
      cplx x = 0;
      double nl = 0;
      for (int c = 0; c < C; ++c) {
        x += v[c] * std::conj(l[c]);
        nl += std::norm(l[c]);
      }
      T[k] = a * T[k] + om * x * rot;
      E0[k] = a * E0[k] + om * n0;
      Et[k] = a * Et[k] + om * nl;
    }
  }

  void dissipate(double f)
  {
    for (std::size_t k = 0; k < lags.size(); ++k) {
      T[k] *= f;
      E0[k] *= f;
      Et[k] *= f;
    }
  }
};

struct Stream
{
  std::vector<double> t;
  std::vector<cplx> p;   // row-major N x C
};

Stream make_stream(int n, int C, bool irregular, unsigned seed)
{
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> g(0.0, 1.0);
  Stream s;
  double t = 3.25;
  std::vector<cplx> ph(C);
  for (int i = 0; i < n; ++i) {
    t += irregular ? 0.002 + 0.008 * u(rng) : 0.0078125;
    s.t.push_back(t);
    for (int c = 0; c < C; ++c) {
      ph[c] += cplx(g(rng), g(rng)) * 0.1 + std::polar(1.0, 0.3 * c + 7.0 * t);
      s.p.push_back(ph[c]);
    }
  }
  return s;
}

void expect_close(const std::vector<cplx> & a, const std::vector<cplx> & b, double rtol)
{
  ASSERT_EQ(a.size(), b.size());
  double scale = 0;
  for (const cplx & x : b) {
    scale = std::max(scale, std::abs(x));
  }
  for (std::size_t k = 0; k < a.size(); ++k) {
    EXPECT_LE(std::abs(a[k] - b[k]), rtol * std::max(std::abs(b[k]), 1e-3 * scale)) << "lag " << k;
  }
}

void check_against_naive(int C, bool irregular, double omega)
{
  const std::vector<double> lags = {0.0, 0.0078125, 0.013, 0.05, 0.0993, 0.25, 0.61};
  const Stream s = make_stream(700, C, irregular, 11u + C);
  ResonanceBank bank(lags, 0.4, omega, C, 600.0);
  Naive ref(lags, 0.4, omega, C);
  for (std::size_t i = 0; i < s.t.size(); ++i) {
    ASSERT_TRUE(bank.push(s.t[i], &s.p[i * C]));
    ref.push(s.t[i], &s.p[i * C]);
    if (i % 97 == 5 || i + 1 == s.t.size()) {
      const auto r = bank.raw();
      expect_close(r.T, ref.T, 1e-10);
      for (std::size_t k = 0; k < lags.size(); ++k) {
        EXPECT_NEAR(r.E0[k], ref.E0[k], 1e-10 * ref.E0[k]);
        EXPECT_NEAR(r.Etau[k], ref.Et[k], 1e-10 * ref.Et[k]);
      }
    }
  }
  EXPECT_EQ(bank.overrun(), 0u);
}

}  // namespace

TEST(Kairos, MatchesDefinitionUniform) {check_against_naive(1, false, 0.0);}
TEST(Kairos, MatchesDefinitionIrregular) {check_against_naive(1, true, 3.0);}
TEST(Kairos, MatchesDefinitionManyChannels) {check_against_naive(5, true, -2.0);}
TEST(Kairos, MatchesDefinitionManyChannelsUniform) {check_against_naive(3, false, 1.5);}

TEST(Kairos, ConstructorRejectsBadArguments) {
  EXPECT_THROW(ResonanceBank({}, 1.0), std::invalid_argument);
  EXPECT_THROW(ResonanceBank({-0.1}, 1.0), std::invalid_argument);
  EXPECT_THROW(ResonanceBank({0.1}, 0.0), std::invalid_argument);
  EXPECT_THROW(ResonanceBank({0.1}, -1.0), std::invalid_argument);
  EXPECT_THROW(ResonanceBank({0.1}, 1.0, 0.0, 0), std::invalid_argument);
  EXPECT_THROW(ResonanceBank({0.1}, 1.0, 0.0, 1, 0.0), std::invalid_argument);
  EXPECT_THROW(ResonanceBank({1e9}, 1.0), std::invalid_argument);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(ResonanceBank({nan}, 1.0), std::invalid_argument);
  EXPECT_NO_THROW(ResonanceBank({0.0}, 1.0));
}

TEST(Kairos, RejectsBadSamplesWithoutApplyingThem) {
  ResonanceBank bank({0.0, 0.01}, 1.0);
  const cplx p0(0.0, 0.0), p1(0.1, 0.0), bad(std::nan(""), 0.0);
  EXPECT_TRUE(bank.push(0.0, &p0));
  EXPECT_TRUE(bank.push(0.01, &p1));
  const auto before = bank.raw();
  EXPECT_FALSE(bank.push(0.01, &p1));  // t not increasing
  EXPECT_FALSE(bank.push(0.005, &p1));
  EXPECT_FALSE(bank.push(std::nan(""), &p1));
  EXPECT_FALSE(bank.push(0.02, &bad));
  const cplx huge(1e308, 0.0);
  EXPECT_FALSE(bank.push(0.01 + 1e-300, &huge));  // velocity overflows
  EXPECT_EQ(bank.rejected(), 5u);
  EXPECT_EQ(bank.samples(), 2u);
  const auto after = bank.raw();
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(before.T[k], after.T[k]);
    EXPECT_EQ(before.E0[k], after.E0[k]);
    EXPECT_EQ(before.Etau[k], after.Etau[k]);
  }
  // The next good sample is taken relative to the last accepted one.
  const cplx p2(0.3, 0.0);
  EXPECT_TRUE(bank.push(0.02, &p2));
  EXPECT_NEAR(bank.raw().E0[0], -std::expm1(-0.01) * 100.0 * std::exp(-0.01) + 400.0 *
    -std::expm1(-0.01), 1e-9);
}

TEST(Kairos, PushBlockIsBitIdenticalToPushes) {
  const int C = 2;
  const Stream s = make_stream(1000, C, true, 5u);
  const std::vector<double> lags = {0.0, 0.011, 0.2, 0.5};
  ResonanceBank a(lags, 0.3, 4.0, C, 500.0), b(lags, 0.3, 4.0, C, 500.0);
  for (std::size_t i = 0; i < s.t.size(); ++i) {
    a.push(s.t[i], &s.p[i * C]);
  }
  std::size_t i = 0, step = 1;
  while (i < s.t.size()) {
    const std::size_t n = std::min(step, s.t.size() - i);
    EXPECT_EQ(b.push_block(&s.t[i], &s.p[i * C], n), n);
    i += n;
    step = step * 3 + 1;
    b.resonance();  // reads in between must not change what follows
  }
  EXPECT_EQ(a.to_bytes(), b.to_bytes());
  const auto ra = a.raw(), rb = b.raw();
  for (std::size_t k = 0; k < lags.size(); ++k) {
    EXPECT_EQ(ra.T[k], rb.T[k]);
    EXPECT_EQ(ra.E0[k], rb.E0[k]);
    EXPECT_EQ(ra.Etau[k], rb.Etau[k]);
  }
}

TEST(Kairos, RoundTripContinuesBitIdentically) {
  const Stream s = make_stream(900, 1, true, 9u);
  const std::vector<double> lags = {0.0, 0.03, 0.3};
  ResonanceBank a(lags, 0.5, 2.0, 1, 400.0);
  a.push_block(s.t.data(), s.p.data(), 450);
  ResonanceBank b = ResonanceBank::from_bytes(a.to_bytes());
  a.push_block(s.t.data() + 450, s.p.data() + 450, 450);
  b.push_block(s.t.data() + 450, s.p.data() + 450, 450);
  const auto ra = a.raw(), rb = b.raw();
  for (std::size_t k = 0; k < lags.size(); ++k) {
    EXPECT_EQ(ra.T[k], rb.T[k]);
    EXPECT_EQ(ra.Etau[k], rb.Etau[k]);
  }
  EXPECT_EQ(a.to_bytes(), b.to_bytes());
  EXPECT_THROW(ResonanceBank::from_bytes("nonsense"), std::invalid_argument);
  std::string cut = a.to_bytes();
  cut.resize(cut.size() - 3);
  EXPECT_THROW(ResonanceBank::from_bytes(cut), std::invalid_argument);
}

TEST(Kairos, RoundTripContinuesBitIdenticallyOnUniformStream) {
  // One channel, uniform stamps: the vectorised path with its derived
  // velocity differences, restored after the history has been compacted.
  const Stream s = make_stream(3000, 1, false, 21u);
  const std::vector<double> lags = {0.0, 0.0078125, 0.05, 0.2, 0.3337, 0.41, 0.5, 0.77, 1.0};
  ResonanceBank a(lags, 0.5, 2.0, 1, 200.0);
  a.push_block(s.t.data(), s.p.data(), 1701);
  ResonanceBank b = ResonanceBank::from_bytes(a.to_bytes());
  a.push_block(s.t.data() + 1701, s.p.data() + 1701, 1299);
  for (std::size_t i = 1701; i < s.t.size(); ++i) {
    b.push(s.t[i], &s.p[i]);
  }
  EXPECT_EQ(a.to_bytes(), b.to_bytes());
  const auto ra = a.raw(), rb = b.raw();
  for (std::size_t k = 0; k < lags.size(); ++k) {
    EXPECT_EQ(ra.T[k], rb.T[k]);
    EXPECT_EQ(ra.Etau[k], rb.Etau[k]);
  }
}

TEST(Kairos, OverrunWhenRateExceedsMaxRate) {
  // Bounded history for 0.1 s at 100 Hz; feed 1 kHz: the long lag's bracket
  // falls out of the history and is never updated, never read out of range.
  ResonanceBank bank({0.0, 0.1}, 1.0, 0.0, 1, 100.0);
  for (int i = 0; i < 2000; ++i) {
    const cplx p = std::polar(1.0, 0.01 * i);
    bank.push(i * 1e-3, &p);
  }
  EXPECT_GT(bank.overrun(), 0u);
  const auto r = bank.raw();
  EXPECT_GT(r.E0[0], 0.0);
  EXPECT_EQ(r.E0[1], 0.0);
  EXPECT_EQ(std::abs(bank.resonance()[1]), 0.0);
}

TEST(Kairos, ComplexExponentialIsFullyCoherent) {
  const double Om = 2 * M_PI * 3.0;
  const std::vector<double> lags = {0.0, 0.0123, 0.05, 0.1};
  ResonanceBank bank(lags, 0.5);
  for (int i = 0; i < 4000; ++i) {
    const double t = i / 400.0;
    const cplx p = std::polar(1.0, Om * t);
    bank.push(t, &p);
  }
  const auto g = bank.resonance();
  for (std::size_t k = 0; k < lags.size(); ++k) {
    EXPECT_NEAR(std::norm(g[k]), 1.0, 1e-9);
    EXPECT_NEAR(std::remainder(std::arg(g[k]) - Om * lags[k], 2 * M_PI), 0.0, 1e-3);
  }
}

namespace
{

// Positions (sample counts) at which the dissipation tests call dissipate(),
// and the factor: mid-block, right after a block boundary, exactly on one,
// twice at the same position, and near the end.
struct Dissipation
{
  std::size_t at;
  double factor;
};
const std::vector<Dissipation> kDissipations = {
  {1, 0.5}, {77, 0.9}, {129, 0.25}, {257, 0.75}, {300, 0.6}, {300, 0.999}, {513, 1.0},
  {640, 0.125}, {699, 0.8}};

}  // namespace

TEST(Kairos, DissipateMatchesDefinition) {
  for (int C : {1, 3}) {
    const std::vector<double> lags = {0.0, 0.0078125, 0.013, 0.05, 0.25, 0.61};
    const Stream s = make_stream(700, C, true, 31u + C);
    ResonanceBank bank(lags, 0.4, 2.5, C, 600.0);
    Naive ref(lags, 0.4, 2.5, C);
    std::size_t d = 0;
    for (std::size_t i = 0; i <= s.t.size(); ++i) {
      for (; d < kDissipations.size() && kDissipations[d].at == i; ++d) {
        const auto before = bank.raw();
        bank.dissipate(kDissipations[d].factor);
        ref.dissipate(kDissipations[d].factor);
        const auto after = bank.raw();
        for (std::size_t k = 0; k < lags.size(); ++k) {
          // Exactly the state a read showed, times the factor.
          EXPECT_EQ(after.T[k], before.T[k] * kDissipations[d].factor);
          EXPECT_EQ(after.E0[k], before.E0[k] * kDissipations[d].factor);
          EXPECT_EQ(after.Etau[k], before.Etau[k] * kDissipations[d].factor);
        }
      }
      if (i == s.t.size()) {
        break;
      }
      ASSERT_TRUE(bank.push(s.t[i], &s.p[i * C]));
      ref.push(s.t[i], &s.p[i * C]);
      if (i % 61 == 7 || i + 1 == s.t.size()) {
        const auto r = bank.raw();
        expect_close(r.T, ref.T, 1e-10);
        for (std::size_t k = 0; k < lags.size(); ++k) {
          EXPECT_NEAR(r.E0[k], ref.E0[k], 1e-10 * ref.E0[k]);
          EXPECT_NEAR(r.Etau[k], ref.Et[k], 1e-10 * ref.Et[k]);
        }
      }
    }
    EXPECT_EQ(bank.samples(), s.t.size());
  }
}

TEST(Kairos, DissipateKeepsPushBlockEqualPushesAndRoundTrip) {
  for (int C : {1, 2}) {
    for (bool irregular : {false, true}) {
      const Stream s = make_stream(700, C, irregular, 41u + C);
      const std::vector<double> lags = {0.0, 0.011, 0.0078125, 0.2, 0.5};
      ResonanceBank a(lags, 0.3, 4.0, C, 500.0), b(lags, 0.3, 4.0, C, 500.0);
      std::size_t d = 0;
      for (std::size_t i = 0; i < s.t.size(); ++i) {
        for (; d < kDissipations.size() && kDissipations[d].at == i; ++d) {
          a.dissipate(kDissipations[d].factor);
        }
        a.push(s.t[i], &s.p[i * C]);
      }
      // b: the same samples in blocks that straddle the dissipation points,
      // reads in between, restored from bytes at every dissipation.
      std::size_t i = 0, step = 5;
      d = 0;
      while (i < s.t.size()) {
        for (; d < kDissipations.size() && kDissipations[d].at == i; ++d) {
          b.dissipate(kDissipations[d].factor);
          b.resonance();
          b = ResonanceBank::from_bytes(b.to_bytes());
        }
        std::size_t n = std::min(step, s.t.size() - i);
        if (d < kDissipations.size()) {
          n = std::min(n, kDissipations[d].at - i);
        }
        EXPECT_EQ(b.push_block(&s.t[i], &s.p[i * C], n), n);
        i += n;
        step = step * 2 + 3;
        b.raw();
      }
      EXPECT_EQ(a.to_bytes(), b.to_bytes()) << "C " << C << " irregular " << irregular;
    }
  }
}

TEST(Kairos, DissipateByOneChangesNothingAndBadFactorsThrow) {
  const Stream s = make_stream(300, 2, true, 51u);
  ResonanceBank a({0.0, 0.05}, 0.3, 1.0, 2), b({0.0, 0.05}, 0.3, 1.0, 2);
  a.push_block(s.t.data(), s.p.data(), 200);  // 72 samples pending
  b.push_block(s.t.data(), s.p.data(), 200);
  a.dissipate(1.0);
  EXPECT_EQ(a.to_bytes(), b.to_bytes());
  for (double f : {0.0, -0.5, 1.0000000000000002, 2.0, std::nan(""),
      std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()})
  {
    EXPECT_THROW(a.dissipate(f), std::invalid_argument) << f;
  }
  EXPECT_EQ(a.to_bytes(), b.to_bytes());
  a.push_block(s.t.data() + 200, s.p.data() + 200, 100);
  b.push_block(s.t.data() + 200, s.p.data() + 200, 100);
  EXPECT_EQ(a.to_bytes(), b.to_bytes());
  // Counters, t_0 and the history stay; only the lag state is scaled.
  const auto before = a.raw();
  a.dissipate(0.5);
  EXPECT_EQ(a.samples(), 300u);
  EXPECT_EQ(a.rejected(), 0u);
  const auto after = a.raw();
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(after.T[k], before.T[k] * 0.5);
    EXPECT_EQ(after.E0[k], before.E0[k] * 0.5);
  }
  const auto ga = a.resonance(), gb = b.resonance();
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(std::abs(ga[k] - gb[k]), 0.0, 1e-15);  // gamma is a ratio
  }
}

TEST(Kairos, PushBlockEqualsPushesAcrossThePhaseRoundingBound) {
  // omega (t - t0) / 2 pi crosses 2^51 within a run: theta is reduced in
  // vector lanes below that and in scalar lanes above; push() (a lone lane)
  // and push_block() (whole vectors, any split) give the same bits, and a
  // rejected sample (non-finite phase) inside a run changes nothing else.
  const double omega = 2.0 * M_PI * 1e6;
  const double start = std::ldexp(1.0, 51) / 1e6 - 0.05;
  std::vector<double> t{0.0};
  std::vector<cplx> p{cplx(1.0, 0.0)};
  for (int n = 0; n < 300; ++n) {
    t.push_back(start + n * 1e-3);
    p.push_back(std::polar(1.0 + 0.01 * n, 0.3 * n));
  }
  p[77] = cplx(std::nan(""), 0.0);
  for (int C : {1, 3}) {
    std::vector<cplx> pc;
    for (const cplx & x : p) {
      for (int c = 0; c < C; ++c) {
        pc.push_back(x * std::polar(1.0, 0.5 * c));
      }
    }
    ResonanceBank a({0.0, 0.01, 0.0505}, 0.2, omega, C, 2000.0);
    ResonanceBank b({0.0, 0.01, 0.0505}, 0.2, omega, C, 2000.0);
    std::size_t accepted = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
      accepted += a.push(t[i], &pc[i * C]) ? 1 : 0;
    }
    std::size_t i = 0, total = 0;
    for (std::size_t n : {1u, 3u, 60u, 8u, 100u, 129u}) {
      n = std::min(n, t.size() - i);
      total += b.push_block(&t[i], &pc[i * C], n);
      i += n;
    }
    EXPECT_EQ(i, t.size());
    EXPECT_EQ(accepted, t.size() - 1) << "C " << C;
    EXPECT_EQ(total, accepted) << "C " << C;
    EXPECT_EQ(a.to_bytes(), b.to_bytes()) << "C " << C;
  }
}
