#include "pipeline/attention_gradients.h"

namespace querylens::explain {

FloatMatrix camOf(const at::Tensor& probs)
{
    const at::Tensor p = probs.detach()[0].to(at::kCPU, at::kFloat).contiguous();
    const at::Tensor g = probs.grad().defined() ? probs.grad()[0].to(at::kCPU, at::kFloat).contiguous() : at::zeros_like(p);
    return gradCam(AttentionGradientView{int(p.size(0)), int(p.size(1)), int(p.size(2)), p.data_ptr<float>(),
                                         g.data_ptr<float>()});
}

std::vector<float> floatsOf(const at::Tensor& t)
{
    const at::Tensor c = t.detach().to(at::kCPU, at::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

void TrackedTensors::track(const at::Tensor& t)
{
    if (t.requires_grad()) {
        t.retain_grad();
        tensors_.push_back(t);
    }
}

void TrackedTensors::clearGradients()
{
    for (auto& t : tensors_)
        if (t.grad().defined())
            t.mutable_grad().zero_();
}

}  // namespace querylens::explain
