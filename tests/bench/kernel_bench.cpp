// querylens-kernel-bench: the linear-layer kernels alone, on the layer shapes of
// blip2-opt-2.7b and the ViT-g vision encoder, against libtorch's at::linear and this machine's
// memory bandwidth. Decoding shapes report weight bytes streamed per second; prompt and image
// shapes report GFLOP/s.
//   querylens-kernel-bench [--threads N] [--repeat N] [--only decode|gemm|crossover|attention] [--shape TEXT]

#include "bench_timing.h"
#include "model/kernels/gemv.h"
#include "model/kernels/isa.h"
#include "model/kernels/matmul.h"
#include "model/layers.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

using namespace querylens::model;

namespace {

struct Weight {
    at::Tensor stored, scales;
};

Weight makeWeight(at::ScalarType type, std::int64_t n, std::int64_t k)
{
    const at::Tensor w = at::randn({n, k}) / 50.0;
    if (type == at::kFloat)
        return {w, {}};
    if (type == at::kBFloat16)
        return {w.to(at::kBFloat16), {}};
    const at::Tensor scales = (w.abs().amax(1) / 127.0).clamp_min(1e-12);
    return {at::round(w / scales.unsqueeze(1)).clamp(-127, 127).to(at::kChar), scales};
}

// Median seconds of one call over `repeats` runs of at least ~0.2 s each.
template <typename F>
double timeCall(F&& call, int repeats)
{
    call();
    const Stopwatch probe;
    call();
    const int inner = std::max(1, int(0.2 / std::max(1e-6, probe.seconds())));
    std::vector<double> seconds;
    for (int r = 0; r < repeats; ++r) {
        const Stopwatch watch;
        for (int i = 0; i < inner; ++i)
            call();
        seconds.push_back(watch.seconds() / inner);
    }
    return median(seconds);
}

// Streaming read of 1 GiB with libtorch's vectorised, multi-threaded sum.
double readBandwidth(int repeats)
{
    const at::Tensor buffer = at::ones({std::int64_t(1) << 28});
    const double s = timeCall([&] { (void)buffer.sum().item<float>(); }, repeats);
    return double(buffer.nbytes()) / s / 1e9;
}

// The same read with the kernels' own AVX2 loads and threads.
double readBandwidthKernels(int repeats)
{
    const at::Tensor buffer = at::ones({std::int64_t(1) << 28});
    const double s = timeCall([&] { (void)kernels::streamSum(buffer.data_ptr<float>(), buffer.numel()); }, repeats);
    return double(buffer.nbytes()) / s / 1e9;
}

const char* typeName(at::ScalarType type)
{
    return type == at::kFloat ? "fp32" : type == at::kBFloat16 ? "bf16" : "int8";
}

}  // namespace

int main(int argc, char** argv)
{
    int threads = int(std::max(1u, std::thread::hardware_concurrency()));
    int repeats = 5;
    std::string only, shapeFilter;
    bool inCache = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string arg = argv[i];
        if (arg == "--threads")
            threads = std::atoi(argv[i + 1]);
        else if (arg == "--repeat")
            repeats = std::max(1, std::atoi(argv[i + 1]));
        else if (arg == "--only")
            only = argv[i + 1];  // decode | gemm | crossover | attention
        else if (arg == "--in-cache")
            inCache = std::atoi(argv[i + 1]) != 0;  // 1: one weight copy, so it can stay in cache
        else if (arg == "--shape")
            shapeFilter = argv[i + 1];  // only layers whose name contains this
    }
    at::set_num_threads(threads);
    c10::InferenceMode inference;
    at::manual_seed(0);

    const double bandwidth = std::max(readBandwidth(repeats), readBandwidthKernels(repeats));
    std::printf("threads %d, kernels %s, read bandwidth %.1f GB/s (at::sum %.1f, kernels::streamSum %.1f)\n\n", threads,
                kernels::isaName(kernels::activeIsa()), bandwidth, readBandwidth(repeats), readBandwidthKernels(repeats));

    struct Shape {
        const char* what;
        std::int64_t n, k;
    };
    // OPT-2.7b: attention projections, fc1, fc2, the tied lm_head.
    const std::vector<Shape> decodeShapes = {{"small 512x1024", 512, 1024},
        {"attn 2560x2560", 2560, 2560}, {"fc1 10240x2560", 10240, 2560}, {"fc2 2560x10240", 2560, 10240},
        {"lm_head 50272x2560", 50272, 2560}};
    if (only.empty() || only == "decode") {
    std::printf("decode (weight GB/s; %% of read bandwidth)\n");
    std::printf("  %-20s %-5s %3s %16s %16s %7s\n", "layer", "type", "M", "ours", "libtorch", "ratio");
    for (at::ScalarType type : {at::kFloat, at::kBFloat16, at::kChar})
        for (const Shape& s : decodeShapes)
            for (std::int64_t m : {1, 4}) {
                if (std::string(s.what).find(shapeFilter) == std::string::npos)
                    continue;
                // Enough copies that together they are far beyond the 32 MB L3, as a model's
                // layers are: each call then reads its weight from memory.
                std::vector<Weight> copies;
                double total = 0;
                while (total < (inCache ? 1.0 : 256e6)) {
                    copies.push_back(makeWeight(type, s.n, s.k));
                    total += double(copies.back().stored.nbytes());
                }
                const at::Tensor x = at::randn({m, s.k});
                const double bytes = double(copies[0].stored.nbytes());
                std::size_t next = 0;
                auto call = [&] {
                    const Weight& w = copies[next++ % copies.size()];
                    kernels::linear(x, w.stored, w.scales, {});
                };
                const double ours = bytes / timeCall(call, repeats) / 1e9;
                kernels::setLibtorchOnly(true);
                const double torch = bytes / timeCall(call, std::min(repeats, 2)) / 1e9;
                kernels::setLibtorchOnly(false);
                std::printf("  %-20s %-5s %3lld %7.1f (%4.0f%%) %7.1f (%4.0f%%) %6.1fx\n", s.what, typeName(type),
                            (long long)m, ours, 100 * ours / bandwidth, torch, 100 * torch / bandwidth, ours / torch);
            }

    }
    if (only == "decode")
        return 0;
    if (only == "attention") {
        // Attention alone: a head per thread against libtorch's batched product, on the shapes of
        // the vision encoder, the Q-Former's cross-attention and an OPT prompt.
        struct AttentionShape {
            const char* what;
            std::int64_t heads, queries, keys, headDim;
        };
        std::printf("attention (GFLOP/s)\n");
        for (const AttentionShape& s : {AttentionShape{"vit-g 257x257", 16, 257, 257, 88},
                                        AttentionShape{"q-former cross 32x257", 12, 32, 257, 64},
                                        AttentionShape{"opt prompt 42x42", 32, 42, 42, 80}}) {
            const at::Tensor q = at::randn({1, s.heads, s.queries, s.headDim}), k = at::randn({1, s.heads, s.keys, s.headDim}),
                             v = at::randn({1, s.heads, s.keys, s.headDim});
            const double flop = 4.0 * double(s.heads * s.queries * s.keys * s.headDim);
            auto call = [&] { attention(q, k, v, 0.1); };
            const double ours = flop / timeCall(call, repeats) / 1e9;
            kernels::setLibtorchOnly(true);
            const double torch = flop / timeCall(call, repeats) / 1e9;
            kernels::setLibtorchOnly(false);
            std::printf("  %-22s ours %6.1f  libtorch %6.1f  %5.2fx\n", s.what, ours, torch, ours / torch);
        }
        return 0;
    }
    if (only == "crossover") {
        // Where the packed GEMM starts to beat the matrix-vector kernels (matmul.cpp's kGemvRows).
        std::printf("gemv vs packed gemm on fc1 10240x2560 (GFLOP/s)\n");
        for (at::ScalarType type : {at::kFloat, at::kBFloat16, at::kChar}) {
            const Weight w = makeWeight(type, 10240, 2560);
            for (std::int64_t m : {2, 3, 4, 5, 6, 8, 10, 12, 16, 24}) {
                const at::Tensor x = at::randn({m, 2560});
                at::Tensor y = at::empty({m, 10240});
                kernels::GemvArguments args;
                args.weight = w.stored.data_ptr();
                args.type = type == at::kFloat ? kernels::WeightType::Float32
                            : type == at::kBFloat16 ? kernels::WeightType::BFloat16
                                                    : kernels::WeightType::Int8;
                args.scales = w.scales.defined() ? w.scales.data_ptr<float>() : nullptr;
                args.x = x.data_ptr<float>();
                args.y = y.data_ptr<float>();
                args.m = m;
                args.n = 10240;
                args.k = 2560;
                const double flop = 2.0 * double(m) * 10240 * 2560;
                const double gemv = flop / timeCall([&] { kernels::gemv(args); }, repeats) / 1e9;
                const double gemm = flop / timeCall([&] { kernels::gemm(args); }, repeats) / 1e9;
                std::printf("  %-5s m%-3lld gemv %7.1f  gemm %7.1f\n", typeName(type), (long long)m, gemv, gemm);
            }
        }
        return 0;
    }
    // Many rows: a 42-token prompt (32 queries + 10 ids) through fc1, and the vision encoder's
    // 257 tokens through its MLP and qkv.
    const std::vector<std::pair<std::int64_t, Shape>> gemmShapes = {
        {42, {"prompt fc1", 10240, 2560}}, {42, {"prompt fc2", 2560, 10240}},
        {257, {"vit fc1 6144x1408", 6144, 1408}}, {42, {"probe 42", 6144, 1408}}, {192, {"probe 192", 6144, 1408}}, {193, {"probe 193", 6144, 1408}}, {257, {"vit fc2 1408x6144", 1408, 6144}},
        {257, {"vit qkv 4224x1408", 4224, 1408}}, {2048, {"square 2048", 2048, 2048}}};
    std::printf("\nmany rows (GFLOP/s)\n");
    std::printf("  %-20s %-5s %4s %10s %10s\n", "layer", "type", "M", "ours", "libtorch");
    for (at::ScalarType type : {at::kFloat, at::kBFloat16, at::kChar})
        for (const auto& [m, s] : gemmShapes) {
            if (std::string(s.what).find(shapeFilter) == std::string::npos)
                continue;
            const Weight w = makeWeight(type, s.n, s.k);
            const at::Tensor x = at::randn({m, s.k});
            const double flop = 2.0 * double(m) * double(s.n) * double(s.k);
            const double ours = flop / timeCall([&] { kernels::linear(x, w.stored, w.scales, {}); }, repeats) / 1e9;
            kernels::setLibtorchOnly(true);
            const double torch = flop / timeCall([&] { kernels::linear(x, w.stored, w.scales, {}); }, repeats) / 1e9;
            kernels::setLibtorchOnly(false);
            std::printf("  %-20s %-5s %4lld %10.1f %10.1f\n", s.what, typeName(type), (long long)m, ours, torch);
        }
    return 0;
}
