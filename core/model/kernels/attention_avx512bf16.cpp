// One attention head with bfloat16 products (vdpbf16ps), for models the user runs in bf16
// (compiled with the AVX-512 and AVX512_BF16 flags; called at the avx512bf16 level). The same
// three steps as the float32 head (attention_avx512.cpp), with q, k, v and the probabilities
// rounded to bf16 (nearest even) for the two products, as eager PyTorch runs a bf16 model's
// attention; scores, softmax and sums stay float32:
//  1. scores: k rounded and transposed into pairs, kt [d/2][tk padded to 16] (lane j holds
//     (k[j][2p], k[j][2p + 1]), 16 x 16 transposes in registers), then 4 query rows x 64 keys
//     of register tiles over the pairs of d: each vdpbf16ps adds two products per lane, twice
//     the float32 FMA's work;
//  2. softmax of each row in place, in float32 (the probabilities handed back are these);
//  3. context: v packed into pairs of keys, vp [tk/2][d padded to 16] (lane c holds
//     (v[2p][c], v[2p + 1][c])), the 4 rows of probabilities rounded to pairs, then 4 rows x 96
//     columns of tiles over the pairs of keys.
// Odd d and odd tk end in a pair whose second half is 0.

#include "model/kernels/attention_head.h"
#include "model/kernels/attention_tiles.h"
#include "model/kernels/avx512_common.h"

#include <immintrin.h>

#include <algorithm>

namespace querylens::model::kernels {

namespace {

using namespace attention_tiles;

std::int64_t pairsOf(std::int64_t n) { return (n + 1) / 2; }

// The bf16 pairs of 32 floats from `from` (those past `left` read as 0), in order: lane L holds
// (from[2L], from[2L + 1]).
inline __m512i pairs32(const float* from, std::int64_t left)
{
    return (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(tailMask(left - 16), from + 16),
                                        _mm512_maskz_loadu_ps(tailMask(left), from));
}

// out[p] = (row[2p], row[2p + 1]) rounded, for p < pairsOf(n).
void rowToPairs(const float* row, std::int64_t n, std::uint32_t* out)
{
    for (std::int64_t i = 0; i < n; i += 32)
        _mm512_mask_storeu_epi32(out + i / 2, tailMask(pairsOf(n - i)), pairs32(row + i, n - i));
}

// kt [pairsOf(d)][tkPad]: lane j of pair p holds (k[j][2p], k[j][2p + 1]); keys past tk are 0.
void packKeys(const AttentionHeadArguments& a, std::int64_t tkPad, std::uint32_t* kt)
{
    const std::int64_t dPairs = pairsOf(a.d);
    for (std::int64_t j0 = 0; j0 < tkPad; j0 += 16)
        for (std::int64_t p0 = 0; p0 < dPairs; p0 += 16) {
            __m512i lanes[16];
            for (int i = 0; i < 16; ++i)
                lanes[i] = j0 + i < a.tk ? pairs32(a.k + (j0 + i) * a.kStride + 2 * p0, a.d - 2 * p0) : _mm512_setzero_si512();
            transpose16x16(lanes);
            const int count = int(std::min<std::int64_t>(16, dPairs - p0));
            for (int p = 0; p < count; ++p)
                _mm512_storeu_si512(kt + (p0 + p) * tkPad + j0, lanes[p]);
        }
}

// vp [pairsOf(tk)][dPad]: lane c of key pair p holds (v[2p][c], v[2p + 1][c]); columns past d
// and the key past an odd tk are 0.
void packValues(const AttentionHeadArguments& a, std::int64_t dPad, std::uint32_t* vp)
{
    // After vcvtne2ps2bf16 the 32 halves are [v[2p][c0..c0+15], v[2p+1][c0..c0+15]]: this
    // permutation interleaves them into pairs.
    alignas(64) static constexpr std::uint16_t kOrder[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                                             8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i interleave = _mm512_load_si512(kOrder);
    for (std::int64_t p = 0; p < pairsOf(a.tk); ++p) {
        const float* first = a.v + 2 * p * a.vStride;
        const bool second = 2 * p + 1 < a.tk;
        for (std::int64_t c0 = 0; c0 < dPad; c0 += 16) {
            const __mmask16 m = tailMask(a.d - c0);
            const __m512 low = _mm512_maskz_loadu_ps(m, first + c0);
            const __m512 high = second ? _mm512_maskz_loadu_ps(m, first + a.vStride + c0) : _mm512_setzero_ps();
            const __m512i halves = (__m512i)_mm512_cvtne2ps_pbh(high, low);
            _mm512_storeu_si512(vp + p * dPad + c0, _mm512_permutexvar_epi16(interleave, halves));
        }
    }
}

// acc[r][c] = sum over pairs p < count of rows[r][p] . packed[p][c0 + 16 c], the pair's two
// products added into float32 lanes.
template <int C, int ChunkCapacity>
void pairTile(const std::uint32_t* const rows[kRows], const std::uint32_t* packed, std::int64_t stride,
              std::int64_t count, std::int64_t c0, __m512 acc[kRows][ChunkCapacity])
{
    for (int r = 0; r < kRows; ++r)
        for (int c = 0; c < C; ++c)
            acc[r][c] = _mm512_setzero_ps();
    for (std::int64_t p = 0; p < count; ++p) {
        const std::uint32_t* line = packed + p * stride + c0;
        __m512bh b[C];
        for (int c = 0; c < C; ++c)
            b[c] = (__m512bh)_mm512_loadu_si512(line + 16 * c);
        for (int r = 0; r < kRows; ++r) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32(int(rows[r][p]));
            for (int c = 0; c < C; ++c)
                acc[r][c] = _mm512_dpbf16_ps(acc[r][c], x, b[c]);
        }
    }
}

template <int Capacity>
void pairTileOf(int chunks, const std::uint32_t* const rows[kRows], const std::uint32_t* packed, std::int64_t stride,
                std::int64_t count, std::int64_t c0, __m512 acc[kRows][Capacity])
{
    switch (chunks) {
    case 1: pairTile<1, Capacity>(rows, packed, stride, count, c0, acc); break;
    case 2: pairTile<2, Capacity>(rows, packed, stride, count, c0, acc); break;
    case 3: pairTile<3, Capacity>(rows, packed, stride, count, c0, acc); break;
    case 4: pairTile<4, Capacity>(rows, packed, stride, count, c0, acc); break;
    case 5: if constexpr (Capacity >= 5) pairTile<5, Capacity>(rows, packed, stride, count, c0, acc); break;
    default: if constexpr (Capacity >= 6) pairTile<6, Capacity>(rows, packed, stride, count, c0, acc); break;
    }
}

}  // namespace

std::int64_t attentionHeadBf16ScratchFloats(std::int64_t tk, std::int64_t d)
{
    return pairsOf(d) * padded(tk) + pairsOf(tk) * padded(d) + kRows * (pairsOf(d) + pairsOf(tk));
}

void attentionHeadAvx512Bf16(const AttentionHeadArguments& a, float* scratch)
{
    const std::int64_t tkPad = padded(a.tk), dPad = padded(a.d), dPairs = pairsOf(a.d), tkPairs = pairsOf(a.tk);
    auto* kt = reinterpret_cast<std::uint32_t*>(scratch);  // [dPairs][tkPad]
    std::uint32_t* vp = kt + dPairs * tkPad;                 // [tkPairs][dPad]
    std::uint32_t* qp = vp + tkPairs * dPad;                 // [kRows][dPairs]: the tile's queries
    std::uint32_t* pp = qp + kRows * dPairs;                 // [kRows][tkPairs]: its probabilities
    packKeys(a, tkPad, kt);
    packValues(a, dPad, vp);
    const __m512 scale = _mm512_set1_ps(a.scale);

    for (std::int64_t i0 = 0; i0 < a.tq; i0 += kRows) {
        const int real = int(std::min<std::int64_t>(kRows, a.tq - i0));
        // Rows past the end repeat the last real one; their results are not stored.
        const std::uint32_t* queries[kRows];
        const std::uint32_t* probabilities[kRows];
        for (int r = 0; r < kRows; ++r) {
            if (r < real)
                rowToPairs(a.q + (i0 + r) * a.qStride, a.d, qp + r * dPairs);
            queries[r] = qp + std::min(r, real - 1) * dPairs;
            probabilities[r] = pp + std::min(r, real - 1) * tkPairs;
        }

        // 1. scores, scaled, into the probabilities' rows
        __m512 acc[kRows][kScoreChunks];
        for (std::int64_t j0 = 0; j0 < a.tk; j0 += 16 * kScoreChunks) {
            const int chunks = int(std::min<std::int64_t>(kScoreChunks, (a.tk - j0 + 15) / 16));
            pairTileOf<kScoreChunks>(chunks, queries, kt, tkPad, dPairs, j0, acc);
            for (int r = 0; r < real; ++r)
                for (int c = 0; c < chunks; ++c) {
                    const std::int64_t j = j0 + 16 * c;
                    _mm512_mask_storeu_ps(a.probabilities + (i0 + r) * a.tk + j, tailMask(a.tk - j),
                                          _mm512_mul_ps(acc[r][c], scale));
                }
        }
        // 2. softmax, then the rows rounded to pairs of keys
        for (int r = 0; r < real; ++r) {
            float* row = a.probabilities + (i0 + r) * a.tk;
            softmaxRow(row, a.tk);
            rowToPairs(row, a.tk, pp + r * tkPairs);
        }
        // 3. context
        __m512 out[kRows][kContextChunks];
        for (std::int64_t d0 = 0; d0 < a.d; d0 += 16 * kContextChunks) {
            const int chunks = int(std::min<std::int64_t>(kContextChunks, (a.d - d0 + 15) / 16));
            pairTileOf<kContextChunks>(chunks, probabilities, vp, dPad, tkPairs, d0, out);
            for (int r = 0; r < real; ++r)
                for (int c = 0; c < chunks; ++c) {
                    const std::int64_t col = d0 + 16 * c;
                    _mm512_mask_storeu_ps(a.context + (i0 + r) * a.contextStride + col, tailMask(a.d - col), out[r][c]);
                }
        }
    }
}

}  // namespace querylens::model::kernels
