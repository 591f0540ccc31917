// querylens-kernel-bench: the linear-layer kernels alone, on the layer shapes of BLIP-2 (ViT-g, the
// Q-Former, OPT-2.7b, Flan-T5-XL), against libtorch's at::linear and this machine's memory bandwidth.
// Decoding shapes report weight bytes streamed per second; prompt and image shapes report GFLOP/s.
//   querylens-kernel-bench [--threads N] [--repeat N] [--only decode|gemm|attention|epilogue|crossover] [--shape TEXT]
//                          [--in-cache 0|1]
// Every kernel level this CPU runs (portable, avx2, avx512, avx512bf16, amx) on every BLIP-2 shape, each
// against that level's arithmetic peak measured in the same run.

#include "bench_arguments.h"
#include "bench_timing.h"
#include "machine_limits.h"
#include "io/process_memory.h"
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

// Enough copies of a weight that together they are far beyond the 32 MB L3, as a model's
// layers are: a call that takes the next copy then reads its weight from memory, not from the
// cache the previous call left it in. One copy with `inCache`.
std::vector<Weight> weightCopies(at::ScalarType type, std::int64_t n, std::int64_t k, bool inCache)
{
    std::vector<Weight> copies;
    double total = 0;
    while (total < (inCache ? 1.0 : 256e6)) {
        copies.push_back(makeWeight(type, n, k));
        total += double(copies.back().stored.nbytes());
    }
    return copies;
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

const char* typeName(at::ScalarType type)
{
    return type == at::kFloat ? "fp32" : type == at::kBFloat16 ? "bf16" : "int8";
}

struct Shape {
    const char* what;
    std::int64_t n, k;
};

// The matrices of one decoding step: OPT-2.7b (hidden 2560, MLP 10240, vocabulary 50272) and
// Flan-T5-XL's decoder (2048, gated MLP 5120, vocabulary 32128).
std::vector<Shape> decodeShapes()
{
    return {{"opt attn 2560x2560", 2560, 2560},  {"opt fc1 10240x2560", 10240, 2560},
            {"opt fc2 2560x10240", 2560, 10240}, {"opt lm_head 50272x2560", 50272, 2560},
            {"t5 attn 2048x2048", 2048, 2048},   {"t5 wi 5120x2048", 5120, 2048},
            {"t5 wo 2048x5120", 2048, 5120},     {"t5 lm_head 32128x2048", 32128, 2048}};
}

// Every product of an image encode and of a prompt, with its rows.
std::vector<std::pair<std::int64_t, Shape>> gemmShapes()
{
    return {{257, {"vit qkv 4224x1408", 4224, 1408}},        {257, {"vit proj 1408x1408", 1408, 1408}},
            {257, {"vit fc1 6144x1408", 6144, 1408}},        {257, {"vit fc2 1408x6144", 1408, 6144}},
            // A batch of 4 images (float32 weights past 512 rows once went to OpenBLAS outright).
            {1028, {"vit fc1 6144x1408 4 images", 6144, 1408}},
            {32, {"q-former 768x768", 768, 768}},            {257, {"q-former cross k/v 768x1408", 768, 1408}},
            {32, {"q-former fc1 3072x768", 3072, 768}},      {32, {"q-former fc2 768x3072", 768, 3072}},
            {42, {"opt prompt attn 2560x2560", 2560, 2560}}, {42, {"opt prompt fc1 10240x2560", 10240, 2560}},
            {42, {"opt prompt fc2 2560x10240", 2560, 10240}}, {42, {"t5 prompt attn 2048x2048", 2048, 2048}},
            {42, {"t5 prompt wi 5120x2048", 5120, 2048}},    {42, {"t5 prompt wo 2048x5120", 2048, 5120}}};
}

std::vector<kernels::Isa> supportedLevels()
{
    std::vector<kernels::Isa> levels;
    for (kernels::Isa isa : {kernels::Isa::Portable, kernels::Isa::Avx2, kernels::Isa::Avx512, kernels::Isa::Avx512Bf16,
                             kernels::Isa::Amx})
        if (isa <= kernels::supportedIsa())
            levels.push_back(isa);
    return levels;
}

// Each level's arithmetic peak: its multiply-add loop on every thread at once, GFLOP/s summed.
struct Peaks {
    double avx2 = 0, avx512 = 0, avx512bf16 = 0, amx = 0;
};

double onAllThreads(int threads, double (*loop)(std::int64_t))
{
    std::vector<double> rates(static_cast<std::size_t>(threads));
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] { rates[std::size_t(t)] = loop(std::int64_t(1) << 25); });
    for (auto& w : workers)
        w.join();
    double total = 0;
    for (double r : rates)
        total += r;
    return total;
}

Peaks measurePeaks(int threads)
{
    Peaks p;
    const kernels::Isa best = kernels::supportedIsa();
    for (int r = 0; r < 3; ++r) {  // the best of 3: other work on the machine only lowers it
        if (best >= kernels::Isa::Avx2)
            p.avx2 = std::max(p.avx2, onAllThreads(threads, kernels::fmaPeakGflopsAvx2));
        if (best >= kernels::Isa::Avx512)
            p.avx512 = std::max(p.avx512, onAllThreads(threads, kernels::fmaPeakGflopsAvx512));
        if (best >= kernels::Isa::Avx512Bf16)
            p.avx512bf16 = std::max(p.avx512bf16, onAllThreads(threads, kernels::bf16PeakGflopsAvx512Bf16));
        if (best >= kernels::Isa::Amx)
            p.amx = std::max(p.amx, onAllThreads(threads, kernels::bf16PeakGflopsAmx));
    }
    return p;
}

}  // namespace

const char* const kUsage =
    "usage: querylens-kernel-bench [--threads N] [--repeat N] [--only decode|gemm|attention|epilogue|crossover]\n"
    "                              [--shape TEXT] [--in-cache 0|1]\n"
    "  --shape TEXT   in the decode and gemm tables, only the layers whose name contains TEXT\n"
    "                 (\"fc2\", \"vit\", \"t5 wi\")\n"
    "  --in-cache 1   one copy of each weight, so that it can stay in cache (else copies past the caches)\n";

int main(int argc, char** argv)
{
    int threads = int(std::max(1u, std::thread::hardware_concurrency()));
    int repeats = 5;
    std::string only, shapeFilter;
    bool inCache = false;
    BenchArguments arguments(argc, argv, "querylens-kernel-bench", kUsage);
    while (arguments.next()) {
        const std::string& arg = arguments.option();
        if (arg == "--threads")
            threads = int(arguments.integer(1));
        else if (arg == "--repeat")
            repeats = int(arguments.integer(1));
        else if (arg == "--only")
            only = arguments.choice("decode|gemm|attention|epilogue|crossover");
        else if (arg == "--in-cache")
            inCache = arguments.integer(0) != 0;
        else if (arg == "--shape")
            shapeFilter = arguments.text();
        else
            arguments.unknown();
    }
    at::set_num_threads(threads);
    querylens::io::keepFreedMemoryForReuse();  // as the program does (io/process_memory.h)
    c10::InferenceMode inference;
    at::manual_seed(0);
    // Every column measures one kernel: ours at each level, libtorch's through setLibtorchOnly.
    kernels::setKernelChoiceMode(kernels::KernelChoiceMode::Ours);

    const double bandwidth = measureReadBandwidth(repeats);
    const kernels::CpuFeatures& cpu = kernels::cpuFeatures();
    std::printf("cpu: %s; %s\nthreads %d, best kernels %s, OpenBLAS kernels %s, read bandwidth %.1f GB/s\n", cpu.model.c_str(),
                cpu.flags().c_str(), threads, kernels::isaName(kernels::activeIsa()), openBlasKernels().c_str(), bandwidth);
    const std::vector<kernels::Isa> levels = supportedLevels();
    const Peaks peaks = measurePeaks(threads);
    std::printf("arithmetic peak (%d threads, register-only loops): avx2 fp32 %.0f GFLOP/s", threads, peaks.avx2);
    if (peaks.avx512 > 0)
        std::printf(", avx512 fp32 %.0f", peaks.avx512);
    if (peaks.avx512bf16 > 0)
        std::printf(", avx512bf16 bf16 %.0f", peaks.avx512bf16);
    if (peaks.amx > 0)
        std::printf(", amx bf16 tiles %.0f", peaks.amx);
    std::printf("\n\n");

    if (only.empty() || only == "decode") {
        std::printf("decode, M = 1 (weight GB/s; %% of read bandwidth) per kernel level, and libtorch's at::linear\n");
        std::printf("  %-26s %-5s", "layer", "type");
        for (kernels::Isa isa : levels)
            std::printf(" %16s", kernels::isaName(isa));
        std::printf(" %16s\n", "libtorch");
        for (at::ScalarType type : {at::kFloat, at::kBFloat16, at::kChar})
            for (const Shape& s : decodeShapes()) {
                if (std::string(s.what).find(shapeFilter) == std::string::npos)
                    continue;
                const std::vector<Weight> copies = weightCopies(type, s.n, s.k, inCache);
                const at::Tensor x = at::randn({1, s.k});
                const double bytes = double(copies[0].stored.nbytes());
                std::size_t next = 0;
                auto call = [&] {
                    const Weight& w = copies[next++ % copies.size()];
                    kernels::linear(x, w.stored, w.scales, {});
                };
                std::printf("  %-26s %-5s", s.what, typeName(type));
                for (kernels::Isa isa : levels) {
                    kernels::setIsaCap(isa);
                    const double rate = bytes / timeCall(call, repeats) / 1e9;
                    std::printf(" %7.1f (%4.0f%%)", rate, 100 * rate / bandwidth);
                }
                kernels::setIsaCap(std::nullopt);
                kernels::setLibtorchOnly(true);
                const double torch = bytes / timeCall(call, std::min(repeats, 2)) / 1e9;
                kernels::setLibtorchOnly(false);
                std::printf(" %7.1f (%4.0f%%)\n", torch, 100 * torch / bandwidth);
                std::fflush(stdout);
            }
    }
    if (only == "decode")
        return 0;
    if (only == "attention") {
        // Attention alone: ours (the fused AVX-512 or AVX2 head, with bf16 products for bf16
        // models where the CPU has AVX512_BF16; the few-rows kernel for a decoded token), a head
        // per thread through OpenBLAS, and libtorch's batched product, on the shapes of the
        // vision encoder, the Q-Former's cross-attention, an OPT prompt and an OPT decoding step
        // (below 16 rows the capped path is the batched product too).
        struct AttentionShape {
            const char* what;
            std::int64_t heads, queries, keys, headDim;
        };
        std::printf("attention (GFLOP/s)\n");
        for (const AttentionShape& s : {AttentionShape{"vit-g 257x257", 16, 257, 257, 88},
                                        AttentionShape{"q-former cross 32x257", 12, 32, 257, 64},
                                        AttentionShape{"opt prompt 42x42", 32, 42, 42, 80},
                                        AttentionShape{"opt decode 1x74", 32, 1, 74, 80}}) {
            const at::Tensor q = at::randn({1, s.heads, s.queries, s.headDim}), k = at::randn({1, s.heads, s.keys, s.headDim}),
                             v = at::randn({1, s.heads, s.keys, s.headDim});
            const double flop = 4.0 * double(s.heads * s.queries * s.keys * s.headDim);
            auto call = [&] { attention(q, k, v, 0.1); };
            const double ours = flop / timeCall(call, repeats) / 1e9;
            // The head-parallel path with OpenBLAS products (capped below AVX2, where no fused
            // head runs), alternated with ours so that both see the same load.
            kernels::setIsaCap(kernels::Isa::Portable);
            const double blas = flop / timeCall(call, repeats) / 1e9;
            kernels::setIsaCap(std::nullopt);
            const double oursAgain = flop / timeCall(call, repeats) / 1e9;
            kernels::setLibtorchOnly(true);
            const double torch = flop / timeCall(call, repeats) / 1e9;
            kernels::setLibtorchOnly(false);
            // A bf16 model's products (the bf16 head at avx512bf16; the float32 one below it).
            auto bf16Call = [&] { attention(q, k, v, 0.1, {}, nullptr, AttentionProducts::Bfloat16); };
            const double bf16 = flop / timeCall(bf16Call, repeats) / 1e9;
            const double best = std::max(ours, oursAgain);
            std::printf("  %-22s ours %6.1f  bf16 products %6.1f (%.2fx)  head per thread with OpenBLAS %6.1f (ours %.2fx)"
                        "  libtorch batched %6.1f (ours %.2fx)\n",
                        s.what, best, bf16, bf16 / best, blas, best / blas, torch, best / torch);
        }
        return 0;
    }
    if (only == "epilogue") {
        // The vision encoder's GELU and residual adds fused into the products (kernels::Epilogue)
        // against the product followed by libtorch's ops, as the encoder ran before; bf16 weights,
        // the rows of B images. Milliseconds per call, the best of --repeat.
        struct EpilogueShape {
            const char* what;
            std::int64_t n, k;
            bool gelu, residual;
        };
        std::printf("epilogue fused into the bf16 GEMM against separate passes (ms; ours at %s)\n",
                    kernels::isaName(kernels::activeIsa()));
        for (std::int64_t images : {1, 4})
            for (const EpilogueShape& s : {EpilogueShape{"vit proj + residual", 1408, 1408, false, true},
                                           EpilogueShape{"vit fc1 + gelu", 6144, 1408, true, false},
                                           EpilogueShape{"vit fc2 + residual", 1408, 6144, false, true}}) {
                const std::int64_t m = 257 * images;
                const Weight w = makeWeight(at::kBFloat16, s.n, s.k);
                const at::Tensor bias = at::randn({s.n}) * 0.1;
                const at::Tensor x = at::randn({images, 257, s.k});
                kernels::Epilogue epilogue;
                epilogue.gelu = s.gelu;
                if (s.residual)
                    epilogue.residual = at::randn({images, 257, s.n});
                auto fused = [&] { kernels::linear(x, w.stored, w.scales, bias, epilogue); };
                auto separate = [&] {
                    at::Tensor y = kernels::linear(x, w.stored, w.scales, bias);
                    if (s.gelu)
                        y = at::gelu(y);
                    if (s.residual)
                        y = epilogue.residual + y;
                };
                double fusedMs = 1e30, separateMs = 1e30;
                for (int round = 0; round < 2; ++round) {  // alternated: the machine's load hits both alike
                    fusedMs = std::min(fusedMs, 1e3 * timeCall(fused, repeats));
                    separateMs = std::min(separateMs, 1e3 * timeCall(separate, repeats));
                }
                std::printf("  %-22s M = %5lld: fused %7.2f ms, separate %7.2f ms (%.2fx)\n", s.what, (long long)m,
                            fusedMs, separateMs, separateMs / fusedMs);
                std::fflush(stdout);
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
    // Many rows: the vision encoder's 257 tokens, the Q-Former's 32 queries (and its
    // cross-attention keys over 257 image tokens), 42-token prompts of OPT and Flan-T5.
    std::printf("many rows (GFLOP/s; fraction of that level's arithmetic peak: bf16 weights at avx512bf16 against"
                " the vdpbf16ps peak, at amx against the tdpbf16ps peak, else the fp32 FMA peak) per kernel level, and"
                " libtorch's at::linear\n");
    std::printf("  %-28s %-5s %4s", "layer", "type", "M");
    for (kernels::Isa isa : levels)
        std::printf(" %17s", kernels::isaName(isa));
    std::printf(" %10s %8s\n", "libtorch", "choice");
    for (at::ScalarType type : {at::kFloat, at::kBFloat16, at::kChar})
        for (const auto& [m, s] : gemmShapes()) {
            if (std::string(s.what).find(shapeFilter) == std::string::npos)
                continue;
            const std::vector<Weight> copies = weightCopies(type, s.n, s.k, inCache);
            const at::Tensor x = at::randn({m, s.k});
            const double flop = 2.0 * double(m) * double(s.n) * double(s.k);
            std::size_t next = 0;
            auto call = [&] {
                const Weight& w = copies[next++ % copies.size()];
                kernels::linear(x, w.stored, w.scales, {});
            };
            std::printf("  %-28s %-5s %4lld", s.what, typeName(type), (long long)m);
            double best = 0;  // ours at the best level, what the program would choose from
            for (kernels::Isa isa : levels) {
                kernels::setIsaCap(isa);
                const double rate = flop / timeCall(call, repeats) / 1e9;
                best = rate;
                const bool bf16 = type == at::kBFloat16;
                const double peak = isa <= kernels::Isa::Avx2                 ? peaks.avx2
                                    : isa >= kernels::Isa::Amx && bf16        ? peaks.amx
                                    : isa >= kernels::Isa::Avx512Bf16 && bf16 ? peaks.avx512bf16
                                                                              : peaks.avx512;
                std::printf(" %8.1f (%5.2f)", rate, rate / peak);
            }
            kernels::setIsaCap(std::nullopt);
            kernels::setLibtorchOnly(true);
            const double torch = flop / timeCall(call, repeats) / 1e9;
            kernels::setLibtorchOnly(false);
            // What the measured kernel choice would pick on these rates (int8 is always ours).
            const kernels::GemmKernel choice =
                type == at::kChar ? kernels::GemmKernel::Ours : kernels::fasterKernel(flop / best, flop / torch);
            std::printf(" %10.1f %8s\n", torch, kernels::gemmKernelName(choice));
            std::fflush(stdout);
        }
    return 0;
}
