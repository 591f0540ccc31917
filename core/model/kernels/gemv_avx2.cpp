// AVX2 + FMA matrix-vector kernels (this file and gemm_avx2.cpp are compiled with -mavx2
// -mfma; gemv.cpp calls them at the avx2 level and above). Decoding reads every weight once per token, so the
// loops are written to stream weights at memory speed: one x row against 4 weight rows at a time
// (each x vector loaded once for 4 rows), 8 independent accumulators (the FMA latency would
// otherwise cap a single chain at ~12 GB/s), weights widened in registers. For int8 weights, the
// integer dot product: x quantised per block of 32, maddubs multiplies 32 unsigned x bytes by 32
// signed weights into int16 pair sums.

#include "model/kernels/avx2_common.h"
#include "model/kernels/gemv.h"

#include <chrono>
#include <cstring>
#include <type_traits>
#include <vector>

namespace querylens::model::kernels {

namespace {

template <typename W>
float dot(const W* w, const float* x, std::int64_t k)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
        a0 = _mm256_fmadd_ps(load8(w, i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(load8(w, i + 8), _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(load8(w, i + 16), _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(load8(w, i + 24), _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= k; i += 8)
        a0 = _mm256_fmadd_ps(load8(w, i), _mm256_loadu_ps(x + i), a0);
    float sum = horizontalSum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < k; ++i)
        sum += scalar(w, i) * x[i];
    return sum;
}

// A register tile of 2 weight rows x MC rows of x: each weight vector is loaded (and widened)
// once and used MC times, each x vector loaded once and used twice; 2*MC accumulators.
template <int MC, typename W>
void tile(const GemvArguments& a, const W* w0, const W* w1, std::int64_t row, std::int64_t m0)
{
    const std::int64_t k = a.k;
    __m256 acc0[MC], acc1[MC];
    // Fully unrolled loops over the accumulators keep them in registers (else GCC spills them).
#pragma GCC unroll 8
    for (int j = 0; j < MC; ++j)
        acc0[j] = acc1[j] = _mm256_setzero_ps();
    // The next 2 rows follow these in memory: fetch them as these are consumed (see fourRows).
    const char* next = reinterpret_cast<const char*>(w0 + 2 * k);
    std::int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        if constexpr (sizeof(W) < 4)
            _mm_prefetch(next + i * 2 * std::int64_t(sizeof(W)), _MM_HINT_T0);
        const __m256 v0 = load8(w0, i), v1 = load8(w1, i);
#pragma GCC unroll 8
        for (int j = 0; j < MC; ++j) {
            const __m256 xv = _mm256_loadu_ps(a.x + (m0 + j) * k + i);
            acc0[j] = _mm256_fmadd_ps(v0, xv, acc0[j]);
            acc1[j] = _mm256_fmadd_ps(v1, xv, acc1[j]);
        }
    }
#pragma GCC unroll 8
    for (int j = 0; j < MC; ++j) {
        const float* x = a.x + (m0 + j) * k;
        float s0 = horizontalSum(acc0[j]), s1 = horizontalSum(acc1[j]);
        for (std::int64_t t = i; t < k; ++t) {
            s0 += scalar(w0, t) * x[t];
            s1 += scalar(w1, t) * x[t];
        }
        if (a.scales) {
            s0 *= a.scales[row];
            s1 *= a.scales[row + 1];
        }
        a.y[(m0 + j) * a.n + row] = s0 + (a.bias ? a.bias[row] : 0.0f);
        a.y[(m0 + j) * a.n + row + 1] = s1 + (a.bias ? a.bias[row + 1] : 0.0f);
    }
}

// One x row against 4 float32 weight rows at once (bf16 rows take fourRowsBf16, int8 rows
// int8Rows): each x vector is loaded once for 4 rows, which halves the loads per weight against
// a plain dot product; 8 independent accumulators cover the FMA latency.
template <typename W>
void fourRows(const GemvArguments& a, const W* w0, std::int64_t row)
{
    const std::int64_t k = a.k;
    const W* w1 = w0 + k;
    const W* w2 = w1 + k;
    const W* w3 = w2 + k;
    const float* x = a.x;
    __m256 p0 = _mm256_setzero_ps(), p1 = _mm256_setzero_ps(), p2 = _mm256_setzero_ps(), p3 = _mm256_setzero_ps();
    __m256 q0 = _mm256_setzero_ps(), q1 = _mm256_setzero_ps(), q2 = _mm256_setzero_ps(), q3 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        const __m256 xa = _mm256_loadu_ps(x + i), xb = _mm256_loadu_ps(x + i + 8);
        p0 = _mm256_fmadd_ps(load8(w0, i), xa, p0);
        p1 = _mm256_fmadd_ps(load8(w1, i), xa, p1);
        p2 = _mm256_fmadd_ps(load8(w2, i), xa, p2);
        p3 = _mm256_fmadd_ps(load8(w3, i), xa, p3);
        q0 = _mm256_fmadd_ps(load8(w0, i + 8), xb, q0);
        q1 = _mm256_fmadd_ps(load8(w1, i + 8), xb, q1);
        q2 = _mm256_fmadd_ps(load8(w2, i + 8), xb, q2);
        q3 = _mm256_fmadd_ps(load8(w3, i + 8), xb, q3);
    }
    for (; i + 8 <= k; i += 8) {
        const __m256 xa = _mm256_loadu_ps(x + i);
        p0 = _mm256_fmadd_ps(load8(w0, i), xa, p0);
        p1 = _mm256_fmadd_ps(load8(w1, i), xa, p1);
        p2 = _mm256_fmadd_ps(load8(w2, i), xa, p2);
        p3 = _mm256_fmadd_ps(load8(w3, i), xa, p3);
    }
    float sums[4] = {horizontalSum(_mm256_add_ps(p0, q0)), horizontalSum(_mm256_add_ps(p1, q1)),
                     horizontalSum(_mm256_add_ps(p2, q2)), horizontalSum(_mm256_add_ps(p3, q3))};
    const W* ws[4] = {w0, w1, w2, w3};
    for (int r = 0; r < 4; ++r) {
        for (std::int64_t t = i; t < k; ++t)
            sums[r] += scalar(ws[r], t) * x[t];
        if (a.scales)
            sums[r] *= a.scales[row + r];
        a.y[row + r] = sums[r] + (a.bias ? a.bias[row + r] : 0.0f);
    }
}

// fourRows for bf16 weights with half the widening work: a 32-bit lane of two bf16 weights is
// the odd column's float once its low half is masked off, and the even column's once shifted
// left by 16, so 16 weights take one load, one shift and one AND (load8 takes a zero-extension
// and a shift per 8). The x blocks are reordered to match (evenOddBlocksAvx2). From the cache this
// doubles the rate (17 -> 33 GB/s of weights on 2 threads of a Zen 1-class EPYC, whose 128-bit
// units run each 256-bit operation in two halves). No software prefetch of the next rows, unlike
// the bf16 path before it: on that machine it cost 5-15 % of the rate from memory (the hardware
// prefetcher keeps up with these 4 streams).
void fourRowsBf16(const GemvArguments& a, const std::uint16_t* w0, const float* xEvenOdd, std::int64_t row)
{
    const std::int64_t k = a.k;
    const std::uint16_t* w[4] = {w0, w0 + k, w0 + 2 * k, w0 + 3 * k};
    __m256 even[4], odd[4];
    for (int r = 0; r < 4; ++r)
        even[r] = odd[r] = _mm256_setzero_ps();
    const __m256 highHalves = _mm256_castsi256_ps(_mm256_set1_epi32(int(0xFFFF0000u)));
    std::int64_t i = 0;
    for (; i + 16 <= k; i += 16) {
        const __m256 xe = _mm256_loadu_ps(xEvenOdd + i), xo = _mm256_loadu_ps(xEvenOdd + i + 8);
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
            const __m256i pairs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r] + i));
            even[r] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(pairs, 16)), xe, even[r]);
            odd[r] = _mm256_fmadd_ps(_mm256_and_ps(_mm256_castsi256_ps(pairs), highHalves), xo, odd[r]);
        }
    }
    for (int r = 0; r < 4; ++r) {
        float sum = horizontalSum(_mm256_add_ps(even[r], odd[r]));
        for (std::int64_t t = i; t < k; ++t)
            sum += scalar(w[r], t) * a.x[t];
        a.y[row + r] = sum + (a.bias ? a.bias[row + r] : 0.0f);
    }
}

template <typename W>
void rows(const GemvArguments& a, const W* weight, const float* xEvenOdd, std::int64_t rowBegin, std::int64_t rowEnd)
{
    if (a.m == 1) {
        if constexpr (std::is_same_v<W, std::uint16_t>) {
            for (; rowBegin + 4 <= rowEnd; rowBegin += 4)
                fourRowsBf16(a, weight + rowBegin * a.k, xEvenOdd, rowBegin);
        }
        for (; rowBegin + 4 <= rowEnd; rowBegin += 4)
            fourRows(a, weight + rowBegin * a.k, rowBegin);
    } else {
        // Several x rows (a prompt, beams): tiles of 2 weight rows x up to 4 x rows.
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
        rowBegin = row;  // an odd last row goes the single-row way
    }
    for (std::int64_t row = rowBegin; row < rowEnd; ++row) {
        const W* w = weight + row * a.k;
        // For a few x rows the weight row is read from memory once, then from L1.
        for (std::int64_t m = 0; m < a.m; ++m) {
            float sum = dot(w, a.x + m * a.k, a.k);
            if (a.scales)
                sum *= a.scales[row];
            a.y[m * a.n + row] = sum + (a.bias ? a.bias[row] : 0.0f);
        }
    }
}

template <typename W>
void widen(const W* weight, const float* scales, std::int64_t k, std::int64_t rowBegin, std::int64_t rowEnd, float* out)
{
    for (std::int64_t row = rowBegin; row < rowEnd; ++row) {
        const W* w = weight + row * k;
        float* o = out + (row - rowBegin) * k;
        const __m256 scale = _mm256_set1_ps(scales ? scales[row] : 1.0f);
        std::int64_t i = 0;
        for (; i + 8 <= k; i += 8)
            _mm256_storeu_ps(o + i, _mm256_mul_ps(load8(w, i), scale));
        for (; i < k; ++i)
            o[i] = scalar(w, i) * (scales ? scales[row] : 1.0f);
    }
}

// R int8 weight rows against one quantised x row, one block of 32 columns per step: the x
// bytes' magnitudes (unsigned, as maddubs wants) against the weights carrying x's signs; the
// int16 pair sums (at most 2 x 127 x 127, no saturation) widened to int32, converted and
// scaled by the block's x scale into float accumulators.
template <int R>
void int8Rows(const GemvArguments& a, const QuantizedRows& q, std::int64_t m, std::int64_t row)
{
    const std::int64_t k = a.k;
    const std::int8_t* xq = q.values.data() + m * q.stride;
    const float* xs = q.scales.data() + m * (q.stride / 32);
    const std::int8_t* w[R];
    for (int r = 0; r < R; ++r)
        w[r] = static_cast<const std::int8_t*>(a.weight) + (row + r) * k;
    __m256 acc[R];
    for (int r = 0; r < R; ++r)
        acc[r] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    const char* next = reinterpret_cast<const char*>(w[0] + R * k);
    auto block = [&](std::int64_t i, const __m256i* tails) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + i));
        const __m256i magnitude = _mm256_sign_epi8(x, x);
        const __m256 scale = _mm256_set1_ps(xs[i / 32]);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const __m256i wv = tails ? tails[r] : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r] + i));
            const __m256i pairs = _mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(wv, x));
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones)), scale, acc[r]);
        }
    };
    std::int64_t i = 0;
    for (; i + 32 <= k; i += 32) {
        for (int b = 0; b < R * 32; b += 64)
            _mm_prefetch(next + i * R + b, _MM_HINT_T0);
        block(i, nullptr);
    }
    if (i < k) {
        // The weight rows are not padded: copy the last partial block (x is zero past k).
        __m256i tails[R];
        for (int r = 0; r < R; ++r) {
            alignas(32) std::int8_t bytes[32] = {};
            std::memcpy(bytes, w[r] + i, std::size_t(k - i));
            tails[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(bytes));
        }
        block(i, tails);
    }
    for (int r = 0; r < R; ++r) {
        const float sum = horizontalSum(acc[r]) * a.scales[row + r];
        a.y[m * a.n + row + r] = sum + (a.bias ? a.bias[row + r] : 0.0f);
    }
}

}  // namespace

std::vector<float> evenOddBlocksAvx2(const float* x, std::int64_t k)
{
    std::vector<float> reordered(std::size_t(k / 16 * 16));
    for (std::int64_t i = 0; i + 16 <= k; i += 16)
        for (int j = 0; j < 8; ++j) {
            reordered[std::size_t(i + j)] = x[i + 2 * j];
            reordered[std::size_t(i + 8 + j)] = x[i + 2 * j + 1];
        }
    return reordered;
}

void gemvRowsAvx2(const GemvArguments& a, const float* xEvenOdd, std::int64_t rowBegin, std::int64_t rowEnd)
{
    if (a.type == WeightType::BFloat16)
        rows(a, static_cast<const std::uint16_t*>(a.weight), xEvenOdd, rowBegin, rowEnd);
    else
        rows(a, static_cast<const float*>(a.weight), nullptr, rowBegin, rowEnd);
}

float streamSumAvx2(const float* data, std::int64_t count)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 32 <= count; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(data + i));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(data + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(data + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(data + i + 24));
    }
    float sum = horizontalSum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < count; ++i)
        sum += data[i];
    return sum;
}

void dequantizeRowsAvx2(const void* weight, WeightType type, const float* scales, std::int64_t k, std::int64_t rowBegin,
                        std::int64_t rowEnd, float* out)
{
    if (type == WeightType::BFloat16)
        widen(static_cast<const std::uint16_t*>(weight), nullptr, k, rowBegin, rowEnd, out);
    else if (type == WeightType::Int8)
        widen(static_cast<const std::int8_t*>(weight), scales, k, rowBegin, rowEnd, out);
    else
        widen(static_cast<const float*>(weight), nullptr, k, rowBegin, rowEnd, out);
}

void gemvInt8RowsAvx2(const GemvArguments& a, const QuantizedRows& q, std::int64_t rowBegin, std::int64_t rowEnd)
{
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

double fmaPeakGflopsAvx2(std::int64_t iterations)
{
    __m256 acc[12];
    for (int i = 0; i < 12; ++i)
        acc[i] = _mm256_set1_ps(float(i));
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-6f);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i)
            acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    __m256 sum = acc[0];
    for (int i = 1; i < 12; ++i)
        sum = _mm256_add_ps(sum, acc[i]);
    volatile float sink = horizontalSum(sum);
    (void)sink;
    return 2.0 * 8 * 12 * double(iterations) / seconds / 1e9;
}

}  // namespace querylens::model::kernels
