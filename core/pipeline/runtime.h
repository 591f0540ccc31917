#pragma once
// Process-wide settings of the math libraries, and checks that warn about slow set-ups.

#include "model/blip2.h"
#include "model/kernels/kernel_choice.h"
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

// In the measured kernel choice mode (the default), times our GEMM against libtorch's
// at::linear on the vision encoder's product shapes (or reads the timings kept for this machine)
// and has linear() follow them; returns the timings and adds the cache file's problems to
// `warnings`. Nothing in the other modes.
struct KernelMeasurement {
    std::vector<model::kernels::GemmTiming> timings;
    double seconds = 0;
};
KernelMeasurement measureKernelChoice(const model::VisionConfig& vision, model::WeightFormat format,
                                      std::vector<std::string>& warnings);
// The kernels a model stored in `formats` runs at the active instruction-set level, with the
// timings of measureKernelChoice.
ModelInfo::Kernels kernelChoices(model::WeightFormats formats, const KernelMeasurement& measurement = {});

}  // namespace querylens::runtime
