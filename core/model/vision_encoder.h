#pragma once
// BLIP-2's vision encoder (EVA ViT-g/14 in the real checkpoints): patch embedding, a CLS
// token, learned positions, pre-LN transformer layers, and a final LayerNorm.
// Hugging Face: Blip2VisionModel in modeling_blip_2.py.

#include "io/json_file.h"
#include "model/layers.h"
#include "model/linear.h"
#include "querylens/progress.h"

#include <ATen/ATen.h>

#include <vector>

namespace querylens::model {

// Field names are the keys of config.json's "vision_config"; defaults are Hugging Face's.
struct VisionConfig {
    int hidden_size = 1408;
    int intermediate_size = 6144;
    int num_hidden_layers = 39;
    int num_attention_heads = 16;
    int image_size = 224;
    int patch_size = 14;
    std::string hidden_act = "gelu";
    double layer_norm_eps = 1e-6;
    bool qkv_bias = true;

    static VisionConfig fromJson(const io::ConfigReader& json);
    int gridSize() const { return image_size / patch_size; }
    int tokenCount() const { return gridSize() * gridSize() + 1; }  // CLS + patches
};

class VisionEncoder {
public:
    VisionEncoder(const VisionConfig& config, WeightLoader& weights, const std::string& prefix, WeightFormat format);

    // pixel_values [B, 3, S, S] -> last_hidden_state [B, 1 + grid^2, hidden] (after post_layernorm).
    at::Tensor operator()(const at::Tensor& pixelValues, const ProgressCallback& progress = {}) const;

    const VisionConfig& config() const { return config_; }

    std::size_t weightBytes() const;  // the matrices at their stored precision

private:
    struct Layer {
        LayerNorm norm1, norm2;
        Linear qkv, projection, fc1, fc2;
    };
    at::Tensor layerForward(const Layer& layer, const at::Tensor& x) const;

    VisionConfig config_;
    Activation activation_;
    AttentionProducts attentionProducts_;  // bf16 for a bf16 model, as its matrix products
    Linear patchEmbedding_;      // the 14x14 stride-14 convolution as a matrix over flattened patches
    at::Tensor classEmbedding_;  // [1, 1, hidden]
    at::Tensor positionEmbedding_;  // [1, 1 + grid^2, hidden]
    std::vector<Layer> layers_;
    LayerNorm postLayerNorm_;
};

}  // namespace querylens::model
