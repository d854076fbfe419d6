// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// Private extension module becomingone_cpp._kairos.  The public, documented
// surface is the pure-Python package becomingone_cpp.

#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <complex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "becomingone_cpp/kairos.hpp"
#include "kairos_kernel.hpp"
#include "transducer_python.hpp"

namespace py = pybind11;
using becomingone::kairos::ResonanceBank;
using cplx = std::complex<double>;
using CArray = py::array_t<cplx, py::array::c_style | py::array::forcecast>;
using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

namespace
{

std::vector<double> to_lags(const py::object & lags)
{
  DArray a;
  try {
    a = DArray::ensure(lags);
  } catch (const py::error_already_set &) {
    a = DArray();
  }
  if (!a || a.ndim() != 1) {
    throw std::invalid_argument("ResonanceBank: lags must be a 1-D sequence of seconds");
  }
  return std::vector<double>(a.data(), a.data() + a.size());
}

template<typename T>
py::array_t<T> to_array(const std::vector<T> & v)
{
  py::array_t<T> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

bool push(ResonanceBank & bank, double t, const py::handle & phase)
{
  const int C = bank.channels();
  // Fast path: a Python complex/float/int scalar for one channel.
  if (C == 1 && (PyComplex_CheckExact(phase.ptr()) || PyFloat_CheckExact(phase.ptr()))) {
    const cplx v = phase.cast<cplx>();
    return bank.push(t, &v);
  }
  CArray a;
  try {
    a = CArray::ensure(phase);
  } catch (const py::error_already_set &) {
    a = CArray();
  }
  if (!a) {
    bank.count_rejected(1);
    throw py::value_error("ResonanceBank.push: phase must be complex (scalar or length-C array)");
  }
  const bool ok_shape = (a.ndim() == 0 && C == 1) || (a.ndim() == 1 && a.shape(0) == C);
  if (!ok_shape) {
    bank.count_rejected(1);
    throw py::value_error(
            "ResonanceBank.push: phase must have shape (" + std::to_string(C) + ",)" +
            (C == 1 ? " or be a scalar" : ""));
  }
  return bank.push(t, a.data());
}

std::size_t push_block(ResonanceBank & bank, const py::handle & t_obj, const py::handle & p_obj)
{
  const int C = bank.channels();
  DArray t;
  CArray p;
  try {
    t = DArray::ensure(t_obj);
    p = CArray::ensure(p_obj);
  } catch (const py::error_already_set &) {
  }
  if (!t || !p) {
    throw py::value_error("ResonanceBank.push_block: t must be float array, phase complex array");
  }
  if (t.ndim() != 1) {
    bank.count_rejected(1);
    throw py::value_error("ResonanceBank.push_block: t must be 1-D (N,)");
  }
  const py::ssize_t n = t.shape(0);
  const bool ok_shape = (p.ndim() == 2 && p.shape(0) == n && p.shape(1) == C) ||
    (p.ndim() == 1 && C == 1 && p.shape(0) == n);
  if (!ok_shape) {
    bank.count_rejected(static_cast<std::uint64_t>(n));
    throw py::value_error(
            "ResonanceBank.push_block: phase must have shape (N, " + std::to_string(C) +
            ") with N = len(t) = " + std::to_string(n) + (C == 1 ? " (or (N,))" : ""));
  }
  const double * tp = t.data();
  const cplx * pp = p.data();
  py::gil_scoped_release release;
  return bank.push_block(tp, pp, static_cast<std::size_t>(n));
}

}  // namespace

PYBIND11_MODULE(_kairos, m)
{
  m.doc() = "Private C++ core of becomingone_cpp (KAIROS resonance bank).";
  py::register_exception_translator(
    [](std::exception_ptr p) {
      try {
        if (p) {
          std::rethrow_exception(p);
        }
      } catch (const std::invalid_argument & e) {
        PyErr_SetString(PyExc_ValueError, e.what());
      }
    });

  // Private (benchmark): lag-blocks done by each kernel path so far.
  m.def(
    "_path_counts", []() {
      std::uint64_t c[5];
      becomingone::kairos::detail::path_counts(c);
      py::dict d;
      d["plain"] = c[0];
      d["straddle"] = c[1];
      d["scalar"] = c[2];
      d["plain_failed"] = c[3];
      d["plain_skipped"] = c[4];
      return d;
    }, "Lag-blocks done by the plain fast, straddle fast and scalar paths (all banks).");
  m.def(
    "_reset_path_counts", &becomingone::kairos::detail::reset_path_counts,
    "Zero the counters of _path_counts().");
  m.def(
    "simd_path", &becomingone::kairos::simd_path,
    "Vector kernel chosen at run time: 'avx512f', 'avx2', 'default', 'neon' or 'scalar'.");

  py::class_<ResonanceBank>(m, "ResonanceBank")
  .def(
    py::init(
      [](const py::object & lags, double window, double omega, int channels, double max_rate) {
        return ResonanceBank(to_lags(lags), window, omega, channels, max_rate);
      }),
    py::arg("lags"), py::arg("window"), py::arg("omega") = 0.0, py::arg("channels") = 1,
    py::arg("max_rate") = 1000.0)
  .def("push", &push, py::arg("t"), py::arg("phase"))
  .def("push_block", &push_block, py::arg("t"), py::arg("phase"))
  .def("resonance", [](const ResonanceBank & b) {return to_array(b.resonance());})
  .def("coherence", [](const ResonanceBank & b) {return to_array(b.coherence());})
  .def(
    "raw", [](const ResonanceBank & b) {
      auto r = b.raw();
      return py::make_tuple(to_array(r.T), to_array(r.E0), to_array(r.Etau));
    })
  .def("dissipate", &ResonanceBank::dissipate, py::arg("factor"))
  .def("reset", &ResonanceBank::reset)
  .def(
    "to_bytes", [](const ResonanceBank & b) {
      const std::string s = b.to_bytes();
      return py::bytes(s);
    })
  .def_static(
    "from_bytes", [](const py::bytes & data) {
      return ResonanceBank::from_bytes(static_cast<std::string>(data));
    }, py::arg("data"))
  .def_property_readonly("rejected", &ResonanceBank::rejected)
  .def_property_readonly("samples", &ResonanceBank::samples)
  .def_property_readonly("overrun", &ResonanceBank::overrun)
  .def_property_readonly("lags", [](const ResonanceBank & b) {return to_array(b.lags());})
  .def_property_readonly("window", &ResonanceBank::window)
  .def_property_readonly("omega", &ResonanceBank::omega)
  .def_property_readonly("channels", &ResonanceBank::channels)
  .def_property_readonly("max_rate", &ResonanceBank::max_rate)
  .def_property_readonly("history_capacity", &ResonanceBank::history_capacity)
  .def(
    py::pickle(
      [](const ResonanceBank & b) {return py::bytes(b.to_bytes());},
      [](const py::bytes & data) {
        return ResonanceBank::from_bytes(static_cast<std::string>(data));
      }));

  becomingone::kairos::bind_transducer_core(m);
}
