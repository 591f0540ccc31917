#pragma once
// The register tiles both fused attention heads use (attention_avx512.cpp in float32,
// attention_avx512bf16.cpp with bf16 products): 4 query rows x 64 keys for the scores (16
// accumulators), 4 rows x 96 columns for the context (24); k and v padded to whole vectors.

#include <cstdint>

namespace querylens::model::kernels::attention_tiles {

constexpr int kRows = 4;           // query rows per register tile
constexpr int kScoreChunks = 4;    // 4 x 16 keys per score tile
constexpr int kContextChunks = 6;  // 6 x 16 columns per context tile

inline std::int64_t padded(std::int64_t n) { return (n + 15) / 16 * 16; }

}  // namespace querylens::model::kernels::attention_tiles
