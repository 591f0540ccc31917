#include "model/qformer.h"

#include "model/progress_check.h"
#include "querylens/error.h"

#include <cmath>
#include <regex>

namespace querylens::model {

QFormerConfig QFormerConfig::fromJson(const io::ConfigReader& json)
{
    QFormerConfig c;
    c.hidden_size = json.getInt("hidden_size", c.hidden_size);
    c.num_hidden_layers = json.getInt("num_hidden_layers", c.num_hidden_layers);
    c.num_attention_heads = json.getInt("num_attention_heads", c.num_attention_heads);
    c.intermediate_size = json.getInt("intermediate_size", c.intermediate_size);
    c.hidden_act = json.getString("hidden_act", c.hidden_act);
    c.layer_norm_eps = json.getDouble("layer_norm_eps", c.layer_norm_eps);
    c.cross_attention_frequency = json.getInt("cross_attention_frequency", c.cross_attention_frequency);
    c.encoder_hidden_size = json.getInt("encoder_hidden_size", c.encoder_hidden_size);
    if (c.cross_attention_frequency <= 0)
        throw Error("must be at least 1", json.file(), json.keyPath("cross_attention_frequency"));
    if (c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0)
        throw Error("hidden_size must be a multiple of num_attention_heads", json.file(),
                    json.keyPath("num_attention_heads"));
    return c;
}

bool QFormer::isTextBranchWeight(const std::string& name)
{
    // The text feed-forward (intermediate / output without "_query") and the text embeddings
    // belong to image-text matching and retrieval, not to the query path.
    static const std::regex textBranch(
        R"(qformer\.(embeddings\..*|encoder\.layer\.\d+\.(intermediate|output)\.(dense|LayerNorm)\.(weight|bias)))");
    return std::regex_match(name, textBranch);
}

QFormer::AttentionBlock QFormer::loadBlock(WeightLoader& weights, const std::string& prefix, std::int64_t keyWidth,
                                           WeightFormat format) const
{
    const std::int64_t d = config_.hidden_size;
    return AttentionBlock{
        Linear(weights, prefix + ".attention.query", d, d, true, format),
        Linear(weights, prefix + ".attention.key", keyWidth, d, true, format),
        Linear(weights, prefix + ".attention.value", keyWidth, d, true, format),
        Linear(weights, prefix + ".output.dense", d, d, true, format),
        LayerNorm(weights, prefix + ".output.LayerNorm", d, config_.layer_norm_eps),
    };
}

QFormer::QFormer(const QFormerConfig& config, WeightLoader& weights, const std::string& prefix, WeightFormat format)
    : config_(config), activation_(parseActivation(config.hidden_act, "config.json", "qformer_config.hidden_act"))
{
    const std::int64_t d = config.hidden_size;
    inputNorm_ = LayerNorm(weights, prefix + ".layernorm", d, config.layer_norm_eps);
    for (int i = 0; i < config.num_hidden_layers; ++i) {
        const std::string lp = prefix + ".encoder.layer." + std::to_string(i);
        Layer layer{
            loadBlock(weights, lp + ".attention", d, format),
            std::nullopt,
            Linear(weights, lp + ".intermediate_query.dense", d, config.intermediate_size, true, format),
            Linear(weights, lp + ".output_query.dense", config.intermediate_size, d, true, format),
            LayerNorm(weights, lp + ".output_query.LayerNorm", d, config.layer_norm_eps),
        };
        if (config.hasCrossAttention(i))
            layer.cross = loadBlock(weights, lp + ".crossattention", config.encoder_hidden_size, format);
        layers_.push_back(std::move(layer));
    }
}

at::Tensor QFormer::attend(const AttentionBlock& block, const at::Tensor& x, const at::Tensor& source,
                           at::Tensor* probabilities) const
{
    const std::int64_t heads = config_.num_attention_heads;
    const double scale = 1.0 / std::sqrt(double(config_.hidden_size / heads));
    const at::Tensor context = attention(splitHeads(block.query(x), heads), splitHeads(block.key(source), heads),
                                         splitHeads(block.value(source), heads), scale, {}, probabilities);
    return block.norm(block.dense(mergeHeads(context)) + x);
}

QFormerOutput QFormer::operator()(const at::Tensor& queries, const at::Tensor& image,
                                  const ProgressCallback& progress) const
{
    QFormerOutput out;
    at::Tensor h = inputNorm_(queries);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        model::reportProgress(progress, double(i) / double(layers_.size()), "Q-Former");
        const Layer& layer = layers_[i];
        at::Tensor selfProbs;
        h = attend(layer.self, h, h, &selfProbs);
        out.selfAttentions.push_back(selfProbs);
        if (layer.cross) {
            at::Tensor crossProbs;
            h = attend(*layer.cross, h, image, &crossProbs);
            out.crossAttentions.push_back(crossProbs);
            out.crossAttentionLayers.push_back(int(i));
        }
        h = layer.outputNorm(layer.output(apply(activation_, layer.intermediate(h))) + h);
    }
    out.lastHiddenState = h;
    return out;
}

std::size_t QFormer::weightBytes() const
{
    std::size_t bytes = 0;
    auto block = [&](const AttentionBlock& b) {
        for (const Linear* l : {&b.query, &b.key, &b.value, &b.dense})
            bytes += l->weightBytes();
    };
    for (const auto& layer : layers_) {
        block(layer.self);
        if (layer.cross)
            block(*layer.cross);
        bytes += layer.intermediate.weightBytes() + layer.output.weightBytes();
    }
    return bytes;
}

}  // namespace querylens::model
