#pragma once
// Process-wide settings of the math libraries, and checks that warn about slow set-ups.

#include "model/blip2.h"
#include "querylens/model.h"

#include <string>
#include <vector>

namespace querylens::runtime {

// Sets libtorch's intra-op threads (and with them OpenMP's, which OpenBLAS uses); 0 means all
// available cores. Returns the count in effect. libtorch defaults to 1 on some machines.
int setThreadCount(int threads);
int threadCount();

// Warnings about the machine's set-up, e.g. the reference BLAS in place of OpenBLAS (25x slower).
std::vector<std::string> environmentWarnings();

// The kernels a model stored in `formats` runs at the active instruction-set level.
ModelInfo::Kernels kernelChoices(model::WeightFormats formats);

}  // namespace querylens::runtime
