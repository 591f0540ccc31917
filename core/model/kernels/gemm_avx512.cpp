// AVX-512 matrix product for prompts and images with float32 arithmetic: y [m][n] = x [m][k] W^T
// (+ bias), W stored as float32, bfloat16 or int8 (compiled with the AVX-512 flags, called at
// the avx512 level and above; at avx512bf16 it still serves float32 and int8 weights).
//
// The plan of gemm_avx2.cpp with 16-wide vectors: W cut into panels of 32 rows and chunks of 128
// columns, each chunk widened (and scaled, for int8) and transposed into a 16 KB buffer that
// stays in L1, then swept by 12 x 32 register tiles: per column, 2 weight loads and 12
// broadcasts of x feed 24 FMAs into 24 of the 32 vector registers.

#include "model/kernels/avx2_common.h"
#include "model/kernels/avx512_common.h"
#include "model/kernels/gemv.h"

#include <algorithm>

namespace querylens::model::kernels {

namespace {

constexpr int kPanel = kGemmPanelRowsAvx512;  // weight rows per panel: two vectors of outputs
constexpr int kTileRows = 12;         // x rows per register tile
constexpr std::int64_t kChunk = 128;  // columns per packed chunk: 128 x 32 floats = 16 KB
// x rows swept per packed chunk: a multiple of kTileRows, and a 257-token image in one block.
constexpr std::int64_t kRowBlock = 264;

// packed[p][r] = W[row0 + r][k0 + p] (x scale), p < width, r < kPanel; rows past `rows` are 0.
template <typename W>
void pack(const GemvArguments& a, const W* weight, std::int64_t row0, int rows, std::int64_t k0, int width,
          float* packed)
{
    for (int g = 0; g < kPanel; g += 8) {
        int p = 0;
        if (rows - g >= 8) {
            const W* w[8];
            __m256 scale[8];
            for (int r = 0; r < 8; ++r) {
                w[r] = weight + (row0 + g + r) * a.k + k0;
                scale[r] = _mm256_set1_ps(a.scales ? a.scales[row0 + g + r] : 1.0f);
            }
            for (; p + 8 <= width; p += 8) {
                __m256 v[8];
                for (int r = 0; r < 8; ++r)
                    v[r] = a.scales ? _mm256_mul_ps(load8(w[r], p), scale[r]) : load8(w[r], p);
                transpose8(v);
                for (int j = 0; j < 8; ++j)
                    _mm256_store_ps(packed + (p + j) * kPanel + g, v[j]);
            }
        }
        for (; p < width; ++p)
            for (int r = g; r < g + 8; ++r) {
                float value = 0.0f;
                if (r < rows) {
                    value = scalar(weight + (row0 + r) * a.k + k0, p);
                    if (a.scales)
                        value *= a.scales[row0 + r];
                }
                packed[p * kPanel + r] = value;
            }
    }
}

// y[m0 + i][row0 + c] (+)= sum_p x[m0 + i][k0 + p] packed[p][c] for i < MR, c < rows; the first
// chunk starts from the bias, later ones add to what is there.
template <int MR>
void tile(const GemvArguments& a, const float* packed, std::int64_t m0, std::int64_t row0, int rows,
          std::int64_t k0, int width)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i)
        c0[i] = c1[i] = _mm512_setzero_ps();
    const float* x = a.x + m0 * a.k + k0;
    for (int p = 0; p < width; ++p) {
        const __m512 w0 = _mm512_load_ps(packed + p * kPanel), w1 = _mm512_load_ps(packed + p * kPanel + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            const __m512 xi = _mm512_set1_ps(x[i * a.k + p]);
            c0[i] = _mm512_fmadd_ps(w0, xi, c0[i]);
            c1[i] = _mm512_fmadd_ps(w1, xi, c1[i]);
        }
    }
    // Output columns present in this panel: all 32, or the last panel's remainder.
    const __mmask16 mask0 = rows >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << rows) - 1);
    const __mmask16 mask1 = rows >= 32 ? __mmask16(0xFFFF) : rows > 16 ? __mmask16((1u << (rows - 16)) - 1) : 0;
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
        float* y = a.y + (m0 + i) * a.n + row0;
        __m512 b0, b1;
        if (k0 > 0) {
            b0 = _mm512_maskz_loadu_ps(mask0, y);
            b1 = _mm512_maskz_loadu_ps(mask1, y + 16);
        } else if (a.bias) {
            b0 = _mm512_maskz_loadu_ps(mask0, a.bias + row0);
            b1 = _mm512_maskz_loadu_ps(mask1, a.bias + row0 + 16);
        } else {
            b0 = b1 = _mm512_setzero_ps();
        }
        _mm512_mask_storeu_ps(y, mask0, _mm512_add_ps(c0[i], b0));
        _mm512_mask_storeu_ps(y + 16, mask1, _mm512_add_ps(c1[i], b1));
    }
}

template <int MR>
void tailTiles(const GemvArguments& a, const float* packed, std::int64_t m0, std::int64_t left, std::int64_t row0,
               int rows, std::int64_t k0, int width)
{
    if constexpr (MR > 0) {
        if (left == MR)
            tile<MR>(a, packed, m0, row0, rows, k0, width);
        else
            tailTiles<MR - 1>(a, packed, m0, left, row0, rows, k0, width);
    }
}

template <typename W>
void panels(const GemvArguments& a, const W* weight, std::int64_t panelBegin, std::int64_t panelEnd)
{
    alignas(64) float packed[kChunk * kPanel];
    for (std::int64_t mBegin = 0; mBegin < a.m; mBegin += kRowBlock)
        for (std::int64_t panel = panelBegin; panel < panelEnd; ++panel) {
            const std::int64_t mEnd = std::min(a.m, mBegin + kRowBlock);
            const std::int64_t row0 = panel * kPanel;
            const int rows = int(std::min<std::int64_t>(kPanel, a.n - row0));
            for (std::int64_t k0 = 0; k0 < a.k; k0 += kChunk) {
                const int width = int(std::min(kChunk, a.k - k0));
                pack(a, weight, row0, rows, k0, width, packed);
                std::int64_t m0 = mBegin;
                for (; m0 + kTileRows <= mEnd; m0 += kTileRows)
                    tile<kTileRows>(a, packed, m0, row0, rows, k0, width);
                tailTiles<kTileRows - 1>(a, packed, m0, mEnd - m0, row0, rows, k0, width);
            }
        }
}

}  // namespace

std::int64_t gemmPanelCountAvx512(std::int64_t n) { return (n + kPanel - 1) / kPanel; }

void gemmPanelsAvx512(const GemvArguments& a, std::int64_t panelBegin, std::int64_t panelEnd)
{
    switch (a.type) {
    case WeightType::Float32: panels(a, static_cast<const float*>(a.weight), panelBegin, panelEnd); break;
    case WeightType::BFloat16: panels(a, static_cast<const std::uint16_t*>(a.weight), panelBegin, panelEnd); break;
    case WeightType::Int8: panels(a, static_cast<const std::int8_t*>(a.weight), panelBegin, panelEnd); break;
    }
}

}  // namespace querylens::model::kernels
