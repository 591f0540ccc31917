#pragma once
// The register tiles both AVX-512 fused attention heads use (attention_avx512.cpp in float32,
// attention_avx512bf16.cpp with bf16 products): 4 query rows x 64 keys for the scores (16
// accumulators), 4 rows x 96 columns for the context (24); k and v padded to whole vectors.

#include "model/kernels/attention_head.h"

#include <algorithm>
#include <cstdint>

namespace querylens::model::kernels::attention_tiles {

constexpr int kRows = 4;           // query rows per register tile
constexpr int kScoreChunks = 4;    // 4 x 16 keys per score tile
constexpr int kContextChunks = 6;  // 6 x 16 columns per context tile

inline std::int64_t padded(std::int64_t n) { return (n + 15) / 16 * 16; }

// The float32 heads' packing (the AVX2 one's too, with its own padding): k transposed into kt
// [d][tkPad] and v copied into vp [tk][dPad], both zero past the real keys and columns.
inline void packKeysAndValues(const AttentionHeadArguments& a, std::int64_t tkPad, std::int64_t dPad, float* kt, float* vp)
{
    for (std::int64_t p = 0; p < a.d; ++p) {
        float* line = kt + p * tkPad;
        for (std::int64_t j = 0; j < a.tk; ++j)
            line[j] = a.k[j * a.kStride + p];
        std::fill(line + a.tk, line + tkPad, 0.0f);
    }
    for (std::int64_t j = 0; j < a.tk; ++j) {
        std::copy(a.v + j * a.vStride, a.v + j * a.vStride + a.d, vp + j * dPad);
        std::fill(vp + j * dPad + a.d, vp + (j + 1) * dPad, 0.0f);
    }
}

}  // namespace querylens::model::kernels::attention_tiles
