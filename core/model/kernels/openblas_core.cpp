#include "model/kernels/openblas_core.h"

#include "model/kernels/isa.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace querylens::model::kernels {

std::string openBlasCore()
{
    // Looked up rather than linked: libtorch may be built on another BLAS.
    using CoreName = char* (*)();
    const auto coreName = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    const char* name = coreName ? coreName() : nullptr;
    return name ? name : "";
}

std::string forcedOpenBlasWarning()
{
    const char* forced = std::getenv("OPENBLAS_CORETYPE");
    if (!forced || activeIsa() < Isa::Avx512)
        return {};
    std::string family = forced;
    std::transform(family.begin(), family.end(), family.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    // OpenBLAS's x86 families with AVX-512 kernels.
    for (const char* avx512 : {"skylakex", "cooperlake", "sapphirerapids"})
        if (family == avx512)
            return {};
    return std::string("OPENBLAS_CORETYPE=") + forced +
           " holds OpenBLAS (libtorch's float32 products: training, gradient maps) to kernels without AVX-512 on this "
           "AVX-512 CPU, about 1.75x slower: unset it to let OpenBLAS choose";
}

}  // namespace querylens::model::kernels
