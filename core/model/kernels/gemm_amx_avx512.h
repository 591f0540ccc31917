#pragma once
// The vector parts of the AMX product (gemm_amx_tiles.h) in AVX-512: x rounded to bf16 and packed
// pair-interleaved, and the C tiles transposed into y with the epilogue. Include only from files
// compiled with the AVX-512 and AVX512_BF16 flags: gemm_amx.cpp (with the tile instructions) and
// the test that runs them against the software model of the tiles on AVX-512 CPUs without AMX.

#include "model/kernels/avx512_common.h"
#include "model/kernels/bf16_gemm_avx512.h"
#include "model/kernels/gemm_amx_tiles.h"

namespace querylens::model::kernels::amx {

struct Avx512Helpers {
    // packed[b][p][r] = (x[16b + r][2p], x[16b + r][2p + 1]) rounded to nearest even, for blocks
    // [blockBegin, blockEnd); rows past m, the column past an odd k and the padding pairs are 0.
    static void packRows(const float* x, std::int64_t m, std::int64_t k, std::int64_t blockBegin, std::int64_t blockEnd,
                         std::uint32_t* packed)
    {
        const std::int64_t pairs = paddedPairs(k);
        for (std::int64_t b = blockBegin; b < blockEnd; ++b) {
            std::uint32_t* out = packed + b * pairs * kBlock;
            // 16 pairs (32 columns) of the block's 16 rows a step, transposed in registers so
            // that each pair's 16 rows are one 64-byte store: one row of the B tile.
            for (std::int64_t p0 = 0; p0 < pairs; p0 += kPairsPerStep) {
                __m512i lanes[16];
                bf16PairsOfRows(x, m, k, b * kBlock, kBlock, p0, lanes);
                for (int p = 0; p < kPairsPerStep; ++p)
                    _mm512_storeu_si512(out + (p0 + p) * kBlock, lanes[p]);
            }
        }
    }

    // c[o][r] (a stored C tile: 16 outputs x 16 rows of x) into y[m0 + r][out0 + o] for
    // o < outputs, r < rows, with the bias, activation and residual.
    static void writeOutputs(const GemvArguments& a, const float* c, std::int64_t out0, int outputs, std::int64_t m0,
                             int rows)
    {
        __m512i lanes[16];
        for (int o = 0; o < kBlock; ++o)
            lanes[o] = _mm512_load_si512(c + o * kBlock);
        transpose16x16(lanes);
        const __mmask16 mask = tailMask(outputs);
        const __m512 bias = a.bias ? _mm512_maskz_loadu_ps(mask, a.bias + out0) : _mm512_setzero_ps();
        for (int r = 0; r < rows; ++r)
            storeOutputs(a, _mm512_castsi512_ps(lanes[r]), bias, m0 + r, out0, mask);
    }
};

}  // namespace querylens::model::kernels::amx
