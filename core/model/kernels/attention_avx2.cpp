// Attention heads in AVX2 + FMA (declared in attention_head.h; compiled with -mavx2 -mfma, called
// at that level and above):
// - many query rows (an image's 257 tokens): the fused head of attention_avx512.cpp in 8-wide
//   registers: k transposed and v packed once, then tiles of 4 query rows x 24 keys for the
//   scores and 4 rows x 24 columns for the context (12 ymm accumulators of 16), softmax between;
// - a few rows (a decoded token against the cache): no packing, which a row does not repay.
//   libtorch's batched product runs each such head as two OpenBLAS calls whose packing costs more
//   than the ~10k multiply-adds they hold: on 2 threads of an AMD EPYC (family 23 model 1) those
//   calls were 2.5 % of a bf16 blip2-opt-2.7b decoding step, on the calling thread while the
//   other waited.

#include "model/kernels/attention_head.h"
#include "model/kernels/attention_tiles.h"
#include "model/kernels/avx2_common.h"

#include <algorithm>

namespace querylens::model::kernels {

namespace {

// 8 floats from p + c: a plain load when all 8 are there (a masked load costs several times
// more on the AMD cores measured), else the first `remaining`.
inline __m256 load8Upto(const float* p, std::int64_t remaining)
{
    return remaining >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, tailMask8(remaining));
}

// Scores of keys [j, j + 4) against q: q's vectors loaded once for 4 keys.
void fourScores(const AttentionHeadArguments& a, const float* q, std::int64_t j, float* scores)
{
    const float* k[4] = {a.k + j * a.kStride, a.k + (j + 1) * a.kStride, a.k + (j + 2) * a.kStride, a.k + (j + 3) * a.kStride};
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (std::int64_t c = 0; c < a.d; c += 8) {
        const __m256 qv = load8Upto(q + c, a.d - c);
#pragma GCC unroll 4
        for (int u = 0; u < 4; ++u)
            acc[u] = _mm256_fmadd_ps(qv, load8Upto(k[u] + c, a.d - c), acc[u]);
    }
    for (int u = 0; u < 4; ++u)
        scores[u] = horizontalSum(acc[u]);
}

float score(const AttentionHeadArguments& a, const float* q, std::int64_t j)
{
    const float* k = a.k + j * a.kStride;
    __m256 acc = _mm256_setzero_ps();
    for (std::int64_t c = 0; c < a.d; c += 8)
        acc = _mm256_fmadd_ps(load8Upto(q + c, a.d - c), load8Upto(k + c, a.d - c), acc);
    return horizontalSum(acc);
}

// context columns [c, c + 8 V) = probabilities v for one row: even and odd keys into separate
// accumulators, so that consecutive keys' multiply-adds do not wait on each other. V is a
// template argument so that the loops unroll and the 2 V accumulators stay in registers: with V
// counted at run time GCC kept them on the stack, a store and a load around every multiply-add.
template <int V>
void weightedColumns(const AttentionHeadArguments& a, const float* p, std::int64_t c, float* context)
{
    __m256 even[V], odd[V];
#pragma GCC unroll 4
    for (int u = 0; u < V; ++u)
        even[u] = odd[u] = _mm256_setzero_ps();
    const std::int64_t remaining = a.d - c;
    std::int64_t j = 0;
    for (; j + 2 <= a.tk; j += 2) {
        const __m256 p0 = _mm256_set1_ps(p[j]), p1 = _mm256_set1_ps(p[j + 1]);
        const float* v0 = a.v + j * a.vStride + c;
        const float* v1 = v0 + a.vStride;
#pragma GCC unroll 4
        for (int u = 0; u < V; ++u) {
            even[u] = _mm256_fmadd_ps(p0, load8Upto(v0 + 8 * u, remaining - 8 * u), even[u]);
            odd[u] = _mm256_fmadd_ps(p1, load8Upto(v1 + 8 * u, remaining - 8 * u), odd[u]);
        }
    }
    if (j < a.tk) {
        const __m256 p0 = _mm256_set1_ps(p[j]);
        const float* v0 = a.v + j * a.vStride + c;
#pragma GCC unroll 4
        for (int u = 0; u < V; ++u)
            even[u] = _mm256_fmadd_ps(p0, load8Upto(v0 + 8 * u, remaining - 8 * u), even[u]);
    }
#pragma GCC unroll 4
    for (int u = 0; u < V; ++u)
        _mm256_maskstore_ps(context + c + 8 * u, tailMask8(remaining - 8 * u), _mm256_add_ps(even[u], odd[u]));
}

// context = probabilities v for one row, 32 columns at a time.
void weightedSum(const AttentionHeadArguments& a, const float* p, float* context)
{
    for (std::int64_t c = 0; c < a.d; c += 32) {
        switch (std::min<std::int64_t>(4, (a.d - c + 7) / 8)) {
        case 4: weightedColumns<4>(a, p, c, context); break;
        case 3: weightedColumns<3>(a, p, c, context); break;
        case 2: weightedColumns<2>(a, p, c, context); break;
        default: weightedColumns<1>(a, p, c, context); break;
        }
    }
}

constexpr int kRows = 4;         // query rows per register tile
constexpr int kChunks = 3;       // 3 x 8 keys (scores) or columns (context) per tile
inline std::int64_t padded8(std::int64_t n) { return (n + 7) / 8 * 8; }

// Both products of a head as one register tile: 4 rows (`rows` pointers, each `count` long)
// times columns [column0, column0 + 8 C) of a packed matrix [count][stride]. For the scores the
// rows are queries and the matrix kt [d][tkPad]; for the context, probabilities and vp [tk][dPad].
template <int C>
void tile(const float* const rows[kRows], const float* matrix, std::int64_t stride, std::int64_t count,
          std::int64_t column0, __m256 acc[kRows][kChunks])
{
    // Local accumulators in fully unrolled loops, copied out at the end: through `acc`, or in
    // loops left rolled, GCC stored all 12 back to memory on every step.
    __m256 sum[kRows][C];
#pragma GCC unroll 4
    for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c)
            sum[r][c] = _mm256_setzero_ps();
    for (std::int64_t x = 0; x < count; ++x) {
        const float* line = matrix + x * stride + column0;
        __m256 b[C];
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c)
            b[c] = _mm256_loadu_ps(line + 8 * c);
#pragma GCC unroll 4
        for (int r = 0; r < kRows; ++r) {
            const __m256 a = _mm256_broadcast_ss(rows[r] + x);
#pragma GCC unroll 4
            for (int c = 0; c < C; ++c)
                sum[r][c] = _mm256_fmadd_ps(a, b[c], sum[r][c]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < C; ++c)
            acc[r][c] = sum[r][c];
}

// The tile for 1 to 3 chunks of 8 columns.
void tileOf(int chunks, const float* const rows[kRows], const float* matrix, std::int64_t stride, std::int64_t count,
            std::int64_t column0, __m256 acc[kRows][kChunks])
{
    switch (chunks) {
    case 1: tile<1>(rows, matrix, stride, count, column0, acc); break;
    case 2: tile<2>(rows, matrix, stride, count, column0, acc); break;
    default: tile<3>(rows, matrix, stride, count, column0, acc); break;
    }
}

}  // namespace

std::int64_t attentionHeadAvx2ScratchFloats(std::int64_t tk, std::int64_t d) { return d * padded8(tk) + tk * padded8(d); }

void attentionHeadAvx2(const AttentionHeadArguments& a, float* scratch)
{
    const std::int64_t tkPad = padded8(a.tk), dPad = padded8(a.d);
    float* kt = scratch;                // [d][tkPad], zero past tk
    float* vp = scratch + a.d * tkPad;  // [tk][dPad], zero past d
    attention_tiles::packKeysAndValues(a, tkPad, dPad, kt, vp);
    const __m256 scale = _mm256_set1_ps(a.scale);

    for (std::int64_t i0 = 0; i0 < a.tq; i0 += kRows) {
        const int real = int(std::min<std::int64_t>(kRows, a.tq - i0));
        // Rows past the end repeat the last real one; their results are not stored.
        const float* queries[kRows];
        const float* probabilityRows[kRows];
        for (int r = 0; r < kRows; ++r) {
            const std::int64_t i = i0 + std::min(r, real - 1);
            queries[r] = a.q + i * a.qStride;
            probabilityRows[r] = a.probabilities + i * a.tk;
        }

        // 1. scores, scaled, into the probabilities' rows
        __m256 acc[kRows][kChunks];
        for (std::int64_t j0 = 0; j0 < a.tk; j0 += 8 * kChunks) {
            const int chunks = int(std::min<std::int64_t>(kChunks, (a.tk - j0 + 7) / 8));
            tileOf(chunks, queries, kt, tkPad, a.d, j0, acc);
            for (int r = 0; r < real; ++r)
                for (int c = 0; c < chunks; ++c) {
                    const std::int64_t j = j0 + 8 * c;
                    _mm256_maskstore_ps(a.probabilities + (i0 + r) * a.tk + j, tailMask8(a.tk - j),
                                        _mm256_mul_ps(acc[r][c], scale));
                }
        }
        // 2. softmax
        for (int r = 0; r < real; ++r)
            softmaxRow8(a.probabilities + (i0 + r) * a.tk, a.tk);
        // 3. context
        for (std::int64_t d0 = 0; d0 < a.d; d0 += 8 * kChunks) {
            const int chunks = int(std::min<std::int64_t>(kChunks, (a.d - d0 + 7) / 8));
            tileOf(chunks, probabilityRows, vp, dPad, a.tk, d0, acc);
            for (int r = 0; r < real; ++r)
                for (int c = 0; c < chunks; ++c) {
                    const std::int64_t col = d0 + 8 * c;
                    _mm256_maskstore_ps(a.context + (i0 + r) * a.contextStride + col, tailMask8(a.d - col), acc[r][c]);
                }
        }
    }
}

void attentionRowsAvx2(const AttentionHeadArguments& a, const float* mask, std::int64_t maskStride)
{
    for (std::int64_t r = 0; r < a.tq; ++r) {
        const float* q = a.q + r * a.qStride;
        float* p = a.probabilities + r * a.tk;
        std::int64_t j = 0;
        for (; j + 4 <= a.tk; j += 4)
            fourScores(a, q, j, p + j);
        for (; j < a.tk; ++j)
            p[j] = score(a, q, j);
        for (j = 0; j < a.tk; ++j)
            p[j] = p[j] * a.scale + (mask ? mask[r * maskStride + j] : 0.0f);
        softmaxRow8(p, a.tk);
        weightedSum(a, p, a.context + r * a.contextStride);
    }
}

}  // namespace querylens::model::kernels
