#pragma once
// Matrix-vector products for single-token decoding, where the cost is reading the weights:
// y[m] = W x[m] (+ bias) for a few rows x[m], with W stored as float32, bfloat16 or int8 with
// one scale per output row. AVX2+FMA code when the CPU has it (checked at run time), portable
// code otherwise. Output rows are split across libtorch's intra-op threads.

#include <cstdint>

namespace querylens::model::kernels {

enum class WeightType { Float32, BFloat16, Int8 };

struct GemvArguments {
    const void* weight = nullptr;   // [n][k], row-major
    WeightType type = WeightType::Float32;
    const float* scales = nullptr;  // [n] for Int8
    const float* bias = nullptr;    // [n] or null
    const float* x = nullptr;       // [m][k]
    float* y = nullptr;             // [m][n]
    std::int64_t m = 1, n = 0, k = 0;
};

void gemv(const GemvArguments& args);

// The same product for more rows of x (a prompt, an image's tokens): register-blocked and
// cache-blocked, widening the weights chunk by chunk inside the cache. AVX2 only: callers
// check haveAvx2() and otherwise widen with dequantizeRows and use a float32 GEMM.
void gemm(const GemvArguments& args);

// Converts rows [rowBegin, rowEnd) of a bfloat16 or int8 weight to float32 into out [rows][k].
void dequantizeRows(const void* weight, WeightType type, const float* scales, std::int64_t k, std::int64_t rowBegin,
                    std::int64_t rowEnd, float* out);

bool haveAvx2();
// Tests: run the portable code even on a CPU with AVX2 (process-wide).
void setAvx2Disabled(bool disabled);

// Sums `count` floats with the decode kernels' loads and threads: the benchmark's probe of how
// fast this machine streams memory into the cores (its bandwidth limit for decoding).
float streamSum(const float* data, std::int64_t count);

// Portable and AVX2 versions of one block of output rows (exposed for the kernel tests).
void gemvRowsPortable(const GemvArguments& args, std::int64_t rowBegin, std::int64_t rowEnd);
void gemvRowsAvx2(const GemvArguments& args, std::int64_t rowBegin, std::int64_t rowEnd);
// gemm() works on panels of 16 weight rows; these compute panels [panelBegin, panelEnd).
std::int64_t gemmPanelCount(std::int64_t n);
float streamSumAvx2(const float* data, std::int64_t count);
void gemmPanelsAvx2(const GemvArguments& args, std::int64_t panelBegin, std::int64_t panelEnd);

}  // namespace querylens::model::kernels
