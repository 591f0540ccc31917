#include "pipeline/model_impl.h"

namespace querylens {

ImageEncoding::ImageEncoding(std::unique_ptr<Tensors> tensors, CrossAttentionMaps cross, QuerySelfAttention self,
                             int imageWidth, int imageHeight, double encodeMs)
    : tensors_(std::move(tensors)), cross_(std::move(cross)), self_(std::move(self)), width_(imageWidth),
      height_(imageHeight), encodeMs_(encodeMs)
{
}

ImageEncoding::~ImageEncoding() = default;

std::vector<float> ImageEncoding::queryOutputs() const
{
    const at::Tensor values = tensors_->queryOutputs.to(at::kCPU, at::kFloat).contiguous();
    return std::vector<float>(values.data_ptr<float>(), values.data_ptr<float>() + values.numel());
}

}  // namespace querylens
