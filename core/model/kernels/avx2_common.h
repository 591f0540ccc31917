#pragma once
// Loads and a transpose shared by the AVX2 kernels (and the AVX-512 ones, whose packing works on
// 8 x 8 blocks too); include only from files compiled with -mavx2 -mfma or more.

#include <immintrin.h>

#include <cstdint>

namespace querylens::model::kernels {
namespace {

// 8 weights from `w` + i as floats.
inline __m256 load8(const float* w, std::int64_t i) { return _mm256_loadu_ps(w + i); }
inline __m256 load8(const std::uint16_t* w, std::int64_t i)
{
    const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
}
inline __m256 load8(const std::int8_t* w, std::int64_t i)
{
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w + i));
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
}
inline float scalar(const float* w, std::int64_t i) { return w[i]; }
inline float scalar(const std::uint16_t* w, std::int64_t i)
{
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(int(std::uint32_t(w[i]) << 16))));
}
inline float scalar(const std::int8_t* w, std::int64_t i) { return float(w[i]); }

// rows r0..r7 (8 columns each) -> columns: r[j] holds column j of the 8 rows.
inline void transpose8(__m256 r[8])
{
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

inline float horizontalSum(__m256 v)
{
    const __m128 folded = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 pairs = _mm_add_ps(folded, _mm_movehl_ps(folded, folded));
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
}

// e^x for x <= 0 (a softmax's e^(score - max)), to ~2e-7 relative, as avx512_common.h's
// expNonPositive: x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to r^6, then
// scaled by 2^n, built in the exponent bits (n >= -126 once x is clamped to -87).
inline __m256 expNonPositive8(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145752f), x);  // ln 2, high bits
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.42860677e-6f), r);       // and the rest
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i twoToN = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(twoToN));
}

// Lanes [0, remaining) of 8, for maskload / maskstore.
inline __m256i tailMask8(std::int64_t remaining)
{
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(remaining < 8 ? remaining : 8)), lanes);
}

// A row of scores into probabilities, in place: max, e^(score - max), sum, scale.
inline void softmaxRow8(float* row, std::int64_t tk)
{
    __m256 top = _mm256_set1_ps(-__builtin_inff());
    for (std::int64_t j = 0; j < tk; j += 8) {
        const __m256i lanes = tailMask8(tk - j);
        top = _mm256_max_ps(top, _mm256_blendv_ps(top, _mm256_maskload_ps(row + j, lanes), _mm256_castsi256_ps(lanes)));
    }
    __m128 folded = _mm_max_ps(_mm256_castps256_ps128(top), _mm256_extractf128_ps(top, 1));
    folded = _mm_max_ps(folded, _mm_movehl_ps(folded, folded));
    folded = _mm_max_ss(folded, _mm_shuffle_ps(folded, folded, 1));
    const __m256 peak = _mm256_set1_ps(_mm_cvtss_f32(folded));
    __m256 sum = _mm256_setzero_ps();
    for (std::int64_t j = 0; j < tk; j += 8) {
        const __m256i lanes = tailMask8(tk - j);
        const __m256 e = _mm256_and_ps(expNonPositive8(_mm256_sub_ps(_mm256_maskload_ps(row + j, lanes), peak)),
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

}  // namespace
}  // namespace querylens::model::kernels
