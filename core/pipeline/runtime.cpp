#include "pipeline/runtime.h"

#include "io/sanitizer_build.h"
#include "model/kernels/gemv.h"
#include "model/kernels/isa.h"
#include "model/kernels/kernel_calibration.h"
#include "model/kernels/matmul.h"
#include "model/vision_products.h"

#include <ATen/Parallel.h>

#include <fstream>
#include <string>
#include <thread>

namespace querylens::runtime {

// ThreadSanitizer builds (scripts/sanitize.sh --thread) keep torch on the calling thread:
// libtorch's and OpenBLAS's OpenMP threads come from libgomp, which is not instrumented, so
// TSan would take every tensor they share for a race.
constexpr bool kOneTorchThread = io::kThreadSanitizer;

int setThreadCount(int threads)
{
    const int available = int(std::max(1u, std::thread::hardware_concurrency()));
    const int count = kOneTorchThread ? 1 : threads > 0 ? threads : available;
    at::set_num_threads(count);
    return at::get_num_threads();
}

int threadCount() { return at::get_num_threads(); }

std::vector<std::string> environmentWarnings()
{
    std::vector<std::string> warnings;
    // Debian's libtorch uses whichever libblas.so.3 the alternatives system points to; the
    // reference implementation lives under .../blas/ and runs matrix products ~25x slower.
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool reference = false, openblas = false;
    while (std::getline(maps, line)) {
        if (line.find("openblas") != std::string::npos)
            openblas = true;
        else if (line.find("/blas/libblas.so") != std::string::npos)
            reference = true;
    }
    if (reference && !openblas)
        warnings.push_back("the slow reference BLAS is in use: install libopenblas0-openmp (about 25x faster "
                           "matrix products)");
    const std::string isa = model::kernels::invalidIsaEnvironment();
    if (!isa.empty())
        warnings.push_back("QUERYLENS_ISA=" + isa + " names no kernel level (portable, avx2, avx512, avx512bf16, amx): "
                           "ignored");
    // On an AMX CPU this runs the AMX kernel's one-time check on the real instructions.
    const std::string& amx = model::kernels::amxKernelProblem();
    if (!amx.empty())
        warnings.push_back(amx);
    const std::string choice = model::kernels::invalidKernelChoiceEnvironment();
    if (!choice.empty())
        warnings.push_back("QUERYLENS_KERNEL_CHOICE=" + choice + " names no kernel choice (ours, libtorch, measured): "
                           "ignored, the kernels are measured");
    return warnings;
}

KernelMeasurement measureKernelChoice(const model::VisionConfig& vision, model::WeightFormat format,
                                      std::vector<std::string>& warnings)
{
    namespace kernels = model::kernels;
    if (kernels::kernelChoiceMode() != kernels::KernelChoiceMode::Measured)
        return {};
    const kernels::CalibrationOutcome outcome =
        kernels::calibrate(model::visionProductShapes(vision, format), kernels::defaultCalibrationFile());
    kernels::recordTimings(outcome.timings);
    warnings.insert(warnings.end(), outcome.warnings.begin(), outcome.warnings.end());
    return {outcome.timings, outcome.seconds};
}

ModelInfo::Kernels kernelChoices(model::WeightFormats formats, const KernelMeasurement& measurement)
{
    namespace kernels = model::kernels;
    auto typeName = [](model::WeightFormat f) {
        return f == model::WeightFormat::Float32 ? "fp32" : f == model::WeightFormat::BFloat16 ? "bf16" : "int8";
    };
    ModelInfo::Kernels k;
    k.isa = kernels::isaName(kernels::activeIsa());
    k.cpu = kernels::cpuFeatures().model;
    k.cpuFlags = kernels::cpuFeatures().flags();
    k.images = kernels::gemmPath(typeName(formats.vision));
    k.prompts = kernels::gemmPath(typeName(formats.language));
    k.decode = kernels::decodePath(typeName(formats.language));
    k.attention = kernels::attentionPath();
    k.choice = kernels::kernelChoiceModeName(kernels::kernelChoiceMode());
    for (const kernels::GemmTiming& t : measurement.timings)
        k.products.push_back({t.shape.layer, t.shape.weights, t.shape.m, t.shape.n, t.shape.k,
                              kernels::gemmKernelName(t.choice), t.oursGflops(), t.libtorchGflops(), t.source});
    k.calibrationSeconds = measurement.seconds;
    return k;
}

}  // namespace querylens::runtime
