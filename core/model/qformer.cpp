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
    c.vocab_size = json.getInt("vocab_size", c.vocab_size);
    c.max_position_embeddings = json.getInt("max_position_embeddings", c.max_position_embeddings);
    c.pad_token_id = json.getInt("pad_token_id", c.pad_token_id);
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

QFormer::FeedForward QFormer::loadFeedForward(WeightLoader& weights, const std::string& layer, const std::string& branch,
                                              WeightFormat format) const
{
    // branch "_query": intermediate_query / output_query; "": the text's intermediate / output.
    const std::int64_t d = config_.hidden_size;
    return FeedForward{
        Linear(weights, layer + ".intermediate" + branch + ".dense", d, config_.intermediate_size, true, format),
        Linear(weights, layer + ".output" + branch + ".dense", config_.intermediate_size, d, true, format),
        LayerNorm(weights, layer + ".output" + branch + ".LayerNorm", d, config_.layer_norm_eps),
    };
}

QFormer::QFormer(const QFormerConfig& config, WeightLoader& weights, const std::string& prefix, WeightFormat format,
                 bool textBranch)
    : config_(config), activation_(parseActivation(config.hidden_act, "config.json", "qformer_config.hidden_act")),
      hasTextBranch_(textBranch)
{
    const std::int64_t d = config.hidden_size;
    inputNorm_ = LayerNorm(weights, prefix + ".layernorm", d, config.layer_norm_eps);
    for (int i = 0; i < config.num_hidden_layers; ++i) {
        const std::string lp = prefix + ".encoder.layer." + std::to_string(i);
        Layer layer{loadBlock(weights, lp + ".attention", d, format), std::nullopt,
                    loadFeedForward(weights, lp, "_query", format), std::nullopt};
        if (config.hasCrossAttention(i))
            layer.cross = loadBlock(weights, lp + ".crossattention", config.encoder_hidden_size, format);
        if (textBranch)
            layer.text = loadFeedForward(weights, lp, "", format);
        layers_.push_back(std::move(layer));
    }
}

at::Tensor QFormer::attend(const AttentionBlock& block, const at::Tensor& x, const at::Tensor& source,
                           const at::Tensor& mask, at::Tensor* probabilities) const
{
    const std::int64_t heads = config_.num_attention_heads;
    const double scale = 1.0 / std::sqrt(double(config_.hidden_size / heads));
    const at::Tensor context = attention(splitHeads(block.query(x), heads), splitHeads(block.key(source), heads),
                                         splitHeads(block.value(source), heads), scale, mask, probabilities);
    return block.norm(block.dense(mergeHeads(context)) + x);
}

at::Tensor QFormer::feedForward(const FeedForward& ff, const at::Tensor& x) const
{
    return ff.outputNorm(ff.output(apply(activation_, ff.intermediate(x))) + x);
}

QFormerOutput QFormer::operator()(const at::Tensor& queries, const at::Tensor& image,
                                  const ProgressCallback& progress) const
{
    return run(QFormerInput{queries, queries.size(1), {}, image}, progress);
}

QFormerOutput QFormer::run(const QFormerInput& input, const ProgressCallback& progress) const
{
    const std::int64_t rows = input.embeddings.size(1), queries = input.queryLength;
    if (queries < rows && !hasTextBranch_)
        throw Error("this Q-Former was loaded without its text branch (intermediate / output weights)");
    if (queries > 0 && !input.image.defined())
        throw Error("the Q-Former's queries need the image tokens to attend to");
    QFormerOutput out;
    at::Tensor h = inputNorm_(input.embeddings);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        model::reportProgress(progress, double(i) / double(layers_.size()), "Q-Former");
        const Layer& layer = layers_[i];
        at::Tensor selfProbs;
        h = attend(layer.self, h, h, input.selfMask, &selfProbs);
        out.selfAttentions.push_back(selfProbs);
        if (queries == 0) {  // text only: no cross-attention, the text feed-forward
            h = feedForward(*layer.text, h);
            continue;
        }
        at::Tensor q = queries == rows ? h : h.narrow(1, 0, queries);  // [B, Q, hidden]
        if (layer.cross) {
            at::Tensor crossProbs;
            q = attend(*layer.cross, q, input.image, {}, &crossProbs);
            out.crossAttentions.push_back(crossProbs);
            out.crossAttentionLayers.push_back(int(i));
        }
        q = feedForward(layer.query, q);
        h = queries == rows ? q : at::cat({q, feedForward(*layer.text, h.narrow(1, queries, rows - queries))}, 1);
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
        bytes += layer.query.intermediate.weightBytes() + layer.query.output.weightBytes();
        if (layer.text)
            bytes += layer.text->intermediate.weightBytes() + layer.text->output.weightBytes();
    }
    return bytes;
}

}  // namespace querylens::model
