// Copyright 2025 BecomingONE contributors. Apache-2.0.
//
// Python binding of TransducerCore, registered into the private _kairos module.

#ifndef TRANSDUCER_PYTHON_HPP_
#define TRANSDUCER_PYTHON_HPP_

#include <pybind11/pybind11.h>

namespace becomingone
{
namespace kairos
{

/// Adds TransducerCore and TRANSDUCER_REASONS to `module`.
void bind_transducer_core(pybind11::module_ & module);

}  // namespace kairos
}  // namespace becomingone

#endif  // TRANSDUCER_PYTHON_HPP_
