#include "machine_limits.h"

#include "bench_timing.h"
#include "model/kernels/gemv.h"
#include "model/kernels/matmul.h"
#include "model/kernels/openblas_core.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

double measureReadBandwidth(int repeats)
{
    const at::Tensor buffer = at::ones({std::int64_t(1) << 28});
    // The buffer read as a [65536, 4096] matrix by the fp32 decode kernel too: its four rows at a
    // time with software prefetch stream faster than one sum per thread on some machines (Zen 1:
    // 22.3 against 20.7 GB/s), and a limit below what a kernel reaches is no limit.
    const at::Tensor asMatrix = buffer.view({-1, 4096});
    const at::Tensor x = at::ones({1, 4096});
    // The fastest pass, not the median: other work on a shared machine only ever slows a pass.
    double fastest = 1e30;
    for (int r = 0; r < repeats + 1; ++r) {
        Stopwatch watch;
        (void)buffer.sum().item<float>();
        const double a = watch.seconds();
        watch = Stopwatch();
        (void)querylens::model::kernels::streamSum(buffer.data_ptr<float>(), buffer.numel());
        const double b = watch.seconds();
        watch = Stopwatch();
        (void)querylens::model::kernels::linear(x, asMatrix, {}, {});
        const double c = watch.seconds();
        if (r > 0)  // the first pass faults the pages in
            fastest = std::min({fastest, a, b, c});
    }
    return double(buffer.nbytes()) / fastest / 1e9;
}

namespace {

double gemmGflops(at::ScalarType type, std::int64_t size, int repeats, bool widened = false)
{
    const at::Tensor a = at::randn({size, size});
    const at::Tensor b = at::randn({size, size}).to(type);
    std::vector<double> seconds;
    for (int r = 0; r < repeats + 1; ++r) {
        const Stopwatch watch;
        at::Tensor c = widened ? querylens::model::kernels::linear(a, b, {}, {}) : at::mm(a.to(type), b.t());
        (void)c.sum().item<float>();
        if (r > 0)
            seconds.push_back(watch.seconds());
    }
    return 2.0 * double(size) * size * size / median(seconds) / 1e9;
}

}  // namespace

MachineLimits measureMachineLimits(int repeats)
{
    MachineLimits limits;
    limits.bandwidthGBs = measureReadBandwidth(std::max(3, repeats));
    limits.fp32GemmGflops = std::max(gemmGflops(at::kFloat, 2048, repeats), gemmGflops(at::kFloat, 4096, 1));
    // libtorch's bf16 GEMM crawls on CPUs without AVX512_BF16 (1.6 GFLOP/s on Zen 3): probe a small
    // product first, and measure the full size only where it is fast.
    limits.bf16GemmGflops = gemmGflops(at::kBFloat16, 1024, 1);
    if (limits.bf16GemmGflops > 20)
        limits.bf16GemmGflops = std::max(gemmGflops(at::kBFloat16, 2048, repeats), gemmGflops(at::kBFloat16, 4096, 1));
    limits.widenedBf16Gflops = gemmGflops(at::kBFloat16, 2048, repeats, /*widened=*/true);
    return limits;
}

std::string openBlasKernels()
{
    const std::string core = querylens::model::kernels::openBlasCore();
    return core.empty() || !std::getenv("OPENBLAS_CORETYPE") ? core : core + " (forced by OPENBLAS_CORETYPE)";
}
