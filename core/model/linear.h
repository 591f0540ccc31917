#pragma once
// A linear layer whose weight is stored in the precision chosen at load time. Activations are
// float32 everywhere; only the weight storage changes (fp32, bf16, or int8 with one scale per
// output row), because on CPUs without native bf16 math the cost of inference is reading weights.

#include "model/kernels/matmul.h"
#include "model/weight_loader.h"

#include <ATen/ATen.h>

#include <functional>
#include <string>

namespace querylens::model {

enum class WeightFormat { Float32, BFloat16, Int8 };

class Linear {
public:
    Linear() = default;
    // Loads `prefix`.weight [out, in] (and `prefix`.bias [out] when hasBias).
    Linear(WeightLoader& weights, const std::string& prefix, std::int64_t in, std::int64_t out, bool hasBias,
           WeightFormat format);
    // From tensors already in memory: weight [out, in] as float32 (or already bfloat16 for the
    // bf16 format, then kept as is), bias [out] float32 or undefined.
    Linear(const at::Tensor& weight, const at::Tensor& bias, WeightFormat format);

    // The dtype to load a weight as for `format`, so that bf16 checkpoints need no conversion.
    static at::ScalarType loadType(WeightFormat format);

    // x [..., in] float32 -> [..., out] float32
    at::Tensor operator()(const at::Tensor& x) const;
    // gelu(x W^T + b) + residual as the epilogue asks, applied by the bf16 GEMM as it writes
    // each output (no further pass over the result), by libtorch's ops on the other paths.
    at::Tensor operator()(const at::Tensor& x, const kernels::Epilogue& epilogue) const;

    // Rows of the weight as float32 [N, in] for ids [N]: the embedding lookup of a table tied
    // to this layer (OPT's embed_tokens is its lm_head).
    at::Tensor rows(const at::Tensor& ids) const;

    std::int64_t inFeatures() const { return weight_.size(1); }
    std::int64_t outFeatures() const { return weight_.size(0); }
    WeightFormat format() const { return format_; }
    std::size_t weightBytes() const;
    // The weight as float32 [out, in] (dequantised), for tests and tied-weight checks.
    at::Tensor dequantizedWeight() const;

private:
    void store(const at::Tensor& weight, WeightFormat format);
    // Fills weight_ [n, k] int8 and scales_ from float32 blocks of rows: rows(first, count).
    void quantizeRows(std::int64_t n, std::int64_t k, const std::function<at::Tensor(std::int64_t, std::int64_t)>& rows);

    WeightFormat format_ = WeightFormat::Float32;
    at::Tensor weight_;  // [out, in]: float32, bfloat16, or int8
    at::Tensor scales_;  // [out] float32, int8 only: w ~= weight_ * scales_
    at::Tensor bias_;    // [out] float32 or undefined
};

}  // namespace querylens::model
