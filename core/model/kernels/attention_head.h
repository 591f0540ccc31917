#pragma once
// One attention head over many query rows (an image's 257 tokens, the Q-Former's queries) in
// float32: probabilities softmax(scale q k^T) and the context probabilities v, in one call with
// everything in L1/L2. libtorch computes each head as two small OpenBLAS products and a softmax,
// which on Zen 4 reach ~0.2 of the fp32 FMA peak at 257 x 257 x 88 (querylens-kernel-bench --only
// attention): the products are too small for OpenBLAS's blocking.

#include <cstdint>

namespace querylens::model::kernels {

struct AttentionHeadArguments {
    const float* q = nullptr;  // [tq, d], rows qStride apart (each row contiguous)
    const float* k = nullptr;  // [tk, d], rows kStride apart
    const float* v = nullptr;  // [tk, d], rows vStride apart
    std::int64_t qStride = 0, kStride = 0, vStride = 0;
    float* probabilities = nullptr;  // [tq, tk] contiguous: written
    float* context = nullptr;        // [tq, d], rows contextStride apart: written
    std::int64_t contextStride = 0;
    std::int64_t tq = 0, tk = 0, d = 0;
    float scale = 1;
};

// Floats of scratch one call of either kernel needs (k transposed and v packed, padded to the
// vector width).
std::int64_t attentionHeadScratchFloats(std::int64_t tk, std::int64_t d);
std::int64_t attentionHeadBf16ScratchFloats(std::int64_t tk, std::int64_t d);  // the bf16 kernel's part

// AVX2 + FMA (attention_avx2.cpp), with a scratch of its own size: call only when activeIsa() >=
// Isa::Avx2.
std::int64_t attentionHeadAvx2ScratchFloats(std::int64_t tk, std::int64_t d);
void attentionHeadAvx2(const AttentionHeadArguments& args, float* scratch);

// AVX-512 F (attention_avx512.cpp): call only when activeIsa() >= Isa::Avx512.
void attentionHeadAvx512(const AttentionHeadArguments& args, float* scratch);

// AVX512_BF16 (attention_avx512bf16.cpp): q, k, v and the probabilities rounded to bfloat16 for
// the two products (the probabilities handed back are the float32 ones); for models run in
// bf16. Call only when activeIsa() >= Isa::Avx512Bf16.
void attentionHeadAvx512Bf16(const AttentionHeadArguments& args, float* scratch);

// A few query rows (a decoded token; the beams' rows) against many keys, in AVX2
// (attention_avx2.cpp): the same outputs as the heads above, plus an additive mask, row r's
// at mask + r * maskStride (or none). No scratch. Call only when activeIsa() >= Isa::Avx2.
void attentionRowsAvx2(const AttentionHeadArguments& args, const float* mask, std::int64_t maskStride);

}  // namespace querylens::model::kernels
