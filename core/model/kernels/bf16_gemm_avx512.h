#pragma once
// What the bf16 GEMMs (avx512bf16, amx) share: x rounded to bf16 and transposed into pairs as
// both pack it, and the epilogue they apply in registers as they write each output (bias, exact
// GELU, residual). Include only from files compiled with the AVX-512 and AVX512_BF16 flags.

#include "model/kernels/avx512_common.h"
#include "model/kernels/gemv.h"

namespace querylens::model::kernels {
namespace {

// Pairs [p0, p0 + 16) of rows [row0, row0 + rows) of x [m][k], each row rounded to nearest even
// (vcvtne2ps2bf16), then transposed in registers: lanes[p] lane i = (x[row0 + i][2(p0 + p)],
// x[row0 + i][2(p0 + p) + 1]). Rows past `rows` or m, and columns past k, are 0. A pair's rows
// are then one contiguous store (one scattered 4-byte store per value cost ~4 % of an encode).
inline void bf16PairsOfRows(const float* x, std::int64_t m, std::int64_t k, std::int64_t row0, int rows,
                            std::int64_t p0, __m512i lanes[16])
{
    const std::int64_t left = k - 2 * p0;
    const __mmask16 low = tailMask(left), high = tailMask(left - 16);
    for (int i = 0; i < 16; ++i) {
        const std::int64_t r = row0 + i;
        if (i >= rows || r >= m || left <= 0) {
            lanes[i] = _mm512_setzero_si512();
            continue;
        }
        const float* from = x + r * k + 2 * p0;
        lanes[i] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(high, from + 16), _mm512_maskz_loadu_ps(low, from));
    }
    transpose16x16(lanes);
}

// Exact (erf) GELU, x/2 (1 + erf(x / sqrt 2)), with erfc(z) = t P(t) e^(-z^2), t = 1 / (1 + p z)
// (Abramowitz & Stegun 7.1.26, absolute error <= 1.5e-7: the form libtorch's vectorised erf
// uses). For x < 0, 1 + erf(-z) is erfc(z) itself, so small negative outputs lose nothing to
// cancellation.
inline __m512 gelu(__m512 x)
{
    const __m512 z = _mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(0.707106781f));
    const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(z, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
    __m512 poly = _mm512_set1_ps(1.061405429f);
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-1.453152027f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(1.421413741f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(-0.284496736f));
    poly = _mm512_fmadd_ps(poly, t, _mm512_set1_ps(0.254829592f));
    const __m512 erfc = _mm512_mul_ps(_mm512_mul_ps(poly, t), expNonPositive(_mm512_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), z), z)));
    const __mmask16 negative = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 onePlusErf = _mm512_mask_blend_ps(negative, _mm512_sub_ps(_mm512_set1_ps(2.0f), erfc), erfc);
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), onePlusErf);
}

// The sums of one x row for 16 outputs, with the epilogue: bias, activation, residual.
inline void storeOutputs(const GemvArguments& a, __m512 sums, __m512 bias, std::int64_t row, std::int64_t column,
                         __mmask16 mask)
{
    __m512 v = _mm512_add_ps(sums, bias);
    if (a.activation == GemmActivation::Gelu)
        v = gelu(v);
    if (a.residual)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, a.residual + row * a.n + column));
    _mm512_mask_storeu_ps(a.y + row * a.n + column, mask, v);
}

}  // namespace
}  // namespace querylens::model::kernels
