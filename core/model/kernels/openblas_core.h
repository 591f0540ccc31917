#pragma once
// Which kernels OpenBLAS runs. libtorch's float32 products (autograd: training, gradient maps;
// and libtorch's side of the measured kernel choice) go to OpenBLAS, which picks its kernels
// once, as it loads, from the CPU (0.3.21 takes a Zen 5 for a Cooperlake), unless the
// environment variable OPENBLAS_CORETYPE names a family. These machines' environment sets it
// to Haswell, which on an AVX-512 CPU means AVX2 kernels: 0.57x the speed of OpenBLAS's AVX-512
// ones on the demo trainer's shapes (one thread of a Zen 5), 0.55x on the vision encoder's.

#include <string>

namespace querylens::model::kernels {

// OpenBLAS's kernel family ("Cooperlake", "Haswell", ...); empty when libtorch uses another BLAS.
std::string openBlasCore();

// A warning when OPENBLAS_CORETYPE holds OpenBLAS below the level the kernels run at (an
// AVX2 family on an AVX-512 CPU), or empty.
std::string forcedOpenBlasWarning();

}  // namespace querylens::model::kernels
