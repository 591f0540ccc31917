#pragma once
// Loads shared by the AVX-512 kernels; include only from files compiled with the AVX-512 flags
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

}  // namespace
}  // namespace querylens::model::kernels
