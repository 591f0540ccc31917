// One attention head for a few query rows against many keys, in AVX2 (declared in
// attention_head.h): a decoded token's row against the cache. libtorch's batched product runs
// each head as two OpenBLAS calls whose packing costs more than the ~10k multiply-adds they
// hold: on 2 threads of an AMD EPYC (family 23 model 1) those calls were 2.5 % of a bf16
// blip2-opt-2.7b decoding step, on the calling thread while the other waited.

#include "model/kernels/attention_head.h"
#include "model/kernels/avx2_common.h"

#include <algorithm>
#include <limits>

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

// A row of scores into probabilities, in place: max, e^(score - max), sum, scale.
void softmaxRow(float* row, std::int64_t tk)
{
    float peak = -std::numeric_limits<float>::infinity();
    for (std::int64_t j = 0; j < tk; ++j)
        peak = std::max(peak, row[j]);
    const __m256 top = _mm256_set1_ps(peak);
    __m256 sum = _mm256_setzero_ps();
    for (std::int64_t j = 0; j < tk; j += 8) {
        const __m256i lanes = tailMask8(tk - j);
        const __m256 e = _mm256_and_ps(expNonPositive8(_mm256_sub_ps(_mm256_maskload_ps(row + j, lanes), top)),
                                       _mm256_castsi256_ps(lanes));
        sum = _mm256_add_ps(sum, e);
        _mm256_maskstore_ps(row + j, lanes, e);
    }
    const __m256 inverse = _mm256_set1_ps(1.0f / horizontalSum(sum));
    for (std::int64_t j = 0; j < tk; j += 8) {
        const __m256i lanes = tailMask8(tk - j);
        _mm256_maskstore_ps(row + j, lanes, _mm256_mul_ps(_mm256_maskload_ps(row + j, lanes), inverse));
    }
}

// context = probabilities v for one row, 32 columns at a time: even and odd keys into separate
// accumulators, so that consecutive keys' multiply-adds do not wait on each other.
void weightedSum(const AttentionHeadArguments& a, const float* p, float* context)
{
    for (std::int64_t c = 0; c < a.d; c += 32) {
        const int vectors = int(std::min<std::int64_t>(4, (a.d - c + 7) / 8));
        __m256 even[4], odd[4];
        for (int u = 0; u < 4; ++u)
            even[u] = odd[u] = _mm256_setzero_ps();
        std::int64_t j = 0;
        for (; j + 2 <= a.tk; j += 2) {
            const __m256 p0 = _mm256_set1_ps(p[j]), p1 = _mm256_set1_ps(p[j + 1]);
            const float* v0 = a.v + j * a.vStride + c;
            const float* v1 = v0 + a.vStride;
            for (int u = 0; u < vectors; ++u) {
                even[u] = _mm256_fmadd_ps(p0, load8Upto(v0 + 8 * u, a.d - c - 8 * u), even[u]);
                odd[u] = _mm256_fmadd_ps(p1, load8Upto(v1 + 8 * u, a.d - c - 8 * u), odd[u]);
            }
        }
        if (j < a.tk) {
            const __m256 p0 = _mm256_set1_ps(p[j]);
            const float* v0 = a.v + j * a.vStride + c;
            for (int u = 0; u < vectors; ++u)
                even[u] = _mm256_fmadd_ps(p0, load8Upto(v0 + 8 * u, a.d - c - 8 * u), even[u]);
        }
        for (int u = 0; u < vectors; ++u)
            _mm256_maskstore_ps(context + c + 8 * u, tailMask8(a.d - c - 8 * u), _mm256_add_ps(even[u], odd[u]));
    }
}

}  // namespace

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
        softmaxRow(p, a.tk);
        weightedSum(a, p, a.context + r * a.contextStride);
    }
}

}  // namespace querylens::model::kernels
