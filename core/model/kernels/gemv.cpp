// The dispatcher of gemv.h: the active instruction-set level's code, on libtorch's threads.

#include "model/kernels/gemv.h"

#include "model/kernels/gemm_amx_tiles.h"
#include "model/kernels/isa.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>

namespace querylens::model::kernels {

void dequantizeRowsAvx2(const void* weight, WeightType type, const float* scales, std::int64_t k, std::int64_t rowBegin,
                        std::int64_t rowEnd, float* out);

QuantizedRows quantizeActivations(const float* x, std::int64_t m, std::int64_t k)
{
    QuantizedRows q;
    q.stride = (k + 63) / 64 * 64;
    q.values.assign(std::size_t(m * q.stride), 0);
    q.scales.assign(std::size_t(m * (q.stride / 32)), 0.0f);
    for (std::int64_t row = 0; row < m; ++row)
        for (std::int64_t b = 0; b * 32 < k; ++b) {
            const float* block = x + row * k + b * 32;
            const std::int64_t count = std::min<std::int64_t>(32, k - b * 32);
            float largest = 0.0f;
            for (std::int64_t i = 0; i < count; ++i)
                largest = std::max(largest, std::abs(block[i]));
            if (largest == 0.0f)
                continue;
            // Symmetric, like the weights: the block's largest magnitude maps to 127.
            const float scale = largest / 127.0f, inverse = 127.0f / largest;
            q.scales[std::size_t(row * (q.stride / 32) + b)] = scale;
            std::int8_t* out = q.values.data() + row * q.stride + b * 32;
            for (std::int64_t i = 0; i < count; ++i)
                out[i] = std::int8_t(std::clamp(std::nearbyint(block[i] * inverse), -127.0f, 127.0f));
        }
    return q;
}

namespace {

// Runs work(begin, end) over [0, n) in grains taken from a shared counter, not in fixed shares:
// the threads' memory streams do not run at the same speed on a shared machine, and with fixed
// halves the faster thread waited at the end of each of a decoding step's ~200 products (on a
// Zen 5 VM ~15 % of the samples of a decode were the OpenMP barrier's spin; 7 % since).
template <typename Work>
void forEachGrain(std::int64_t n, std::int64_t grain, const Work& work)
{
    const std::int64_t threads = std::min<std::int64_t>(at::get_num_threads(), (n + grain - 1) / grain);
    std::atomic<std::int64_t> next{0};
    at::parallel_for(0, threads, 1, [&](std::int64_t, std::int64_t) {
        for (std::int64_t begin; (begin = next.fetch_add(grain)) < n;)
            work(begin, std::min(n, begin + grain));
    });
}

}  // namespace

void gemv(const GemvArguments& args)
{
    const Isa isa = activeIsa();
    // Enough rows per task that a thread streams a few hundred kilobytes at a time, a multiple
    // of the 4 rows the kernels take at once.
    const std::int64_t grain = std::max<std::int64_t>(16, (1 << 18) / std::max<std::int64_t>(1, args.k) + 3) / 4 * 4;
    if (args.type == WeightType::Int8 && isa >= Isa::Avx2) {
        const QuantizedRows q = quantizeActivations(args.x, args.m, args.k);
        forEachGrain(args.n, grain, [&](std::int64_t begin, std::int64_t end) {
            if (isa >= Isa::Avx512)
                gemvInt8RowsAvx512(args, q, begin, end);
            else
                gemvInt8RowsAvx2(args, q, begin, end);
        });
        return;
    }
    const bool evenOdd = isa == Isa::Avx2 && args.type == WeightType::BFloat16 && args.m == 1;
    const std::vector<float> xEvenOdd = evenOdd ? evenOddBlocksAvx2(args.x, args.k) : std::vector<float>();
    forEachGrain(args.n, grain, [&](std::int64_t begin, std::int64_t end) {
        if (isa >= Isa::Avx512)
            gemvRowsAvx512(args, begin, end);
        else if (isa >= Isa::Avx2)
            gemvRowsAvx2(args, evenOdd ? xEvenOdd.data() : nullptr, begin, end);
        else
            gemvRowsPortable(args, begin, end);
    });
}

float streamSum(const float* data, std::int64_t count)
{
    const bool avx2 = activeIsa() >= Isa::Avx2;
    std::atomic<float> total{0.0f};
    at::parallel_for(0, count, 1 << 20, [&](std::int64_t begin, std::int64_t end) {
        float sum = 0.0f;
        if (avx2)
            sum = streamSumAvx2(data + begin, end - begin);
        else
            for (std::int64_t i = begin; i < end; ++i)
                sum += data[i];
        float seen = total.load();
        while (!total.compare_exchange_weak(seen, seen + sum)) {
        }
    });
    return total.load();
}

namespace {

// The epilogue for the kernels that do not apply it themselves: outputs [row][begin, end).
void applyEpilogue(const GemvArguments& args, std::int64_t begin, std::int64_t end)
{
    if (args.activation == GemmActivation::None && !args.residual)
        return;
    for (std::int64_t row = 0; row < args.m; ++row) {
        float* y = args.y + row * args.n;
        const float* residual = args.residual ? args.residual + row * args.n : nullptr;
        for (std::int64_t j = begin; j < end; ++j) {
            float v = y[j];
            if (args.activation == GemmActivation::Gelu)
                v = 0.5f * v * (1.0f + std::erf(v * 0.70710678f));
            y[j] = residual ? v + residual[j] : v;
        }
    }
}

}  // namespace

void gemm(const GemvArguments& args)
{
    const Isa isa = activeIsa();
    // Whole panels per thread (split by outputs: with 257 rows and 2 threads, each thread packs
    // and streams only its half of the weights); one panel is already 16 or 32 rows x k weights.
    if (isa >= Isa::Amx && args.type == WeightType::BFloat16 && amxKernelProblem().empty()) {
        // x packed first, by blocks of 16 rows, then the panels of 32 outputs split evenly: the
        // weights are read in place, so a panel costs no packing of its own.
        const std::unique_ptr<std::uint32_t[]> packed(new std::uint32_t[std::size_t(amx::packedRowsSize(args.m, args.k))]);
        at::parallel_for(0, amx::rowBlockCount(args.m), 1, [&](std::int64_t begin, std::int64_t end) {
            packRowsAmx(args.x, args.m, args.k, begin, end, packed.get());
        });
        at::parallel_for(0, amx::panelCount(args.n), 1, [&](std::int64_t begin, std::int64_t end) {
            gemmPanelsAmx(args, packed.get(), begin, end);
        });
    } else if (isa >= Isa::Avx512Bf16 && args.type == WeightType::BFloat16) {
        // (Values not initialised: each tile is written by its packing before it is read.)
        const std::int64_t tiles = gemmTileCountAvx512Bf16(args.m);
        const std::unique_ptr<std::uint32_t[]> values(new std::uint32_t[std::size_t(packedActivationsSizeAvx512Bf16(args.m, args.k))]);
        const std::unique_ptr<std::atomic<int>[]> state(new std::atomic<int>[std::size_t(tiles)]);
        for (std::int64_t t = 0; t < tiles; ++t)
            state[std::size_t(t)].store(PackedActivations::kEmpty, std::memory_order_relaxed);
        const PackedActivations x{values.get(), state.get()};
        // Panels are taken two at a time from a shared counter rather than split in fixed
        // halves: on a machine whose cores also run other work, a thread that lost its core for
        // a while no longer holds up the whole product (a panel is ~0.1 ms at 257 x 1408).
        const std::int64_t panels = gemmPanelCountAvx512Bf16(args.n);
        std::atomic<std::int64_t> next{0};
        // Thread j of T starts each pass over the tiles of x at tile j * tiles / T, so that on the
        // first panels the threads pack different tiles side by side. All starting at tile 0,
        // they needed the same tile at the same moment and one waited while the other packed it,
        // tile after tile (~4 % of a Zen 5 image encode was that wait).
        const std::int64_t threads = at::get_num_threads();
        at::parallel_for(0, threads, 1, [&](std::int64_t thread, std::int64_t) {
            const std::int64_t firstTile = thread * tiles / threads;
            // The next pair of panels is claimed as this one starts, so that its weights can be
            // fetched while this pair runs.
            for (std::int64_t begin = next.fetch_add(2); begin < panels;) {
                const std::int64_t after = next.fetch_add(2);
                gemmPanelsAvx512Bf16(args, x, begin, std::min(panels, begin + 2), firstTile, after < panels ? after : -1);
                begin = after;
            }
        });
    } else if (isa >= Isa::Avx512) {
        at::parallel_for(0, gemmPanelCountAvx512(args.n), 1, [&](std::int64_t begin, std::int64_t end) {
            gemmPanelsAvx512(args, begin, end);
            applyEpilogue(args, begin * kGemmPanelRowsAvx512, std::min<std::int64_t>(args.n, end * kGemmPanelRowsAvx512));
        });
    } else {
        at::parallel_for(0, gemmPanelCountAvx2(args.n), 1, [&](std::int64_t begin, std::int64_t end) {
            gemmPanelsAvx2(args, begin, end);
            applyEpilogue(args, begin * kGemmPanelRowsAvx2, std::min<std::int64_t>(args.n, end * kGemmPanelRowsAvx2));
        });
    }
}

void dequantizeRows(const void* weight, WeightType type, const float* scales, std::int64_t k, std::int64_t rowBegin,
                    std::int64_t rowEnd, float* out)
{
    if (activeIsa() >= Isa::Avx2) {
        dequantizeRowsAvx2(weight, type, scales, k, rowBegin, rowEnd, out);
        return;
    }
    // Portable: one row at a time through the reference gemv's element access.
    for (std::int64_t row = rowBegin; row < rowEnd; ++row)
        for (std::int64_t col = 0; col < k; ++col) {
            float value;
            const std::int64_t i = row * k + col;
            if (type == WeightType::Float32)
                value = static_cast<const float*>(weight)[i];
            else if (type == WeightType::Int8)
                value = float(static_cast<const std::int8_t*>(weight)[i]) * scales[row];
            else {
                const std::uint32_t bits = std::uint32_t(static_cast<const std::uint16_t*>(weight)[i]) << 16;
                __builtin_memcpy(&value, &bits, sizeof value);
            }
            out[(row - rowBegin) * k + col] = value;
        }
}

}  // namespace querylens::model::kernels
