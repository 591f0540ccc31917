#pragma once
// Loads and math shared by the AVX-512 kernels; include only from files compiled with the AVX-512 flags
// (core/model/CMakeLists.txt).

#include <immintrin.h>

#include <cstdint>

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

}  // namespace
}  // namespace querylens::model::kernels
