// AVX-512 matrix-vector kernels for decoding (this file alone is compiled with the AVX-512
// flags; gemv.cpp calls it only at the avx512 level and above). The same plan as gemv_avx2.cpp
// with 16-wide vectors: one x row against 4 weight rows (each x vector loaded once for 4 rows),
// 8 independent accumulators, weights widened in registers and the next rows prefetched; and
// for int8 weights the integer dot product of VNNI: x quantised per block of 32, vpdpbusd
// multiplies 64 unsigned x bytes by 64 signed weights and sums groups of 4 into 16 int32 lanes.

#include "model/kernels/avx512_common.h"
#include "model/kernels/gemv.h"

#include <chrono>

namespace querylens::model::kernels {

namespace {

template <typename W>
float dot(const W* w, const float* x, std::int64_t k)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    std::int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
        a0 = _mm512_fmadd_ps(load16(w, i), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(load16(w, i + 16), _mm512_loadu_ps(x + i + 16), a1);
    }
    for (; i + 16 <= k; i += 16)
        a0 = _mm512_fmadd_ps(load16(w, i), _mm512_loadu_ps(x + i), a0);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; i < k; ++i)
        sum += scalar16(w, i) * x[i];
    return sum;
}

// 2 weight rows x MC rows of x: each weight vector widened once and used MC times.
template <int MC, typename W>
void tile(const GemvArguments& a, const W* w0, const W* w1, std::int64_t row, std::int64_t m0)
{
    const std::int64_t k = a.k;
    __m512 acc0[MC], acc1[MC];
#pragma GCC unroll 8
    for (int j = 0; j < MC; ++j)
        acc0[j] = acc1[j] = _mm512_setzero_ps();
    const char* next = reinterpret_cast<const char*>(w0 + 2 * k);
    std::int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        if constexpr (sizeof(W) < 4)
            _mm_prefetch(next + i * 2 * std::int64_t(sizeof(W)), _MM_HINT_T0);
        const __m512 v0 = load16(w0, i), v1 = load16(w1, i);
#pragma GCC unroll 8
        for (int j = 0; j < MC; ++j) {
            const __m512 xv = _mm512_loadu_ps(a.x + (m0 + j) * k + i);
            acc0[j] = _mm512_fmadd_ps(v0, xv, acc0[j]);
            acc1[j] = _mm512_fmadd_ps(v1, xv, acc1[j]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < MC; ++j) {
        const float* x = a.x + (m0 + j) * k;
        float s0 = _mm512_reduce_add_ps(acc0[j]), s1 = _mm512_reduce_add_ps(acc1[j]);
        for (std::int64_t t = i; t < k; ++t) {
            s0 += scalar16(w0, t) * x[t];
            s1 += scalar16(w1, t) * x[t];
        }
        if (a.scales) {
            s0 *= a.scales[row];
            s1 *= a.scales[row + 1];
        }
        a.y[(m0 + j) * a.n + row] = s0 + (a.bias ? a.bias[row] : 0.0f);
        a.y[(m0 + j) * a.n + row + 1] = s1 + (a.bias ? a.bias[row + 1] : 0.0f);
    }
}

// One x row against 4 weight rows; two accumulators per row cover the FMA latency.
template <typename W>
void fourRows(const GemvArguments& a, const W* w0, std::int64_t row)
{
    const std::int64_t k = a.k;
    const W* w[4] = {w0, w0 + k, w0 + 2 * k, w0 + 3 * k};
    const float* x = a.x;
    __m512 p[4], q[4];
    for (int r = 0; r < 4; ++r)
        p[r] = q[r] = _mm512_setzero_ps();
    // The next 4 rows follow these in memory: fetch them as these are consumed, as many bytes
    // per step as the step reads (bf16 and int8 rows are short; see gemv_avx2.cpp).
    const char* next = reinterpret_cast<const char*>(w0 + 4 * k);
    constexpr int kStepBytes = 4 * 32 * int(sizeof(W));
    std::int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
        if constexpr (sizeof(W) < 4) {
            for (int b = 0; b < kStepBytes; b += 64)
                _mm_prefetch(next + i * 4 * std::int64_t(sizeof(W)) + b, _MM_HINT_T0);
        }
        const __m512 xa = _mm512_loadu_ps(x + i), xb = _mm512_loadu_ps(x + i + 16);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
            p[r] = _mm512_fmadd_ps(load16(w[r], i), xa, p[r]);
            q[r] = _mm512_fmadd_ps(load16(w[r], i + 16), xb, q[r]);
        }
    }
    for (; i + 16 <= k; i += 16) {
        const __m512 xa = _mm512_loadu_ps(x + i);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r)
            p[r] = _mm512_fmadd_ps(load16(w[r], i), xa, p[r]);
    }
    for (int r = 0; r < 4; ++r) {
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(p[r], q[r]));
        for (std::int64_t t = i; t < k; ++t)
            sum += scalar16(w[r], t) * x[t];
        if (a.scales)
            sum *= a.scales[row + r];
        a.y[row + r] = sum + (a.bias ? a.bias[row + r] : 0.0f);
    }
}

template <typename W>
void rows(const GemvArguments& a, const W* weight, std::int64_t rowBegin, std::int64_t rowEnd)
{
    if (a.m == 1) {
        for (; rowBegin + 4 <= rowEnd; rowBegin += 4)
            fourRows(a, weight + rowBegin * a.k, rowBegin);
    } else {
        std::int64_t row = rowBegin;
        for (; row + 2 <= rowEnd; row += 2) {
            const W* w0 = weight + row * a.k;
            const W* w1 = w0 + a.k;
            std::int64_t m0 = 0;
            for (; m0 + 4 <= a.m; m0 += 4)
                tile<4>(a, w0, w1, row, m0);
            switch (a.m - m0) {
            case 3: tile<3>(a, w0, w1, row, m0); break;
            case 2: tile<2>(a, w0, w1, row, m0); break;
            case 1: tile<1>(a, w0, w1, row, m0); break;
            default: break;
            }
        }
        rowBegin = row;
    }
    for (std::int64_t row = rowBegin; row < rowEnd; ++row) {
        const W* w = weight + row * a.k;
        for (std::int64_t m = 0; m < a.m; ++m) {
            float sum = dot(w, a.x + m * a.k, a.k);
            if (a.scales)
                sum *= a.scales[row];
            a.y[m * a.n + row] = sum + (a.bias ? a.bias[row] : 0.0f);
        }
    }
}

// R int8 weight rows against one quantised x row. Per 64 columns (two blocks of 32): the x
// bytes' magnitudes (unsigned, as vpdpbusd wants) against the weights with x's signs moved onto
// them, into 16 int32 lanes (lanes 0-7: the first block, 8-15: the second), converted and
// scaled by the blocks' x scales into float accumulators.
template <int R>
void int8Rows(const GemvArguments& a, const QuantizedRows& q, std::int64_t m, std::int64_t row)
{
    const std::int64_t k = a.k;
    const std::int8_t* xq = q.values.data() + m * q.stride;
    const float* xs = q.scales.data() + m * (q.stride / 32);
    const std::int8_t* w[R];
    for (int r = 0; r < R; ++r)
        w[r] = static_cast<const std::int8_t*>(a.weight) + (row + r) * k;
    __m512 acc[R];
    for (int r = 0; r < R; ++r)
        acc[r] = _mm512_setzero_ps();
    const char* next = reinterpret_cast<const char*>(w[0] + R * k);
    const __m512i zero = _mm512_setzero_si512();
    for (std::int64_t i = 0; i < k; i += 64) {
        // The weight rows are not padded: the last step loads only what is there (x is zero past k).
        const __mmask64 valid = k - i >= 64 ? ~__mmask64(0) : (__mmask64(1) << (k - i)) - 1;
        for (int b = 0; b < R * 64; b += 64)
            _mm_prefetch(next + i * R + b, _MM_HINT_T0);
        const __m512i x = _mm512_loadu_si512(xq + i);
        const __mmask64 negative = _mm512_movepi8_mask(x);
        const __m512i magnitude = _mm512_abs_epi8(x);
        const __m512 scale = _mm512_insertf32x8(_mm512_set1_ps(xs[i / 32]), _mm256_set1_ps(xs[i / 32 + 1]), 1);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const __m512i wv = _mm512_maskz_loadu_epi8(valid, w[r] + i);
            const __m512i signedW = _mm512_mask_sub_epi8(wv, negative, zero, wv);
            const __m512i sums = _mm512_dpbusd_epi32(zero, magnitude, signedW);
            acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sums), scale, acc[r]);
        }
    }
    for (int r = 0; r < R; ++r) {
        const float sum = _mm512_reduce_add_ps(acc[r]) * a.scales[row + r];
        a.y[m * a.n + row + r] = sum + (a.bias ? a.bias[row + r] : 0.0f);
    }
}

}  // namespace

void gemvRowsAvx512(const GemvArguments& a, std::int64_t rowBegin, std::int64_t rowEnd)
{
    if (a.type == WeightType::BFloat16)
        rows(a, static_cast<const std::uint16_t*>(a.weight), rowBegin, rowEnd);
    else
        rows(a, static_cast<const float*>(a.weight), rowBegin, rowEnd);
}

void gemvInt8RowsAvx512(const GemvArguments& a, const QuantizedRows& q, std::int64_t rowBegin, std::int64_t rowEnd)
{
    // 4 weight rows at a time for one x row (each x vector prepared once for 4 rows); with more
    // x rows, 2 weight rows (kept in L1) against each x row in turn.
    if (a.m == 1) {
        std::int64_t row = rowBegin;
        for (; row + 4 <= rowEnd; row += 4)
            int8Rows<4>(a, q, 0, row);
        for (; row < rowEnd; ++row)
            int8Rows<1>(a, q, 0, row);
        return;
    }
    std::int64_t row = rowBegin;
    for (; row + 2 <= rowEnd; row += 2)
        for (std::int64_t m = 0; m < a.m; ++m)
            int8Rows<2>(a, q, m, row);
    for (; row < rowEnd; ++row)
        for (std::int64_t m = 0; m < a.m; ++m)
            int8Rows<1>(a, q, m, row);
}

double fmaPeakGflopsAvx512(std::int64_t iterations)
{
    // 12 independent chains: enough to cover the FMA latency on every core that has AVX-512.
    __m512 acc[12];
    for (int i = 0; i < 12; ++i)
        acc[i] = _mm512_set1_ps(float(i));
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-6f);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i)
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    __m512 sum = acc[0];
    for (int i = 1; i < 12; ++i)
        sum = _mm512_add_ps(sum, acc[i]);
    volatile float sink = _mm512_reduce_add_ps(sum);
    (void)sink;
    return 2.0 * 16 * 12 * double(iterations) / seconds / 1e9;
}

}  // namespace querylens::model::kernels
