#pragma once
// Meta's OPT decoder as BLIP-2 uses it: learned positions (offset 2), pre-LN layers with ReLU
// feed-forward, a final LayerNorm, and lm_head tied to the token embeddings.
// Hugging Face: OPTForCausalLM in modeling_opt.py.

#include "io/json_file.h"
#include "model/kv_cache.h"
#include "model/language_model.h"
#include "model/layers.h"
#include "model/linear.h"

#include <optional>
#include <vector>

namespace querylens::model {

// Field names are the keys of config.json's "text_config" (model_type "opt"); defaults are
// Hugging Face's OPTConfig defaults.
struct OptConfig {
    int vocab_size = 50272;
    int hidden_size = 768;
    int num_hidden_layers = 12;
    int ffn_dim = 3072;
    int num_attention_heads = 12;
    int max_position_embeddings = 2048;
    bool do_layer_norm_before = true;
    bool _remove_final_layer_norm = false;
    int word_embed_proj_dim = 0;  // 0: same as hidden_size
    std::string activation_function = "relu";
    bool enable_bias = true;
    bool layer_norm_elementwise_affine = true;
    bool tie_word_embeddings = true;
    int bos_token_id = 2;
    int pad_token_id = 1;
    std::vector<int> eos_token_id{2};

    static OptConfig fromJson(const io::ConfigReader& json);
    int embeddingWidth() const { return word_embed_proj_dim > 0 ? word_embed_proj_dim : hidden_size; }
};

class OptModel : public LanguageModel {
public:
    // `prefix` is "language_model"; vocabSize is the embedding table's row count.
    OptModel(const OptConfig& config, WeightLoader& weights, const std::string& prefix, WeightFormat format);

    std::unique_ptr<LanguageModelState> newState() const override;
    StepOutput prefill(LanguageModelState& state, const at::Tensor& queries, const std::vector<int>& ids,
                       const ProgressCallback& progress) const override;
    StepOutput prefillBatch(LanguageModelState& state, const at::Tensor& queries,
                            const std::vector<std::vector<int>>& ids, const ProgressCallback& progress) const override;
    StepOutput step(LanguageModelState& state, const at::Tensor& tokens) const override;
    at::Tensor forwardLogits(const at::Tensor& queries, const std::vector<int>& ids, const std::vector<int>& decoderIds,
                             LanguageModelAttentions* attentions = nullptr) const override;

    int hiddenSize() const override { return config_.hidden_size; }
    int vocabSize() const override { return int(lmHead_.outFeatures()); }
    std::int64_t maxPositions() const override { return config_.max_position_embeddings; }
    bool isEncoderDecoder() const override { return false; }
    std::size_t weightBytes() const override;
    std::size_t stepWeightBytes() const override;

private:
    struct Layer {
        LayerNorm selfAttnNorm, finalNorm;
        Linear q, k, v, out, fc1, fc2;
    };
    class State;

    at::Tensor embedTokens(const std::vector<int>& ids) const;  // [1, T, embeddingWidth]
    // Runs embeds [B, T, width] after the cached positions; returns the final hidden states
    // [B, T, hidden] and, when queryCount > 0, the last position's attention to each row's
    // queryCount soft-prompt positions [B, queryCount]. `allAttentions` receives each layer's
    // probabilities. `leftPadding` (empty: none) is each row's count of padding columns at the
    // start of the cache (a batch of unequal prompts).
    at::Tensor decode(KvCache& cache, const at::Tensor& embeds, std::int64_t queryCount, at::Tensor* queryAttention,
                      const ProgressCallback& progress, std::vector<at::Tensor>* allAttentions = nullptr,
                      const std::vector<std::int64_t>& leftPadding = {}) const;
    // queryColumns [B, 1, queryCount]: where each row's soft prompt is in the cache (undefined:
    // columns 0..queryCount-1 for every row).
    at::Tensor layerForward(const Layer& layer, int index, KvCache& cache, const at::Tensor& x, const at::Tensor& mask,
                            std::int64_t queryCount, const at::Tensor& queryColumns, at::Tensor* queryAttention,
                            std::vector<at::Tensor>* allAttentions) const;

    OptConfig config_;
    Activation activation_;
    Linear lmHead_;  // [vocab, width]; also the token embedding table when tied
    std::optional<Linear> untiedEmbedding_;
    at::Tensor positionEmbedding_;  // [max_position_embeddings + 2, hidden]
    std::optional<Linear> projectIn_, projectOut_;
    std::optional<LayerNorm> finalNorm_;
    std::vector<Layer> layers_;
};

}  // namespace querylens::model
