#pragma once
// What this machine can do at most, measured in the benchmark's own run: memory read
// bandwidth and the best matrix-product rates libtorch reaches.

#include <cstdint>
#include <string>

struct MachineLimits {
    double bandwidthGBs = 0;        // streaming read, all threads
    double fp32GemmGflops = 0;      // libtorch (OpenBLAS) float32 matrix product
    double bf16GemmGflops = 0;      // libtorch bfloat16 matrix product
    double widenedBf16Gflops = 0;   // our bf16 path for many rows: widen to float32, then GEMM
};

MachineLimits measureMachineLimits(int repeats);

// Reads a 1 GiB buffer (far beyond any cache) with libtorch's sum, the decode kernels' sum and
// the fp32 decode kernel: the rate at which this machine streams memory into the cores (the
// fastest pass of any), GB/s.
double measureReadBandwidth(int repeats);

// Which kernels OpenBLAS (libtorch's float32 products) runs, e.g. "Cooperlake", with
// " (forced by OPENBLAS_CORETYPE)" when the environment chose them (model/kernels/openblas_core.h).
std::string openBlasKernels();
