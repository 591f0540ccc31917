// One attention head in float32 with AVX-512 F (compiled with -mavx512f ...; called only at
// that level). Three steps, each from L1/L2:
//  1. scores: k transposed into [d][tk padded to 16] once, then 4 query rows x 64 keys of
//     register tiles (16 zmm accumulators) over d; scaled and stored into the probabilities;
//  2. softmax of each row in place (max, expNonPositive, sum, scale);
//  3. context: v packed into [tk][d padded to 16], then 4 rows x 96 columns of tiles (24 zmm)
//     over the keys.
// Row tails (257 = 64 x 4 + 1) run the 4-row tile on copies of the last row and store only the
// real ones; column tails are masked.

#include "model/kernels/attention_head.h"
#include "model/kernels/attention_tiles.h"
#include "model/kernels/avx512_common.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace querylens::model::kernels {

namespace {

using namespace attention_tiles;


// Scores of 4 query rows (`rows` pointers) against keys [j0, j0 + 16 C) from kt [d][tkPad].
template <int C>
void scoreTile(const float* const rows[kRows], const float* kt, std::int64_t tkPad, std::int64_t d, std::int64_t j0,
               __m512 acc[kRows][kScoreChunks])
{
    for (int r = 0; r < kRows; ++r)
        for (int c = 0; c < C; ++c)
            acc[r][c] = _mm512_setzero_ps();
    for (std::int64_t p = 0; p < d; ++p) {
        const float* line = kt + p * tkPad + j0;
        __m512 b[C];
        for (int c = 0; c < C; ++c)
            b[c] = _mm512_loadu_ps(line + 16 * c);
        for (int r = 0; r < kRows; ++r) {
            const __m512 a = _mm512_set1_ps(rows[r][p]);
            for (int c = 0; c < C; ++c)
                acc[r][c] = _mm512_fmadd_ps(a, b[c], acc[r][c]);
        }
    }
}

// Context columns [d0, d0 + 16 C) of 4 rows of probabilities (`rows`) times vp [tk][dPad].
template <int C>
void contextTile(const float* const rows[kRows], const float* vp, std::int64_t dPad, std::int64_t tk, std::int64_t d0,
                 __m512 acc[kRows][kContextChunks])
{
    for (int r = 0; r < kRows; ++r)
        for (int c = 0; c < C; ++c)
            acc[r][c] = _mm512_setzero_ps();
    for (std::int64_t j = 0; j < tk; ++j) {
        const float* line = vp + j * dPad + d0;
        __m512 b[C];
        for (int c = 0; c < C; ++c)
            b[c] = _mm512_loadu_ps(line + 16 * c);
        for (int r = 0; r < kRows; ++r) {
            const __m512 a = _mm512_set1_ps(rows[r][j]);
            for (int c = 0; c < C; ++c)
                acc[r][c] = _mm512_fmadd_ps(a, b[c], acc[r][c]);
        }
    }
}

}  // namespace

std::int64_t attentionHeadScratchFloats(std::int64_t tk, std::int64_t d)
{
    return std::max(d * padded(tk) + tk * padded(d), attentionHeadBf16ScratchFloats(tk, d));
}

void attentionHeadAvx512(const AttentionHeadArguments& a, float* scratch)
{
    const std::int64_t tkPad = padded(a.tk), dPad = padded(a.d);
    float* kt = scratch;                // [d][tkPad], zero past tk
    float* vp = scratch + a.d * tkPad;  // [tk][dPad], zero past d
    packKeysAndValues(a, tkPad, dPad, kt, vp);
    const __m512 scale = _mm512_set1_ps(a.scale);

    for (std::int64_t i0 = 0; i0 < a.tq; i0 += kRows) {
        const int real = int(std::min<std::int64_t>(kRows, a.tq - i0));
        // Rows past the end repeat the last real one; their results are not stored.
        const float* queries[kRows];
        const float* probabilityRows[kRows];
        for (int r = 0; r < kRows; ++r) {
            const std::int64_t i = i0 + std::min(r, real - 1);
            queries[r] = a.q + i * a.qStride;
            probabilityRows[r] = a.probabilities + i * a.tk;
        }

        // 1. scores, scaled, into the probabilities' rows
        __m512 acc[kRows][kScoreChunks];
        for (std::int64_t j0 = 0; j0 < a.tk; j0 += 16 * kScoreChunks) {
            const int chunks = int(std::min<std::int64_t>(kScoreChunks, (a.tk - j0 + 15) / 16));
            switch (chunks) {
            case 1: scoreTile<1>(queries, kt, tkPad, a.d, j0, acc); break;
            case 2: scoreTile<2>(queries, kt, tkPad, a.d, j0, acc); break;
            case 3: scoreTile<3>(queries, kt, tkPad, a.d, j0, acc); break;
            default: scoreTile<4>(queries, kt, tkPad, a.d, j0, acc); break;
            }
            for (int r = 0; r < real; ++r)
                for (int c = 0; c < chunks; ++c) {
                    const std::int64_t j = j0 + 16 * c;
                    _mm512_mask_storeu_ps(a.probabilities + (i0 + r) * a.tk + j, tailMask(a.tk - j),
                                          _mm512_mul_ps(acc[r][c], scale));
                }
        }
        // 2. softmax
        for (int r = 0; r < real; ++r)
            softmaxRow(a.probabilities + (i0 + r) * a.tk, a.tk);
        // 3. context
        __m512 out[kRows][kContextChunks];
        for (std::int64_t d0 = 0; d0 < a.d; d0 += 16 * kContextChunks) {
            const int chunks = int(std::min<std::int64_t>(kContextChunks, (a.d - d0 + 15) / 16));
            switch (chunks) {
            case 1: contextTile<1>(probabilityRows, vp, dPad, a.tk, d0, out); break;
            case 2: contextTile<2>(probabilityRows, vp, dPad, a.tk, d0, out); break;
            case 3: contextTile<3>(probabilityRows, vp, dPad, a.tk, d0, out); break;
            case 4: contextTile<4>(probabilityRows, vp, dPad, a.tk, d0, out); break;
            case 5: contextTile<5>(probabilityRows, vp, dPad, a.tk, d0, out); break;
            default: contextTile<6>(probabilityRows, vp, dPad, a.tk, d0, out); break;
            }
            for (int r = 0; r < real; ++r)
                for (int c = 0; c < chunks; ++c) {
                    const std::int64_t col = d0 + 16 * c;
                    _mm512_mask_storeu_ps(a.context + (i0 + r) * a.contextStride + col, tailMask(a.d - col), out[r][c]);
                }
        }
    }
}

}  // namespace querylens::model::kernels
