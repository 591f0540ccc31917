#include "model/linear.h"

#include "model/kernels/matmul.h"

#include <algorithm>

namespace querylens::model {

Linear::Linear(WeightLoader& weights, const std::string& prefix, std::int64_t in, std::int64_t out, bool hasBias,
               WeightFormat format)
{
    // The bias first: the order in which a random loader draws, kept from earlier versions so
    // that the demo model's weights (and its text) stay the same.
    if (hasBias)
        bias_ = weights.load(prefix + ".bias", {out});
    const std::string name = prefix + ".weight";
    if (format == WeightFormat::Int8) {
        // Quantized a block of rows at a time straight from the stored values: neither a float32
        // copy of the matrix nor its mapped pages are ever resident whole.
        format_ = format;
        quantizeRows(out, in, [&](std::int64_t first, std::int64_t count) {
            return weights.loadRows(name, {out, in}, first, count);
        });
    } else {
        store(weights.load(name, {out, in}, loadType(format)), format);
    }
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
    case WeightFormat::Int8:
        quantizeRows(weight.size(0), weight.size(1),
                     [&](std::int64_t first, std::int64_t count) { return weight.narrow(0, first, count).to(at::kFloat); });
        break;
    }
}

void Linear::quantizeRows(std::int64_t n, std::int64_t k, const std::function<at::Tensor(std::int64_t, std::int64_t)>& rows)
{
    // Symmetric per-output-row scales: the row's largest magnitude maps to 127. About 4 MB of
    // float32 rows at a time.
    const std::int64_t block = std::max<std::int64_t>(1, (std::int64_t(1) << 20) / std::max<std::int64_t>(1, k));
    weight_ = at::empty({n, k}, at::kChar);
    scales_ = at::empty({n}, at::kFloat);
    for (std::int64_t first = 0; first < n; first += block) {
        const std::int64_t count = std::min(block, n - first);
        const at::Tensor w = rows(first, count);
        const at::Tensor scale = (w.abs().amax(1) / 127.0).clamp_min(1e-12);
        scales_.narrow(0, first, count).copy_(scale);
        weight_.narrow(0, first, count).copy_(at::round(w / scale.unsqueeze(1)).clamp_(-127, 127));
    }
}

at::Tensor Linear::operator()(const at::Tensor& x) const
{
    return kernels::linear(x, weight_, scales_, bias_);
}

at::Tensor Linear::operator()(const at::Tensor& x, const kernels::Epilogue& epilogue) const
{
    return kernels::linear(x, weight_, scales_, bias_, epilogue);
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
