// The reference implementation of gemv.h, for CPUs without AVX2 and as the tests' yardstick.

#include "model/kernels/gemv.h"

#include <cstring>

namespace querylens::model::kernels {

namespace {

float bf16ToFloat(std::uint16_t bits)
{
    const std::uint32_t wide = std::uint32_t(bits) << 16;
    float value;
    std::memcpy(&value, &wide, sizeof value);
    return value;
}

float weightAt(const GemvArguments& a, std::int64_t row, std::int64_t col)
{
    const std::int64_t i = row * a.k + col;
    switch (a.type) {
    case WeightType::Float32: return static_cast<const float*>(a.weight)[i];
    case WeightType::BFloat16: return bf16ToFloat(static_cast<const std::uint16_t*>(a.weight)[i]);
    case WeightType::Int8: return float(static_cast<const std::int8_t*>(a.weight)[i]);
    }
    return 0.0f;
}

}  // namespace

void gemvRowsPortable(const GemvArguments& a, std::int64_t rowBegin, std::int64_t rowEnd)
{
    for (std::int64_t row = rowBegin; row < rowEnd; ++row)
        for (std::int64_t m = 0; m < a.m; ++m) {
            const float* x = a.x + m * a.k;
            float sum = 0.0f;
            for (std::int64_t col = 0; col < a.k; ++col)
                sum += weightAt(a, row, col) * x[col];
            if (a.type == WeightType::Int8)
                sum *= a.scales[row];
            a.y[m * a.n + row] = sum + (a.bias ? a.bias[row] : 0.0f);
        }
}

}  // namespace querylens::model::kernels
