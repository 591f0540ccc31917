// AVX512_BF16 matrix product for prompts and images with bfloat16 weights: y [m][n] = x [m][k] W^T
// (+ bias) with x rounded to bfloat16 (the precision the user chose) and float32 sums
// (compiled with the AVX-512 and AVX512_BF16 flags; called at the avx512bf16 level).
//
// vdpbf16ps multiplies 16 pairs of bf16 values by 16 pairs and adds each pair's two products
// to a float32 lane: 64 flops an instruction, twice the float32 FMA's. It wants the weights
// pair-interleaved: lane j holds (W[j][2p], W[j][2p + 1]). A panel of 32 weight rows is
// repacked, a chunk of 256 columns at a time, into that layout ([pair][32 rows], 16 KB, in
// L1) — an 8 x 8 transpose of 32-bit pairs — and swept by 12 x 32 register tiles: per pair of
// columns, 2 weight loads and 12 broadcasts of an x pair feed 24 vdpbf16ps.
// Repacking per call rather than once at load keeps the weights in their stored [n][k] form,
// which the decode kernels, the tied embedding lookup, autograd and the libtorch baseline read,
// and which memory-mapped bf16 checkpoints provide without a copy; for an image (257 rows) the
// repacking is ~1 % of the products' work (querylens-kernel-bench --only gemm).

#include "model/kernels/avx2_common.h"
#include "model/kernels/gemv.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace querylens::model::kernels {

namespace {

constexpr int kPanel = 32;             // weight rows per panel
constexpr int kTileRows = 12;          // x rows per register tile
constexpr std::int64_t kChunk = 256;   // columns per packed chunk: 128 pairs x 32 rows x 4 B = 16 KB
constexpr std::int64_t kRowBlock = 264;

inline std::uint32_t pairAt(const std::uint16_t* row, std::int64_t col, std::int64_t end)
{
    const std::uint32_t low = col < end ? row[col] : 0u, high = col + 1 < end ? row[col + 1] : 0u;
    return low | (high << 16);
}

// packed[p][r] = (W[row0 + r][k0 + 2p], W[row0 + r][k0 + 2p + 1]) for 2p < width, r < kPanel;
// rows past `rows` and a column past k are 0.
void pack(const GemvArguments& a, std::int64_t row0, int rows, std::int64_t k0, int width, std::uint32_t* packed)
{
    const auto* weight = static_cast<const std::uint16_t*>(a.weight);
    const int pairs = (width + 1) / 2;
    for (int g = 0; g < kPanel; g += 8) {
        int p = 0;
        if (rows - g >= 8) {
            const std::uint16_t* w[8];
            for (int r = 0; r < 8; ++r)
                w[r] = weight + (row0 + g + r) * a.k + k0;
            // 8 rows x 8 pairs (16 columns) a step, as 32-bit elements.
            for (; 2 * (p + 8) <= width; p += 8) {
                __m256 v[8];
                for (int r = 0; r < 8; ++r)
                    v[r] = _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r] + 2 * p)));
                transpose8(v);
                for (int j = 0; j < 8; ++j)
                    _mm256_store_ps(reinterpret_cast<float*>(packed + (p + j) * kPanel + g), v[j]);
            }
        }
        for (; p < pairs; ++p)
            for (int r = g; r < g + 8; ++r)
                packed[p * kPanel + r] = r < rows ? pairAt(weight + (row0 + r) * a.k + k0, 2 * p, width) : 0u;
    }
}

template <int MR>
void tile(const GemvArguments& a, const std::uint16_t* xb, std::int64_t stride, const std::uint32_t* packed,
          std::int64_t m0, std::int64_t row0, int rows, std::int64_t k0, int pairs)
{
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i)
        c0[i] = c1[i] = _mm512_setzero_ps();
    const std::uint16_t* x = xb + m0 * stride + k0;
    for (int p = 0; p < pairs; ++p) {
        const __m512bh w0 = (__m512bh)_mm512_load_si512(packed + p * kPanel);
        const __m512bh w1 = (__m512bh)_mm512_load_si512(packed + p * kPanel + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; ++i) {
            std::int32_t pair;
            std::memcpy(&pair, x + i * stride + 2 * p, sizeof pair);
            const __m512bh xi = (__m512bh)_mm512_set1_epi32(pair);
            c0[i] = _mm512_dpbf16_ps(c0[i], xi, w0);
            c1[i] = _mm512_dpbf16_ps(c1[i], xi, w1);
        }
    }
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
void tailTiles(const GemvArguments& a, const std::uint16_t* xb, std::int64_t stride, const std::uint32_t* packed,
               std::int64_t m0, std::int64_t left, std::int64_t row0, int rows, std::int64_t k0, int pairs)
{
    if constexpr (MR > 0) {
        if (left == MR)
            tile<MR>(a, xb, stride, packed, m0, row0, rows, k0, pairs);
        else
            tailTiles<MR - 1>(a, xb, stride, packed, m0, left, row0, rows, k0, pairs);
    }
}

}  // namespace

std::int64_t gemmPanelCountAvx512Bf16(std::int64_t n) { return (n + kPanel - 1) / kPanel; }

void gemmPanelsAvx512Bf16(const GemvArguments& a, const std::uint16_t* xBf16, std::int64_t panelBegin,
                          std::int64_t panelEnd)
{
    alignas(64) std::uint32_t packed[kChunk / 2 * kPanel];
    const std::int64_t stride = (a.k + 1) / 2 * 2;
    for (std::int64_t mBegin = 0; mBegin < a.m; mBegin += kRowBlock)
        for (std::int64_t panel = panelBegin; panel < panelEnd; ++panel) {
            const std::int64_t mEnd = std::min(a.m, mBegin + kRowBlock);
            const std::int64_t row0 = panel * kPanel;
            const int rows = int(std::min<std::int64_t>(kPanel, a.n - row0));
            for (std::int64_t k0 = 0; k0 < a.k; k0 += kChunk) {
                const int width = int(std::min(kChunk, a.k - k0));
                const int pairs = (width + 1) / 2;
                pack(a, row0, rows, k0, width, packed);
                std::int64_t m0 = mBegin;
                for (; m0 + kTileRows <= mEnd; m0 += kTileRows)
                    tile<kTileRows>(a, xBf16, stride, packed, m0, row0, rows, k0, pairs);
                tailTiles<kTileRows - 1>(a, xBf16, stride, packed, m0, mEnd - m0, row0, rows, k0, pairs);
            }
        }
}

void toBf16RowsAvx512Bf16(const float* x, std::int64_t m, std::int64_t k, std::uint16_t* out)
{
    const std::int64_t stride = (k + 1) / 2 * 2;
    for (std::int64_t row = 0; row < m; ++row) {
        const float* from = x + row * k;
        std::uint16_t* to = out + row * stride;
        for (std::int64_t i = 0; i < k; i += 16) {
            const __mmask16 valid = k - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (k - i)) - 1);
            const __m256bh rounded = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(valid, from + i));
            _mm256_mask_storeu_epi16(to + i, valid, (__m256i)rounded);
        }
        if (stride > k)
            to[k] = 0;
    }
}

double bf16PeakGflopsAvx512Bf16(std::int64_t iterations)
{
    __m512 acc[12];
    for (int i = 0; i < 12; ++i)
        acc[i] = _mm512_set1_ps(float(i));
    const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x33d633d6);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i)
            acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    __m512 sum = acc[0];
    for (int i = 1; i < 12; ++i)
        sum = _mm512_add_ps(sum, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(sum);
    (void)sink;
    return 4.0 * 16 * 12 * double(iterations) / seconds / 1e9;
}

}  // namespace querylens::model::kernels
