#pragma once
// y = x W^T + b for weights stored as float32, bfloat16 or int8 (with per-row scales), on
// float32 activations. The one place that decides how each shape and precision is computed:
//  - a few rows (decoding one token, a few beams): our matrix-vector kernels (gemv.h), which
//    stream the weights at memory speed in every format;
//  - many rows (prompts, the vision encoder): float32 GEMM; bfloat16 and int8 weights are
//    widened block by block first, because libtorch's bfloat16 GEMM on CPUs without native
//    bf16 instructions runs ~30x slower than its float32 one;
//  - other devices: libtorch.

#include <ATen/ATen.h>

namespace querylens::model::kernels {

// x [..., in] float32; weight [out, in] (float32 | bfloat16 | int8); scales [out] for int8,
// else undefined; bias [out] or undefined. Returns [..., out] float32.
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias);

// Benchmarks: route everything through libtorch, the baseline our kernels are measured
// against: at::linear in bfloat16 for bf16 weights (as eager PyTorch runs a bf16 model), on the
// widened weight for int8 ones (libtorch has no weight-only int8 product), else in float32.
void setLibtorchOnly(bool libtorchOnly);
bool libtorchOnly();

}  // namespace querylens::model::kernels
