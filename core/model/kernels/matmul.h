#pragma once
// y = x W^T + b for weights stored as float32, bfloat16 or int8 (with per-row scales), on
// float32 activations. The one place that decides how each shape and precision is computed.

#include <ATen/ATen.h>

namespace querylens::model::kernels {

// x [..., in] float32; weight [out, in] (float32 | bfloat16 | int8); scales [out] for int8,
// else undefined; bias [out] or undefined. Returns [..., out] float32.
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias);

}  // namespace querylens::model::kernels
