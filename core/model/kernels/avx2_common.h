#pragma once
// Loads shared by the AVX2 kernels; include only from files compiled with -mavx2 -mfma.

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

inline float horizontalSum(__m256 v)
{
    const __m128 folded = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 pairs = _mm_add_ps(folded, _mm_movehl_ps(folded, folded));
    return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps(pairs, pairs, 1)));
}

}  // namespace
}  // namespace querylens::model::kernels
