#pragma once
// Loads and math shared by the AVX-512 kernels; include only from files compiled with the AVX-512 flags
// (core/model/CMakeLists.txt).

#include <immintrin.h>

#include <cstdint>
#include <limits>

namespace querylens::model::kernels {
namespace {

// 16 weights from `w` + i as floats.
inline __m512 load16(const float* w, std::int64_t i) { return _mm512_loadu_ps(w + i); }
inline __m512 load16(const std::uint16_t* w, std::int64_t i)
{
    const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + i));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}
inline __m512 load16(const std::int8_t* w, std::int64_t i)
{
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + i));
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes));
}
inline float scalar16(const float* w, std::int64_t i) { return w[i]; }
inline float scalar16(const std::uint16_t* w, std::int64_t i)
{
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(int(std::uint32_t(w[i]) << 16))));
}
inline float scalar16(const std::int8_t* w, std::int64_t i) { return float(w[i]); }

// e^x for x <= 0 (GELU's e^(-z^2), a softmax's e^(score - max)), to ~2e-7 relative:
// x = n ln2 + r with |r| <= ln2 / 2, e^r by its Taylor series to r^6, then scaled by 2^n
// (vscalefps).
inline __m512 expNonPositive(__m512 x)
{
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x);  // ln 2, high bits
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), r);       // and the rest
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// Lanes [0, remaining) of 16.
inline __mmask16 tailMask(std::int64_t remaining)
{
    return remaining >= 16 ? __mmask16(0xFFFF) : remaining <= 0 ? __mmask16(0) : __mmask16((1u << remaining) - 1);
}

// A row of scores into probabilities, in place: max, e^(score - max), sum, scale.
inline void softmaxRow(float* row, std::int64_t tk)
{
    __m512 top = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (std::int64_t j = 0; j < tk; j += 16)
        top = _mm512_max_ps(top, _mm512_mask_loadu_ps(top, tailMask(tk - j), row + j));
    const __m512 peak = _mm512_set1_ps(_mm512_reduce_max_ps(top));
    __m512 sum = _mm512_setzero_ps();
    for (std::int64_t j = 0; j < tk; j += 16) {
        const __mmask16 m = tailMask(tk - j);
        const __m512 e = expNonPositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + j), peak));
        sum = _mm512_mask_add_ps(sum, m, sum, e);
        _mm512_mask_storeu_ps(row + j, m, e);
    }
    const __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (std::int64_t j = 0; j < tk; j += 16) {
        const __mmask16 m = tailMask(tk - j);
        _mm512_mask_storeu_ps(row + j, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + j), inverse));
    }
}

// Transposes 16 x 16 32-bit lanes in registers: afterwards r[p] lane i holds what r[i] lane p did.
// Interleaves of 32-bit, then 64-bit elements within each 128-bit lane, then two rounds of
// 128-bit lane shuffles.
inline void transpose16x16(__m512i r[16])
{
    __m512i b[16], c[16];
    for (int j = 0; j < 8; ++j) {
        b[2 * j] = _mm512_unpacklo_epi32(r[2 * j], r[2 * j + 1]);
        b[2 * j + 1] = _mm512_unpackhi_epi32(r[2 * j], r[2 * j + 1]);
    }
    // c[4j + q], 128-bit lane L: column 4L + q of rows 4j ... 4j + 3.
    for (int j = 0; j < 4; ++j) {
        c[4 * j] = _mm512_unpacklo_epi64(b[4 * j], b[4 * j + 2]);
        c[4 * j + 1] = _mm512_unpackhi_epi64(b[4 * j], b[4 * j + 2]);
        c[4 * j + 2] = _mm512_unpacklo_epi64(b[4 * j + 1], b[4 * j + 3]);
        c[4 * j + 3] = _mm512_unpackhi_epi64(b[4 * j + 1], b[4 * j + 3]);
    }
    // Column 4L + q gathers lane L of c[q], c[4 + q], c[8 + q], c[12 + q].
    for (int q = 0; q < 4; ++q) {
        const __m512i d0 = _mm512_shuffle_i32x4(c[q], c[4 + q], 0x88), d1 = _mm512_shuffle_i32x4(c[q], c[4 + q], 0xDD);
        const __m512i d2 = _mm512_shuffle_i32x4(c[8 + q], c[12 + q], 0x88),
                      d3 = _mm512_shuffle_i32x4(c[8 + q], c[12 + q], 0xDD);
        r[q] = _mm512_shuffle_i32x4(d0, d2, 0x88);
        r[8 + q] = _mm512_shuffle_i32x4(d0, d2, 0xDD);
        r[4 + q] = _mm512_shuffle_i32x4(d1, d3, 0x88);
        r[12 + q] = _mm512_shuffle_i32x4(d1, d3, 0xDD);
    }
}


}  // namespace
}  // namespace querylens::model::kernels
