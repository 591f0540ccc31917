#pragma once
// Small building blocks shared by the model components.

#include "model/weight_loader.h"

#include <ATen/ATen.h>

#include <string>

namespace querylens::model {

struct LayerNorm {
    LayerNorm() = default;
    // Loads `prefix`.weight and `prefix`.bias, both [dim].
    LayerNorm(WeightLoader& weights, const std::string& prefix, std::int64_t dim, double eps);
    at::Tensor operator()(const at::Tensor& x) const;

    at::Tensor weight;
    at::Tensor bias;
    double eps = 1e-5;
};

// T5's norm: no mean subtraction, no bias, variance computed in float32.
struct RmsNorm {
    RmsNorm() = default;
    RmsNorm(WeightLoader& weights, const std::string& prefix, std::int64_t dim, double eps);
    at::Tensor operator()(const at::Tensor& x) const;

    at::Tensor weight;
    double eps = 1e-6;
};

// What a padded key adds to an attention score. Finite, unlike the causal mask's -inf: a row
// of padding whose every key is masked must still give numbers (not NaN), because its keys and
// values are read by the real rows' matrix products; exp(-1e9 - score) is exactly 0 in float32,
// so the real rows never see it.
constexpr float kPaddingScore = -1e9f;

// Scaled dot-product attention that can hand back its probabilities.
// q [B, H, Tq, d], k and v [B, H, Tk, d]; `mask` is additive, broadcastable to [B, H, Tq, Tk],
// or undefined. `scale` multiplies the scores (1 for T5, which folds it into its weights).
// Returns the context [B, H, Tq, d]; `probabilities`, when given, receives [B, H, Tq, Tk].
// With AttentionProducts::Bfloat16 (a model the user runs in bf16) q, k, v and the
// probabilities may be rounded to bf16 for the two products where the CPU multiplies bf16
// natively (the fused head at avx512bf16), as eager PyTorch computes a bf16 model's attention.
enum class AttentionProducts { Float32, Bfloat16 };
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale,
                     const at::Tensor& mask = {}, at::Tensor* probabilities = nullptr,
                     AttentionProducts products = AttentionProducts::Float32);

// [B, T, H*d] -> [B, H, T, d]
at::Tensor splitHeads(const at::Tensor& x, std::int64_t heads);
// [B, H, T, d] -> [B, T, H*d]
at::Tensor mergeHeads(const at::Tensor& x);

enum class Activation { Gelu, GeluTanh, Relu, Silu };
// The activation a config names ("gelu" is exact erf GELU; "gelu_new" the tanh form); an
// unknown name is an Error naming the file and key.
Activation parseActivation(const std::string& name, const std::string& file, const std::string& key);
at::Tensor apply(Activation activation, const at::Tensor& x);

}  // namespace querylens::model
