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
    // The text side (image-text matching): BERT's vocabulary and absolute positions.
    int vocab_size = 30522;
    int max_position_embeddings = 512;
    int pad_token_id = 0;

    static QFormerConfig fromJson(const io::ConfigReader& json);
    bool hasCrossAttention(int layer) const { return layer % cross_attention_frequency == 0; }
};

// What the Q-Former runs on. Rows [0, queryLength) of `embeddings` are queries: only they
// cross-attend to the image and go through the query feed-forward; the rest are text rows, which
// go through the text feed-forward (Hugging Face: Blip2QFormerLayer with query_length).
struct QFormerInput {
    at::Tensor embeddings;         // [B, N, hidden], before the input LayerNorm
    std::int64_t queryLength = 0;  // 0: text only (no cross-attention)
    at::Tensor selfMask;           // additive [B, 1, 1, N] (0 or -10000), or undefined: all rows see all
    at::Tensor image;              // [B, tokens, encoder_hidden_size], or undefined when queryLength is 0
};

struct QFormerOutput {
    at::Tensor lastHiddenState;                 // [B, N, hidden] (N = Q for the query branch)
    std::vector<at::Tensor> selfAttentions;     // per layer: [B, heads, N, N]
    std::vector<at::Tensor> crossAttentions;    // per cross-attention layer: [B, heads, Q, image tokens]
    std::vector<int> crossAttentionLayers;      // which layer each cross-attention entry came from
};

class QFormer {
public:
    // `textBranch` also loads each layer's text feed-forward (intermediate / output), which
    // image-text matching runs and captioning does not.
    QFormer(const QFormerConfig& config, WeightLoader& weights, const std::string& prefix, WeightFormat format,
            bool textBranch = false);

    // The query branch: queries [B, Q, hidden], image [B, tokens, encoder_hidden_size]
    QFormerOutput operator()(const at::Tensor& queries, const at::Tensor& image,
                             const ProgressCallback& progress = {}) const;
    // Queries and/or text (see QFormerInput).
    QFormerOutput run(const QFormerInput& input, const ProgressCallback& progress = {}) const;
    bool hasTextBranch() const { return hasTextBranch_; }

    const QFormerConfig& config() const { return config_; }

    // Weight names of the Q-Former's text branch, which BLIP-2's captioning never runs.
    static bool isTextBranchWeight(const std::string& name);

    std::size_t weightBytes() const;  // the matrices at their stored precision

private:
    struct AttentionBlock {
        Linear query, key, value, dense;
        LayerNorm norm;
    };
    struct FeedForward {
        Linear intermediate, output;
        LayerNorm outputNorm;
    };
    struct Layer {
        AttentionBlock self;
        std::optional<AttentionBlock> cross;
        FeedForward query;                // intermediate_query / output_query
        std::optional<FeedForward> text;  // intermediate / output (text branch)
    };
    AttentionBlock loadBlock(WeightLoader& weights, const std::string& prefix, std::int64_t keyWidth,
                             WeightFormat format) const;
    FeedForward loadFeedForward(WeightLoader& weights, const std::string& layer, const std::string& branch,
                                WeightFormat format) const;
    // LayerNorm(dense(attention(x -> source)) + x); `probabilities` receives [B, H, Q, S].
    at::Tensor attend(const AttentionBlock& block, const at::Tensor& x, const at::Tensor& source, const at::Tensor& mask,
                      at::Tensor* probabilities) const;
    at::Tensor feedForward(const FeedForward& ff, const at::Tensor& x) const;

    QFormerConfig config_;
    Activation activation_;
    LayerNorm inputNorm_;
    std::vector<Layer> layers_;
    bool hasTextBranch_ = false;
};

}  // namespace querylens::model
