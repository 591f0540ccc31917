#include "model/vision_encoder.h"

#include "model/progress_check.h"
#include "querylens/error.h"

#include <cmath>

namespace querylens::model {

VisionConfig VisionConfig::fromJson(const io::ConfigReader& json)
{
    VisionConfig c;
    c.hidden_size = json.getInt("hidden_size", c.hidden_size);
    c.intermediate_size = json.getInt("intermediate_size", c.intermediate_size);
    c.num_hidden_layers = json.getInt("num_hidden_layers", c.num_hidden_layers);
    c.num_attention_heads = json.getInt("num_attention_heads", c.num_attention_heads);
    c.image_size = json.getInt("image_size", c.image_size);
    c.patch_size = json.getInt("patch_size", c.patch_size);
    c.hidden_act = json.getString("hidden_act", c.hidden_act);
    c.layer_norm_eps = json.getDouble("layer_norm_eps", c.layer_norm_eps);
    c.qkv_bias = json.getBool("qkv_bias", c.qkv_bias);
    if (c.patch_size <= 0 || c.image_size % c.patch_size != 0)
        throw Error("image_size must be a multiple of patch_size", json.file(), json.keyPath("patch_size"));
    if (c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0)
        throw Error("hidden_size must be a multiple of num_attention_heads", json.file(),
                    json.keyPath("num_attention_heads"));
    return c;
}

VisionEncoder::VisionEncoder(const VisionConfig& config, WeightLoader& weights, const std::string& prefix,
                             WeightFormat format)
    : config_(config),
      activation_(parseActivation(config.hidden_act, "config.json", "vision_config.hidden_act")),
      attentionProducts_(format == WeightFormat::BFloat16 ? AttentionProducts::Bfloat16 : AttentionProducts::Float32)
{
    const std::int64_t d = config.hidden_size, p = config.patch_size;
    const at::Tensor conv = weights.load(prefix + ".embeddings.patch_embedding.weight", {d, 3, p, p});
    patchEmbedding_ = Linear(conv.reshape({d, 3 * p * p}),
                             weights.load(prefix + ".embeddings.patch_embedding.bias", {d}), format);
    classEmbedding_ = weights.load(prefix + ".embeddings.class_embedding", {1, 1, d});
    positionEmbedding_ = weights.load(prefix + ".embeddings.position_embedding", {1, config.tokenCount(), d});

    for (int i = 0; i < config.num_hidden_layers; ++i) {
        const std::string lp = prefix + ".encoder.layers." + std::to_string(i);
        Layer layer;
        layer.norm1 = LayerNorm(weights, lp + ".layer_norm1", d, config.layer_norm_eps);
        layer.norm2 = LayerNorm(weights, lp + ".layer_norm2", d, config.layer_norm_eps);
        // The qkv bias is (q_bias, 0, v_bias): EVA has no key bias. Older conversions store
        // q_bias and v_bias separately; both layouts give the same tensor.
        at::Tensor qkvBias;
        if (config.qkv_bias) {
            if (weights.contains(lp + ".self_attn.q_bias")) {
                const at::Tensor q = weights.load(lp + ".self_attn.q_bias", {d});
                const at::Tensor v = weights.load(lp + ".self_attn.v_bias", {d});
                qkvBias = at::cat({q, at::zeros_like(q), v});
            } else {
                qkvBias = weights.load(lp + ".self_attn.qkv.bias", {3 * d});
            }
        }
        layer.qkv = Linear(weights.load(lp + ".self_attn.qkv.weight", {3 * d, d}, Linear::loadType(format)), qkvBias,
                           format);
        layer.projection = Linear(weights, lp + ".self_attn.projection", d, d, true, format);
        layer.fc1 = Linear(weights, lp + ".mlp.fc1", d, config.intermediate_size, true, format);
        layer.fc2 = Linear(weights, lp + ".mlp.fc2", config.intermediate_size, d, true, format);
        layers_.push_back(std::move(layer));
    }
    postLayerNorm_ = LayerNorm(weights, prefix + ".post_layernorm", d, config.layer_norm_eps);
}

at::Tensor VisionEncoder::layerForward(const Layer& layer, const at::Tensor& x) const
{
    const std::int64_t heads = config_.num_attention_heads;
    const std::int64_t headDim = config_.hidden_size / heads;
    const auto b = x.size(0), t = x.size(1);

    // qkv [B, T, 3*D] -> three [B, H, T, d]
    const at::Tensor qkv = layer.qkv(layer.norm1(x)).view({b, t, 3, heads, headDim}).permute({2, 0, 3, 1, 4});
    const at::Tensor context =
        attention(qkv[0], qkv[1], qkv[2], 1.0 / std::sqrt(double(headDim)), {}, nullptr, attentionProducts_);
    // The residual adds and exact GELU go into the products' epilogues: the bf16 GEMM applies
    // them as it writes each output, sparing three passes over [B, T, D] and [B, T, 4.36 D].
    kernels::Epilogue plusInput;
    plusInput.residual = x;
    const at::Tensor h = layer.projection(mergeHeads(context), plusInput);  // x + attention
    at::Tensor inner;
    if (activation_ == Activation::Gelu) {
        kernels::Epilogue gelu;
        gelu.gelu = true;
        inner = layer.fc1(layer.norm2(h), gelu);
    } else {
        inner = apply(activation_, layer.fc1(layer.norm2(h)));
    }
    kernels::Epilogue plusH;
    plusH.residual = h;
    return layer.fc2(inner, plusH);  // h + mlp
}

at::Tensor VisionEncoder::operator()(const at::Tensor& pixelValues, const ProgressCallback& progress) const
{
    const std::int64_t b = pixelValues.size(0), p = config_.patch_size, g = config_.gridSize();
    if (pixelValues.dim() != 4 || pixelValues.size(1) != 3 || pixelValues.size(2) != config_.image_size ||
        pixelValues.size(3) != config_.image_size)
        throw Error("pixel_values must be [B, 3, " + std::to_string(config_.image_size) + ", " +
                    std::to_string(config_.image_size) + "], got " + shapeText(pixelValues.sizes()));

    // [B, 3, g*p, g*p] -> [B, g*g, 3*p*p], each patch flattened as (channel, row, column), the
    // order of the convolution weight, so the convolution is one matrix product.
    const at::Tensor patches =
        pixelValues.view({b, 3, g, p, g, p}).permute({0, 2, 4, 1, 3, 5}).reshape({b, g * g, 3 * p * p});
    at::Tensor h = at::cat({classEmbedding_.expand({b, 1, -1}), patchEmbedding_(patches)}, 1) + positionEmbedding_;

    for (std::size_t i = 0; i < layers_.size(); ++i) {
        model::reportProgress(progress, double(i) / double(layers_.size()), "vision encoder");
        h = layerForward(layers_[i], h);
    }
    return postLayerNorm_(h);
}

std::size_t VisionEncoder::weightBytes() const
{
    std::size_t bytes = patchEmbedding_.weightBytes() + classEmbedding_.nbytes() + positionEmbedding_.nbytes();
    for (const auto& layer : layers_)
        for (const Linear* l : {&layer.qkv, &layer.projection, &layer.fc1, &layer.fc2})
            bytes += l->weightBytes();
    return bytes;
}

}  // namespace querylens::model
