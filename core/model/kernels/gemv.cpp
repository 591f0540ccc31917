#include "model/kernels/gemv.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>

namespace querylens::model::kernels {

void dequantizeRowsAvx2(const void* weight, WeightType type, const float* scales, std::int64_t k, std::int64_t rowBegin,
                        std::int64_t rowEnd, float* out);

namespace {
std::atomic<bool> g_avx2Disabled{false};
}

bool haveAvx2()
{
    static const bool have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return have && !g_avx2Disabled.load(std::memory_order_relaxed);
}

void setAvx2Disabled(bool disabled) { g_avx2Disabled = disabled; }

void gemv(const GemvArguments& args)
{
    // Enough rows per task that a thread streams a few hundred kilobytes at a time.
    const std::int64_t grain = std::max<std::int64_t>(16, (1 << 18) / std::max<std::int64_t>(1, args.k));
    at::parallel_for(0, args.n, grain, [&](std::int64_t begin, std::int64_t end) {
        if (haveAvx2())
            gemvRowsAvx2(args, begin, end);
        else
            gemvRowsPortable(args, begin, end);
    });
}

float streamSum(const float* data, std::int64_t count)
{
    std::atomic<float> total{0.0f};
    at::parallel_for(0, count, 1 << 20, [&](std::int64_t begin, std::int64_t end) {
        float sum = 0.0f;
        if (haveAvx2())
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

void gemm(const GemvArguments& args)
{
    // Whole panels per thread; one panel is already 16 x k weights.
    at::parallel_for(0, gemmPanelCount(args.n), 1,
                     [&](std::int64_t begin, std::int64_t end) { gemmPanelsAvx2(args, begin, end); });
}

void dequantizeRows(const void* weight, WeightType type, const float* scales, std::int64_t k, std::int64_t rowBegin,
                    std::int64_t rowEnd, float* out)
{
    if (haveAvx2()) {
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
