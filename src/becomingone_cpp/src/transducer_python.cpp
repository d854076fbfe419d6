// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// TransducerCore for Python: one push() per message block.  The public
// wrapper is becomingone_core.transducer.Transducer; this binding checks
// shapes only (the wrapper already turned the block into arrays).

#include "transducer_python.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <complex>
#include <cstddef>
#include <string>
#include <vector>

#include "becomingone_cpp/kairos.hpp"
#include "becomingone_cpp/transducer_core.hpp"

namespace py = pybind11;

namespace becomingone
{
namespace kairos
{

namespace
{

using cplx = std::complex<double>;
using CArray = py::array_t<cplx, py::array::c_style | py::array::forcecast>;
using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// Source names are whatever str a sender put in frame_id, lone surrogates
// included: UTF-8 with surrogatepass both ways, so no name raises.
std::string to_name(const py::handle & name)
{
  if (!PyUnicode_Check(name.ptr())) {
    throw py::type_error("TransducerCore: source must be a str");
  }
  Py_ssize_t size = 0;
  const char * data = PyUnicode_AsUTF8AndSize(name.ptr(), &size);
  if (data != nullptr) {
    return std::string(data, static_cast<std::size_t>(size));
  }
  PyErr_Clear();
  py::object encoded = py::reinterpret_steal<py::object>(
    PyUnicode_AsEncodedString(name.ptr(), "utf-8", "surrogatepass"));
  if (!encoded) {
    throw py::error_already_set();
  }
  return std::string(PyBytes_AS_STRING(encoded.ptr()),
           static_cast<std::size_t>(PyBytes_GET_SIZE(encoded.ptr())));
}

py::str from_name(const std::string & name)
{
  PyObject * text = PyUnicode_DecodeUTF8(
    name.data(), static_cast<Py_ssize_t>(name.size()), "surrogatepass");
  if (text == nullptr) {
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::str>(text);
}

py::list from_names(const std::vector<std::string> & names)
{
  py::list out;
  for (const std::string & name : names) {
    out.append(from_name(name));
  }
  return out;
}

py::dict counts_dict(const std::array<std::uint64_t, kReasonCount> & counts)
{
  py::dict out;
  for (std::size_t r = 1; r < kReasonCount; ++r) {
    if (counts[r]) {
      out[reason_name(static_cast<Reason>(r))] = counts[r];
    }
  }
  return out;
}

py::tuple push(
  TransducerCore & core, const py::handle & source, const py::handle & t_obj,
  const py::handle & phase_obj, double now_s)
{
  const std::string name = to_name(source);
  DArray t = DArray::ensure(t_obj);
  CArray phase = CArray::ensure(phase_obj);
  if (!t || !phase) {
    throw py::value_error("TransducerCore.push: t must be float, phase complex arrays");
  }
  if (t.ndim() != 1 || phase.ndim() != 2 || phase.shape(0) != t.shape(0)) {
    throw py::value_error("TransducerCore.push: t must be (N,) and phase (N, width)");
  }
  const PushOutcome out = core.push(
    name, t.data(), phase.data(), static_cast<std::size_t>(t.shape(0)),
    static_cast<std::size_t>(phase.shape(1)), now_s);
  py::object counts = py::none();
  if (out.counted) {
    counts = counts_dict(out.counts);
  }
  return py::make_tuple(
    out.accepted, out.rejected, reason_name(out.reason), out.cycles, out.newest_t, counts);
}

}  // namespace

void bind_transducer_core(py::module_ & m)
{
  py::list reasons;
  for (std::size_t r = 1; r < kReasonCount; ++r) {
    reasons.append(reason_name(static_cast<Reason>(r)));
  }
  m.attr("TRANSDUCER_REASONS") = py::tuple(reasons);

  py::class_<TransducerCore>(m, "TransducerCore")
  .def(
    py::init(
      [](ResonanceBank & bank, int channels, double sample_rate_hz, double max_delay_s,
      double max_input_rate_hz, double max_clock_skew_s, double max_age_s,
      double source_timeout_s) {
        TransducerSettings s;
        s.channels = channels;
        s.sample_rate_hz = sample_rate_hz;
        s.max_delay_s = max_delay_s;
        s.max_input_rate_hz = max_input_rate_hz;
        s.max_clock_skew_s = max_clock_skew_s;
        s.max_age_s = max_age_s;
        s.source_timeout_s = source_timeout_s;
        return new TransducerCore(bank, s);
      }),
    py::arg("bank"), py::arg("channels"), py::arg("sample_rate_hz"), py::arg("max_delay_s"),
    py::arg("max_input_rate_hz"), py::arg("max_clock_skew_s"), py::arg("max_age_s"),
    py::arg("source_timeout_s"),
    py::keep_alive<1, 2>())  // the core feeds the bank: keep it alive
  .def("push", &push, py::arg("source"), py::arg("t"), py::arg("phase"), py::arg("now_s"))
  .def(
    "expire", [](TransducerCore & core, double now_s) {return from_names(core.expire(now_s));},
    py::arg("now_s"))
  .def(
    "channels_of", [](const TransducerCore & core, const py::handle & source) {
      return core.channels_of(to_name(source));
    }, py::arg("source"))
  .def_property_readonly(
    "active_sources", [](const TransducerCore & core) {return from_names(core.active_sources());})
  .def_property_readonly(
    "silent_sources", [](const TransducerCore & core) {return from_names(core.silent_sources());})
  .def_property_readonly("accepted", &TransducerCore::accepted)
  .def_property_readonly("cycles", &TransducerCore::cycles)
  .def_property_readonly("first_t", &TransducerCore::first_t)
  .def_property_readonly("newest_t", &TransducerCore::newest_t)
  .def_property_readonly("open_bins", &TransducerCore::open_bins)
  .def_property_readonly(
    "counts", [](const TransducerCore & core) {return counts_dict(core.counts());});
}

}  // namespace kairos
}  // namespace becomingone
