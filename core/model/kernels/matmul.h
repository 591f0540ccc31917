#pragma once
// y = x W^T + b for weights stored as float32, bfloat16 or int8 (with per-row scales), on
// float32 activations. The one place that decides how each shape and precision is computed:
//  - up to 8 rows (decoding one token, a few beams): our matrix-vector kernels (gemv.h),
//    which stream the weights at close to memory speed in every format;
//  - more rows (prompts, the vision encoder): where the measured kernel choice says libtorch is
//    faster for the shape on this machine (kernel_choice.h), libtorch's at::linear; else our packed GEMM of the active ISA level (isa.h):
//    avx512bf16 multiplies bf16 weights natively (vdpbf16ps); avx2 and avx512 widen bf16/int8
//    weights inside L1 and run at the float32 GEMM rate (~170 GFLOP/s on 2 Zen 3 cores, where
//    libtorch's bf16 GEMM manages a few GFLOP/s without native bf16 instructions);
//  - CPUs without AVX2: bf16/int8 weights widened block by block, then float32 GEMM;
//  - other devices: libtorch.
//  - autograd: when grad mode is on and x, the weight or the bias requires grad, libtorch's own
//    differentiable ops (our kernels have no backward), so that the same model code serves
//    gradient explanations and training.
// Everything runs on libtorch's intra-op threads (at::set_num_threads).

#include "model/kernels/kernel_choice.h"

#include <ATen/ATen.h>

#include <initializer_list>
#include <string>

namespace querylens::model::kernels {

// x [..., in] float32; weight [out, in] (float32 | bfloat16 | int8); scales [out] for int8,
// else undefined; bias [out] or undefined. Returns [..., out] float32.
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias);

// What linear() may apply to its output: y = gelu(x W^T + b) + residual. The avx512bf16 GEMM
// applies it in registers as it writes each output (no further pass over y); every other path
// applies it afterwards with libtorch's ops, so the result is the same at every level.
struct Epilogue {
    bool gelu = false;    // exact (erf) GELU
    at::Tensor residual;  // [..., out] float32 (x's leading shape), or undefined
};
at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias,
                  const Epilogue& epilogue);

// linear() with the kernel for products of 9 rows and more given, whatever kernelChoiceMode()
// says: what the calibration times and the tests compare. Below 9 rows, on int8 weights, under
// autograd and on other devices it is linear() itself.
at::Tensor linearWith(GemmKernel kernel, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales,
                      const at::Tensor& bias, const Epilogue& epilogue = {});

// True when grad mode is on and one of the tensors requires grad: the product must then be
// recorded for backward, which only libtorch's ops do.
bool needsAutograd(std::initializer_list<at::Tensor> tensors);

// Benchmarks: route everything through libtorch, the baseline our kernels are measured
// against: at::linear in bfloat16 for bf16 weights (as eager PyTorch runs a bf16 model), on the
// widened weight for int8 ones (libtorch has no weight-only int8 product), else in float32.
void setLibtorchOnly(bool libtorchOnly);
bool libtorchOnly();

// What linear() and attention run now (the active ISA level, the libtorch switch), as plain text
// for the benchmark, --json and the status bar; weightType is "fp32", "bf16" or "int8".
std::string gemmPath(const std::string& weightType);    // 9 rows and more: images, prompts
std::string decodePath(const std::string& weightType);  // 1-8 rows: decoding, beams
std::string attentionPath();

}  // namespace querylens::model::kernels
