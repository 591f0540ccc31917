// The AMX loops on the software model of the tiles with the AVX-512 helpers the hardware path
// uses (packing x, the transposed epilogue): compiled with the AVX-512 and AVX512_BF16 flags,
// called by test_amx_kernel only on CPUs that have them (Zen 4 and 5, Sapphire Rapids).

#include "amx_model_products.h"
#include "amx_tile_model.h"

#include "model/kernels/gemm_amx_avx512.h"

namespace querylens::tests {

void amxModelPackRowsAvx512(const float* x, std::int64_t m, std::int64_t k, std::uint32_t* packed)
{
    model::kernels::amx::Avx512Helpers::packRows(x, m, k, 0, model::kernels::amx::rowBlockCount(m), packed);
}

void amxModelPanelsAvx512(const model::kernels::GemvArguments& args, const std::uint32_t* packedX,
                          std::int64_t panelBegin, std::int64_t panelEnd)
{
    model::kernels::amx::gemmPanels<ModelledTiles, model::kernels::amx::Avx512Helpers>(args, packedX, panelBegin, panelEnd);
}

}  // namespace querylens::tests
