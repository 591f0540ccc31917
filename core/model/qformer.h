#pragma once
// BLIP-2's Querying Transformer, query branch: 32 learned queries pass through BERT-style
// post-LN layers with self-attention, and every `cross_attention_frequency`-th layer also
// attends to the image tokens. Hugging Face: Blip2QFormerModel in modeling_blip_2.py.

#include "io/json_file.h"
#include "model/layers.h"
#include "model/linear.h"
#include "querylens/progress.h"

#include <ATen/ATen.h>

#include <optional>
#include <vector>

namespace querylens::model {

// Field names are the keys of config.json's "qformer_config"; defaults are Hugging Face's.
struct QFormerConfig {
    int hidden_size = 768;
    int num_hidden_layers = 12;
    int num_attention_heads = 12;
    int intermediate_size = 3072;
    std::string hidden_act = "gelu";
    double layer_norm_eps = 1e-12;
    int cross_attention_frequency = 2;
    int encoder_hidden_size = 1408;

    static QFormerConfig fromJson(const io::ConfigReader& json);
    bool hasCrossAttention(int layer) const { return layer % cross_attention_frequency == 0; }
};

struct QFormerOutput {
    at::Tensor lastHiddenState;                 // [B, Q, hidden]
    std::vector<at::Tensor> selfAttentions;     // per layer: [B, heads, Q, Q]
    std::vector<at::Tensor> crossAttentions;    // per cross-attention layer: [B, heads, Q, image tokens]
    std::vector<int> crossAttentionLayers;      // which layer each cross-attention entry came from
};

class QFormer {
public:
    QFormer(const QFormerConfig& config, WeightLoader& weights, const std::string& prefix, WeightFormat format);

    // queries [B, Q, hidden], image [B, tokens, encoder_hidden_size]
    QFormerOutput operator()(const at::Tensor& queries, const at::Tensor& image,
                             const ProgressCallback& progress = {}) const;

    const QFormerConfig& config() const { return config_; }

    // Weight names of the Q-Former's text branch, which BLIP-2's captioning never runs.
    static bool isTextBranchWeight(const std::string& name);

    std::size_t weightBytes() const;  // the matrices at their stored precision

private:
    struct AttentionBlock {
        Linear query, key, value, dense;
        LayerNorm norm;
    };
    struct Layer {
        AttentionBlock self;
        std::optional<AttentionBlock> cross;
        Linear intermediate, output;
        LayerNorm outputNorm;
    };
    AttentionBlock loadBlock(WeightLoader& weights, const std::string& prefix, std::int64_t keyWidth,
                             WeightFormat format) const;
    // LayerNorm(dense(attention(x -> source)) + x); `probabilities` receives [B, H, Q, S].
    at::Tensor attend(const AttentionBlock& block, const at::Tensor& x, const at::Tensor& source,
                      at::Tensor* probabilities) const;

    QFormerConfig config_;
    Activation activation_;
    LayerNorm inputNorm_;
    std::vector<Layer> layers_;
};

}  // namespace querylens::model
