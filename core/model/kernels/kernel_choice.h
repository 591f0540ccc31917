#pragma once
// Which kernel computes a product of 9 rows or more: ours (the packed GEMM of the active ISA
// level) or libtorch's at::linear (oneDNN for bf16, OpenBLAS for fp32). On some machines
// libtorch is the faster one for some shapes (Intel CPUs with AMX, where oneDNN's AMX kernels
// run ~4x our avx512bf16 GEMM); which one is faster is measured on the machine at hand
// (kernel_calibration.h), never assumed. linear() asks chosenKernel() for every such product.
//
// QUERYLENS_KERNEL_CHOICE=ours|libtorch|measured (default measured) forces one kernel or uses
// the measurements; tests run with `ours` so that their numbers do not depend on a timing.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace querylens::model::kernels {

enum class GemmKernel { Ours, Libtorch };
const char* gemmKernelName(GemmKernel kernel);  // "ours", "libtorch"

enum class KernelChoiceMode { Ours, Libtorch, Measured };
const char* kernelChoiceModeName(KernelChoiceMode mode);  // "ours", "libtorch", "measured"
std::optional<KernelChoiceMode> parseKernelChoiceMode(const std::string& name);

// QUERYLENS_KERNEL_CHOICE (read once; unset or unknown: measured), or what setKernelChoiceMode set.
KernelChoiceMode kernelChoiceMode();
// Tests and benchmarks: force a mode for this process (nullopt: back to the environment's).
void setKernelChoiceMode(std::optional<KernelChoiceMode> mode);
// The QUERYLENS_KERNEL_CHOICE value that was ignored because it named no mode, or empty.
std::string invalidKernelChoiceEnvironment();

// One product shape as a layer of the model runs it: y [m, n] = x [m, k] W^T, weights "fp32" or
// "bf16" (int8 weights always run ours: libtorch has no weight-only int8 product).
struct GemmShape {
    std::string layer;  // what it is, e.g. "vision fc1"
    std::string weights;
    std::int64_t m = 0, n = 0, k = 0;
    double gflop() const { return 2e-9 * double(m) * double(n) * double(k); }
};

// Both kernels' best times for a shape, and the one chosen.
struct GemmTiming {
    GemmShape shape;
    double oursSeconds = 0, libtorchSeconds = 0;
    GemmKernel choice = GemmKernel::Ours;
    std::string source;  // "measured" in this process, or "cache" (measured earlier on this machine)
    double oursGflops() const { return oursSeconds > 0 ? shape.gflop() / oursSeconds : 0; }
    double libtorchGflops() const { return libtorchSeconds > 0 ? shape.gflop() / libtorchSeconds : 0; }
};

// The decision: the faster of the two; a tie (or a time that is not a positive number) keeps
// ours, whose products keep float32 outputs where libtorch's bf16 at::linear rounds them to bf16.
GemmKernel fasterKernel(double oursSeconds, double libtorchSeconds);

// The measurements linear() follows in the measured mode (replacing any earlier ones with the
// same weights, n and k), and what they are now.
void recordTimings(const std::vector<GemmTiming>& timings);
std::vector<GemmTiming> recordedTimings();
void clearRecordedTimings();

// The kernel for a product of m rows of x [m, k] with weights [n, k] of type `weights`: the
// forced one, or in the measured mode the recorded choice for that weight shape when m is at
// least half the rows it was measured at (an image's products and batches of images; prompts
// of a few rows that happen to share a shape keep ours); ours when nothing is recorded.
GemmKernel chosenKernel(const std::string& weights, std::int64_t m, std::int64_t n, std::int64_t k);

}  // namespace querylens::model::kernels
