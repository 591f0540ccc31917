#pragma once
// Progress and cancel hooks for long operations (loading, encoding, prefill).

#include <functional>
#include <string>

namespace querylens {

// Called between layers or tensors with the fraction done (0..1) and what is being done.
// Returning false asks the operation to stop: it then throws querylens::Cancelled.
using ProgressCallback = std::function<bool(double fraction, const std::string& stage)>;

}  // namespace querylens
