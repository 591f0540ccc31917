#include "model/linear.h"

#include "model/kernels/matmul.h"

namespace querylens::model {

Linear::Linear(WeightLoader& weights, const std::string& prefix, std::int64_t in, std::int64_t out, bool hasBias,
               WeightFormat format)
    : Linear(weights.load(prefix + ".weight", {out, in}, loadType(format)),
             hasBias ? weights.load(prefix + ".bias", {out}) : at::Tensor(), format)
{
}

Linear::Linear(const at::Tensor& weight, const at::Tensor& bias, WeightFormat format) : bias_(bias)
{
    store(weight, format);
}

at::ScalarType Linear::loadType(WeightFormat format)
{
    return format == WeightFormat::BFloat16 ? at::kBFloat16 : at::kFloat;
}

void Linear::store(const at::Tensor& weight, WeightFormat format)
{
    format_ = format;
    switch (format) {
    case WeightFormat::Float32:
        weight_ = weight.to(at::kFloat).contiguous();
        break;
    case WeightFormat::BFloat16:
        // A bf16 weight straight from the memory map stays where it is.
        weight_ = weight.scalar_type() == at::kBFloat16 ? weight : weight.to(at::kBFloat16).contiguous();
        break;
    case WeightFormat::Int8: {
        // Symmetric per-output-row scales: the row's largest magnitude maps to 127.
        const at::Tensor w = weight.to(at::kFloat);
        scales_ = (w.abs().amax(1) / 127.0).clamp_min(1e-12).contiguous();
        weight_ = at::round(w / scales_.unsqueeze(1)).clamp(-127, 127).to(at::kChar).contiguous();
        break;
    }
    }
}

at::Tensor Linear::operator()(const at::Tensor& x) const
{
    return kernels::linear(x, weight_, scales_, bias_);
}

at::Tensor Linear::rows(const at::Tensor& ids) const
{
    at::Tensor picked = weight_.index_select(0, ids).to(at::kFloat);
    if (scales_.defined())
        picked = picked * scales_.index_select(0, ids).unsqueeze(1);
    return picked;
}

std::size_t Linear::weightBytes() const
{
    return weight_.nbytes() + (scales_.defined() ? scales_.nbytes() : 0) + (bias_.defined() ? bias_.nbytes() : 0);
}

at::Tensor Linear::dequantizedWeight() const
{
    if (format_ == WeightFormat::Int8)
        return weight_.to(at::kFloat) * scales_.unsqueeze(1);
    return weight_.to(at::kFloat);
}

}  // namespace querylens::model
