#include "model/kernels/matmul.h"

namespace querylens::model::kernels {

at::Tensor linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& scales, const at::Tensor& bias)
{
    if (weight.scalar_type() == at::kFloat)
        return at::linear(x, weight, bias);
    // Reference path: widen the weight to float32 (correct on every device; the fast CPU
    // kernels replace it where they apply).
    at::Tensor wide = weight.to(at::kFloat);
    if (scales.defined())
        wide = wide * scales.unsqueeze(1);
    return at::linear(x, wide, bias);
}

}  // namespace querylens::model::kernels
