// AVX2 + FMA matrix product for prompts: y [m][n] = x [m][k] W^T for a few to a few hundred rows
// of x, with W stored as float32, bfloat16 or int8 (compiled with -mavx2 -mfma, like gemv_avx2).
//
// The classic register-blocked layout (BLIS, OpenBLAS): W is cut into panels of 16 rows and
// chunks of 256 columns; each chunk is widened to float32 (and scaled, for int8) and transposed
// into a 16 KB buffer that stays in L1, then swept by a 6 x 16 tile of x rows against weight rows
// held in 12 accumulators: per column, 2 weight loads and 6 broadcasts of x feed 12 FMAs. The
// weights are read from memory once per call whatever m is, and widened inside the cache, which
// is what makes this beat "widen the whole weight, then OpenBLAS" for skinny products.

#include "model/kernels/avx2_common.h"
#include "model/kernels/gemv.h"

#include <algorithm>

namespace querylens::model::kernels {

namespace {

constexpr int kPanel = kGemmPanelRowsAvx2;  // weight rows per panel: two vectors of outputs
constexpr int kTileRows = 6;         // x rows per register tile
constexpr std::int64_t kChunk = 256;  // columns per packed chunk: 256 x 16 floats = 16 KB
// x rows swept per packed chunk: a multiple of kTileRows, and a 257-token image in one block, so
// its weights are packed once.
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

// y[m0 + i][row0 + c] (+)= sum_p x[m0 + i][k0 + p] packed[p][c] for i < MR, c < rows. The
// first chunk (k0 == 0) starts from the bias, later ones add to what is there.
template <int MR>
void tile(const GemvArguments& a, const float* packed, std::int64_t m0, std::int64_t row0, int rows,
          std::int64_t k0, int width)
{
    // (The unroll pragmas keep the accumulator arrays in registers: GCC spills them to the
    // stack on every iteration when any loop over them stays a loop.)
    __m256 c0[MR], c1[MR];
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i)
        c0[i] = c1[i] = _mm256_setzero_ps();
    const float* x = a.x + m0 * a.k + k0;
    for (int p = 0; p < width; ++p) {
        const __m256 w0 = _mm256_load_ps(packed + p * kPanel), w1 = _mm256_load_ps(packed + p * kPanel + 8);
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            const __m256 xi = _mm256_broadcast_ss(x + i * a.k + p);
            c0[i] = _mm256_fmadd_ps(w0, xi, c0[i]);
            c1[i] = _mm256_fmadd_ps(w1, xi, c1[i]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
        float* y = a.y + (m0 + i) * a.n + row0;
        if (rows == kPanel) {
            __m256 b0, b1;
            if (k0 > 0) {
                b0 = _mm256_loadu_ps(y);
                b1 = _mm256_loadu_ps(y + 8);
            } else if (a.bias) {
                b0 = _mm256_loadu_ps(a.bias + row0);
                b1 = _mm256_loadu_ps(a.bias + row0 + 8);
            } else {
                b0 = b1 = _mm256_setzero_ps();
            }
            _mm256_storeu_ps(y, _mm256_add_ps(c0[i], b0));
            _mm256_storeu_ps(y + 8, _mm256_add_ps(c1[i], b1));
        } else {
            alignas(32) float sums[kPanel];
            _mm256_store_ps(sums, c0[i]);
            _mm256_store_ps(sums + 8, c1[i]);
            for (int c = 0; c < rows; ++c)
                y[c] = sums[c] + (k0 > 0 ? y[c] : a.bias ? a.bias[row0 + c] : 0.0f);
        }
    }
}

template <typename W>
void panels(const GemvArguments& a, const W* weight, std::int64_t panelBegin, std::int64_t panelEnd)
{
    alignas(64) float packed[kChunk * kPanel];
    // Blocks of x rows small enough that their chunk (kRowBlock x kChunk floats, 264 KB) stays
    // in L2 while every panel sweeps it; the weights are read once per block.
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
            switch (mEnd - m0) {
            case 5: tile<5>(a, packed, m0, row0, rows, k0, width); break;
            case 4: tile<4>(a, packed, m0, row0, rows, k0, width); break;
            case 3: tile<3>(a, packed, m0, row0, rows, k0, width); break;
            case 2: tile<2>(a, packed, m0, row0, rows, k0, width); break;
            case 1: tile<1>(a, packed, m0, row0, rows, k0, width); break;
            default: break;
            }
        }
    }
}

}  // namespace

std::int64_t gemmPanelCountAvx2(std::int64_t n) { return (n + kPanel - 1) / kPanel; }

void gemmPanelsAvx2(const GemvArguments& a, std::int64_t panelBegin, std::int64_t panelEnd)
{
    switch (a.type) {
    case WeightType::Float32: panels(a, static_cast<const float*>(a.weight), panelBegin, panelEnd); break;
    case WeightType::BFloat16: panels(a, static_cast<const std::uint16_t*>(a.weight), panelBegin, panelEnd); break;
    case WeightType::Int8: panels(a, static_cast<const std::int8_t*>(a.weight), panelBegin, panelEnd); break;
    }
}

}  // namespace querylens::model::kernels
