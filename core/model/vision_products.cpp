#include "model/vision_products.h"

namespace querylens::model {

std::vector<kernels::GemmShape> visionProductShapes(const VisionConfig& config, WeightFormat format)
{
    if (format == WeightFormat::Int8)
        return {};
    const std::string weights = format == WeightFormat::BFloat16 ? "bf16" : "fp32";
    const std::int64_t d = config.hidden_size, inner = config.intermediate_size, tokens = config.tokenCount();
    const std::int64_t patches = std::int64_t(config.gridSize()) * config.gridSize();
    const std::int64_t patchInputs = 3 * std::int64_t(config.patch_size) * config.patch_size;
    return {{"vision patch embedding", weights, patches, d, patchInputs},
            {"vision qkv", weights, tokens, 3 * d, d},
            {"vision attention output", weights, tokens, d, d},
            {"vision fc1", weights, tokens, inner, d},
            {"vision fc2", weights, tokens, d, inner}};
}

}  // namespace querylens::model
