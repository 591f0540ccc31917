#pragma once
// The linear-layer kernels below matmul.h: y[m] = W x[m] (+ bias) for rows x[m], with W stored
// as float32, bfloat16 or int8 with one scale per output row. Each instruction-set level
// (isa.h) has its own files; gemv.cpp picks the level's code at run time and splits the work
// over libtorch's intra-op threads.

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace querylens::model::kernels {

enum class WeightType { Float32, BFloat16, Int8 };

// What gemm() applies to each output before writing it (after the bias).
enum class GemmActivation { None, Gelu /* exact, erf */ };

struct GemvArguments {
    const void* weight = nullptr;   // [n][k], row-major
    WeightType type = WeightType::Float32;
    const float* scales = nullptr;  // [n] for Int8
    const float* bias = nullptr;    // [n] or null
    const float* x = nullptr;       // [m][k]
    float* y = nullptr;             // [m][n]
    std::int64_t m = 1, n = 0, k = 0;
    // gemm() only (gemv() ignores them): y = activation(x W^T + bias) + residual, residual
    // [m][n] or null. The avx512bf16 kernel applies them in registers, the others in a scalar
    // pass over their own panels (matmul.cpp leaves them to libtorch's vectorised ops instead).
    GemmActivation activation = GemmActivation::None;
    const float* residual = nullptr;
};

// Decoding (a few rows of x), where the cost is reading the weights once. For int8 weights at
// the avx2 level and above, x is quantised to int8 per block of 32 values and the products are
// integer dot products (maddubs on AVX2, vpdpbusd on AVX-512 VNNI).
void gemv(const GemvArguments& args);

// Prompts and images (more rows of x): register- and cache-blocked GEMM. avx2 and avx512 widen
// bf16/int8 weights to float32 inside the cache; avx512bf16 multiplies bf16 weights with x
// rounded to bf16 (vdpbf16ps). Needs activeIsa() >= avx2: below, callers widen with
// dequantizeRows and use libtorch's float32 GEMM.
void gemm(const GemvArguments& args);

// Converts rows [rowBegin, rowEnd) of a bfloat16 or int8 weight to float32 into out [rows][k].
void dequantizeRows(const void* weight, WeightType type, const float* scales, std::int64_t k, std::int64_t rowBegin,
                    std::int64_t rowEnd, float* out);

// Sums `count` floats with the decode kernels' loads and threads: the benchmark's probe of how
// fast this machine streams memory into the cores (its bandwidth limit for decoding).
float streamSum(const float* data, std::int64_t count);

// x quantised for the int8 dot products: values [m][stride] (stride = k rounded up to 64, the
// padding zero), scales [m][stride / 32]; x[i][j] ~= values[i][j] * scales[i][j / 32].
struct QuantizedRows {
    std::vector<std::int8_t> values;
    std::vector<float> scales;
    std::int64_t stride = 0;
};
QuantizedRows quantizeActivations(const float* x, std::int64_t m, std::int64_t k);

// The code of each level for output rows [rowBegin, rowEnd), which gemv() runs on its threads.
// At avx2 and above, these take float32 and bf16 weights; int8 weights take gemvInt8Rows*.
void gemvRowsPortable(const GemvArguments& args, std::int64_t rowBegin, std::int64_t rowEnd);
// xEvenOdd: for bf16 weights and one row of x, evenOddBlocksAvx2(x), made once per product rather
// than once per thread's share of rows; else null.
void gemvRowsAvx2(const GemvArguments& args, const float* xEvenOdd, std::int64_t rowBegin, std::int64_t rowEnd);
void gemvRowsAvx512(const GemvArguments& args, std::int64_t rowBegin, std::int64_t rowEnd);
// x of one row with each whole block of 16 columns reordered as its 8 even columns then its 8
// odd ones: the order in which the avx2 bf16 kernel widens a 32-byte load of bf16 weights (the
// columns past the last whole block are left out; the kernel takes them from x as it is).
std::vector<float> evenOddBlocksAvx2(const float* x, std::int64_t k);
// Int8 weights against quantised x (args.x unused).
void gemvInt8RowsAvx2(const GemvArguments& args, const QuantizedRows& x, std::int64_t rowBegin, std::int64_t rowEnd);
void gemvInt8RowsAvx512(const GemvArguments& args, const QuantizedRows& x, std::int64_t rowBegin, std::int64_t rowEnd);

// GEMM panels: the weight is cut into panels of rows; these compute panels [panelBegin, panelEnd).
constexpr int kGemmPanelRowsAvx2 = 16, kGemmPanelRowsAvx512 = 32;
std::int64_t gemmPanelCountAvx2(std::int64_t n);
void gemmPanelsAvx2(const GemvArguments& args, std::int64_t panelBegin, std::int64_t panelEnd);
std::int64_t gemmPanelCountAvx512(std::int64_t n);
void gemmPanelsAvx512(const GemvArguments& args, std::int64_t panelBegin, std::int64_t panelEnd);
// bf16 weights only, with the activation and residual applied. x is rounded to bf16 and packed
// by tiles of rows (packActivations: tiles [tileBegin, tileEnd) of gemmTileCountAvx512Bf16(m))
// into packedActivationsSizeAvx512Bf16(m, k) values; the panels pack each tile the first time a
// thread needs it, so `state` (one per tile, all kEmpty at first) is shared by the threads.
struct PackedActivations {
    enum : int { kEmpty = 0, kPacking = 1, kReady = 2 };
    std::uint32_t* values = nullptr;
    std::atomic<int>* state = nullptr;
};
std::int64_t gemmPanelCountAvx512Bf16(std::int64_t n);
std::int64_t gemmTileCountAvx512Bf16(std::int64_t m);
std::int64_t packedActivationsSizeAvx512Bf16(std::int64_t m, std::int64_t k);
void packActivationsAvx512Bf16(const float* x, std::int64_t m, std::int64_t k, std::int64_t tileBegin,
                               std::int64_t tileEnd, std::uint32_t* packed);
// Panels [panelBegin, panelEnd) against every tile of x, from tile `firstTile` round to the one
// before it; `panelAfter` (or -1) is the panel the thread goes on with, whose weights are fetched
// while the last one runs.
void gemmPanelsAvx512Bf16(const GemvArguments& args, const PackedActivations& x, std::int64_t panelBegin,
                          std::int64_t panelEnd, std::int64_t firstTile, std::int64_t panelAfter);

// amx level, bf16 weights (gemm_amx_tiles.h): x rounded to bf16 and packed by blocks of 16 rows
// (blocks [blockBegin, blockEnd) of amx::rowBlockCount(m)) into amx::packedRowsSize(m, k) pairs,
// then panels [panelBegin, panelEnd) of 32 outputs against all of it, with the activation and
// residual applied.
void packRowsAmx(const float* x, std::int64_t m, std::int64_t k, std::int64_t blockBegin, std::int64_t blockEnd,
                 std::uint32_t* packed);
void gemmPanelsAmx(const GemvArguments& args, const std::uint32_t* packedX, std::int64_t panelBegin, std::int64_t panelEnd);
// Whether the AMX kernel agreed with a scalar product on this CPU (checked once, on first use, at
// the amx level): it was written and checked against a software model of the tile
// instructions, so the first AMX machine it meets checks it before trusting it. Empty when it
// agreed (or was never needed), else why the avx512bf16 kernel runs instead.
const std::string& amxKernelProblem();
// The check itself, run on every call whatever the CPU (the tests run it where AMX is missing,
// where it must report the fault, not crash).
std::string checkAmxKernel();

float streamSumAvx2(const float* data, std::int64_t count);

// A loop of independent multiply-adds on one thread for `seconds`-ish; returns its GFLOP/s: the
// core's arithmetic peak at each level, the yardstick of the kernel benchmark.
double fmaPeakGflopsAvx2(std::int64_t iterations);
double fmaPeakGflopsAvx512(std::int64_t iterations);
double bf16PeakGflopsAvx512Bf16(std::int64_t iterations);
double bf16PeakGflopsAmx(std::int64_t iterations);

}  // namespace querylens::model::kernels
