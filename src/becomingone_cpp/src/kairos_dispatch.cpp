// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// Runtime dispatch of the block kernel.  The build stays portable (no
// -march): on x86-64 with GCC/Clang the same kernel source is compiled three
// times, for AVX-512F, AVX2+FMA and the x86-64 baseline, and the widest one
// the CPU (and OS) supports is chosen once at run time.  Elsewhere (aarch64:
// NEON is baseline there) the kernel is compiled once for the target.

#include <cmath>
#include <cstdlib>
#include <cstring>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "kairos_kernel.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KAIROS_X86_DISPATCH 1
#endif

namespace becomingone
{
namespace kairos
{
namespace detail
{

// The baseline build of the kernel (SSE2 on x86-64, NEON on aarch64).
#define KAIROS_VEC_BYTES 16
namespace k_default
{
#include "kairos_kernel_body.inc"  // NOLINT(build/include): once per target
}  // namespace k_default

#ifdef KAIROS_X86_DISPATCH
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))), \
  apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx2,fma")
#endif
#undef KAIROS_VEC_BYTES
#define KAIROS_VEC_BYTES 64
namespace k_avx512
{
#include "kairos_kernel_body.inc"  // NOLINT(build/include): once per target
}  // namespace k_avx512
#if defined(__clang__)
#pragma clang attribute pop
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#undef KAIROS_VEC_BYTES
#define KAIROS_VEC_BYTES 32
namespace k_avx2
{
#include "kairos_kernel_body.inc"  // NOLINT(build/include): once per target
}  // namespace k_avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // KAIROS_X86_DISPATCH

namespace
{

void kernel_default(const BlockArgs & a, LagState & st)
{
  k_default::block_kernel(a, st);
}

void phases_default(double omega, double t0, const double * t, double * theta, int n)
{
  k_default::reduced_phases(omega, t0, t, theta, n);
}

bool samples_default(const double * t, const double * ph, int n, int C, double t_prev,
  const double * ph_prev, double * dt, double * inv, double * vr, double * vi, double * n2)
{
  return k_default::sample_terms(t, ph, n, C, t_prev, ph_prev, dt, inv, vr, vi, n2);
}

#ifdef KAIROS_X86_DISPATCH
void kernel_avx512(const BlockArgs & a, LagState & st)
{
  k_avx512::block_kernel(a, st);
}

void kernel_avx2(const BlockArgs & a, LagState & st)
{
  k_avx2::block_kernel(a, st);
}

void phases_avx512(double omega, double t0, const double * t, double * theta, int n)
{
  k_avx512::reduced_phases(omega, t0, t, theta, n);
}

void phases_avx2(double omega, double t0, const double * t, double * theta, int n)
{
  k_avx2::reduced_phases(omega, t0, t, theta, n);
}

bool samples_avx512(const double * t, const double * ph, int n, int C, double t_prev,
  const double * ph_prev, double * dt, double * inv, double * vr, double * vi, double * n2)
{
  return k_avx512::sample_terms(t, ph, n, C, t_prev, ph_prev, dt, inv, vr, vi, n2);
}

bool samples_avx2(const double * t, const double * ph, int n, int C, double t_prev,
  const double * ph_prev, double * dt, double * inv, double * vr, double * vi, double * n2)
{
  return k_avx2::sample_terms(t, ph, n, C, t_prev, ph_prev, dt, inv, vr, vi, n2);
}
#endif

const char * default_name()
{
#if defined(__aarch64__) || defined(__ARM_NEON)
  return "neon";
#elif defined(__GNUC__) || defined(__clang__)
  return "default";
#else
  return "scalar";
#endif
}

struct Selection
{
  KernelFn fn;
  const char * name;
  PhaseFn phases;
  SampleFn samples;
};

Selection choose()
{
  const char * want = std::getenv("BECOMINGONE_KAIROS_SIMD");
  const bool narrow_default = want && std::strcmp(want, "default") == 0;
  const bool narrow_avx2 = want && std::strcmp(want, "avx2") == 0;
#ifdef KAIROS_X86_DISPATCH
  __builtin_cpu_init();
  const bool has_avx512 = __builtin_cpu_supports("avx512f") &&
    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  const bool has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!narrow_default && !narrow_avx2 && has_avx512 && has_avx2) {
    return {&kernel_avx512, "avx512f", &phases_avx512, &samples_avx512};
  }
  if (!narrow_default && has_avx2) {
    return {&kernel_avx2, "avx2", &phases_avx2, &samples_avx2};
  }
#else
  (void)narrow_default;
  (void)narrow_avx2;
#endif
  return {&kernel_default, default_name(), &phases_default, &samples_default};
}

const Selection & selection()
{
  static const Selection sel = choose();
  return sel;
}

}  // namespace

KernelFn select_kernel(const char ** name)
{
  if (name) {
    *name = selection().name;
  }
  return selection().fn;
}

PhaseFn select_phases()
{
  return selection().phases;
}

SampleFn select_samples()
{
  return selection().samples;
}

}  // namespace detail

const char * simd_path()
{
  const char * name = nullptr;
  detail::select_kernel(&name);
  return name;
}

}  // namespace kairos
}  // namespace becomingone
