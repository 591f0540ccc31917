#include "model/layers.h"

#include "querylens/error.h"

#include <cmath>

namespace querylens::model {

LayerNorm::LayerNorm(WeightLoader& weights, const std::string& prefix, std::int64_t dim, double epsilon)
    : weight(weights.load(prefix + ".weight", {dim})), bias(weights.load(prefix + ".bias", {dim})), eps(epsilon)
{
}

at::Tensor LayerNorm::operator()(const at::Tensor& x) const
{
    return at::layer_norm(x, {weight.size(0)}, weight, bias, eps);
}

RmsNorm::RmsNorm(WeightLoader& weights, const std::string& prefix, std::int64_t dim, double epsilon)
    : weight(weights.load(prefix + ".weight", {dim})), eps(epsilon)
{
}

at::Tensor RmsNorm::operator()(const at::Tensor& x) const
{
    const at::Tensor variance = x.pow(2).mean(-1, /*keepdim=*/true);
    return weight * (x * at::rsqrt(variance + eps));
}

at::Tensor splitHeads(const at::Tensor& x, std::int64_t heads)
{
    const auto b = x.size(0), t = x.size(1), width = x.size(2);
    return x.view({b, t, heads, width / heads}).transpose(1, 2);
}

at::Tensor mergeHeads(const at::Tensor& x)
{
    const auto b = x.size(0), h = x.size(1), t = x.size(2), d = x.size(3);
    return x.transpose(1, 2).reshape({b, t, h * d});
}

Activation parseActivation(const std::string& name, const std::string& file, const std::string& key)
{
    if (name == "gelu")
        return Activation::Gelu;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
        return Activation::GeluTanh;
    if (name == "relu")
        return Activation::Relu;
    if (name == "silu" || name == "swish")
        return Activation::Silu;
    throw Error("activation '" + printableText(name) + "' is not supported", file, key);
}

at::Tensor apply(Activation activation, const at::Tensor& x)
{
    switch (activation) {
    case Activation::Gelu: return at::gelu(x);
    case Activation::GeluTanh: return at::gelu(x, "tanh");
    case Activation::Relu: return at::relu(x);
    case Activation::Silu: return at::silu(x);
    }
    return x;
}

}  // namespace querylens::model
