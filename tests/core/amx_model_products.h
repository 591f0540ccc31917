#pragma once
// The AMX product on the software model of the tiles (amx_tile_model.h) with the AVX-512
// helpers, from amx_model_avx512.cpp (compiled with the AVX-512 flags): call only where
// kernels::supportedIsa() >= avx512bf16.

#include "model/kernels/gemv.h"

#include <cstdint>

namespace querylens::tests {

void amxModelPackRowsAvx512(const float* x, std::int64_t m, std::int64_t k, std::uint32_t* packed);
void amxModelPanelsAvx512(const model::kernels::GemvArguments& args, const std::uint32_t* packedX,
                          std::int64_t panelBegin, std::int64_t panelEnd);

}  // namespace querylens::tests
