#pragma once
// Flan-T5 as BLIP-2 uses it: an encoder over [32 soft-prompt vectors; prompt tokens] and a
// decoder that starts from decoder_start_token_id. RMS norms without bias, no scaling of
// attention scores, relative position buckets computed in the first layer of each stack and
// shared by the rest, gated-GELU feed-forward, untied lm_head. Hugging Face:
// T5ForConditionalGeneration in modeling_t5.py.

#include "io/json_file.h"
#include "model/kv_cache.h"
#include "model/language_model.h"
#include "model/layers.h"
#include "model/linear.h"

#include <vector>

namespace querylens::model {

// Keys of config.json's "text_config" (model_type "t5"); defaults are Hugging Face's T5Config.
struct T5Config {
    int vocab_size = 32128;
    int d_model = 512;
    int d_kv = 64;
    int d_ff = 2048;
    int num_layers = 6;
    int num_decoder_layers = 6;
    int num_heads = 8;
    int relative_attention_num_buckets = 32;
    int relative_attention_max_distance = 128;
    double layer_norm_epsilon = 1e-6;
    bool is_gated_act = false;
    std::string dense_act_fn = "relu";
    bool tie_word_embeddings = true;
    std::vector<int> eos_token_id{1};
    int pad_token_id = 0;
    int decoder_start_token_id = 0;

    // feed_forward_proj "gated-gelu" means gated with gelu_new, unless the file names
    // dense_act_fn itself (BLIP-2's Flan-T5 checkpoints say "gelu", the exact erf form).
    static T5Config fromJson(const io::ConfigReader& json);
};

// The bucket of a relative position (memory - query), as T5's _relative_position_bucket.
int relativePositionBucket(int relativePosition, bool bidirectional, int numBuckets, int maxDistance);

class T5Model : public LanguageModel {
public:
    T5Model(const T5Config& config, WeightLoader& weights, const std::string& prefix, WeightFormat format);

    std::unique_ptr<LanguageModelState> newState() const override;
    StepOutput prefill(LanguageModelState& state, const at::Tensor& queries, const std::vector<int>& ids,
                       const ProgressCallback& progress) const override;
    StepOutput prefillBatch(LanguageModelState& state, const at::Tensor& queries,
                            const std::vector<std::vector<int>>& ids, const ProgressCallback& progress) const override;
    StepOutput step(LanguageModelState& state, const at::Tensor& tokens) const override;
    at::Tensor forwardLogits(const at::Tensor& queries, const std::vector<int>& ids, const std::vector<int>& decoderIds,
                             LanguageModelAttentions* attentions = nullptr) const override;

    // The encoder's last hidden state for [queries; ids], [1, Q + T, d_model] (parity tests).
    // `attentions`, when given, receives each layer's self-attention probabilities.
    at::Tensor encode(const at::Tensor& queries, const std::vector<int>& ids, const ProgressCallback& progress = {},
                      std::vector<at::Tensor>* attentions = nullptr) const;

    int hiddenSize() const override { return config_.d_model; }
    int vocabSize() const override { return int(lmHead_.outFeatures()); }
    // Relative positions set no limit of their own, but the encoder's attention grows with the
    // square of its input (a 25 000-token prompt would need ~80 GB for one layer of Flan-T5-XL):
    // inputs (queries and prompt) are held to four times T5's pre-training length of 512.
    std::int64_t maxPositions() const override { return 2048; }
    bool isEncoderDecoder() const override { return true; }
    std::size_t weightBytes() const override;
    std::size_t stepWeightBytes() const override;

private:
    struct Attention {
        Linear q, k, v, o;
    };
    struct FeedForward {
        Linear wi0, wi1, wo;  // wi1 is unused (undefined) when not gated
    };
    struct EncoderLayer {
        RmsNorm attentionNorm, ffNorm;
        Attention attention;
        FeedForward ff;
    };
    struct DecoderLayer {
        RmsNorm selfNorm, crossNorm, ffNorm;
        Attention self, cross;
        FeedForward ff;
    };
    class State;

    Attention loadAttention(WeightLoader& weights, const std::string& prefix, WeightFormat format) const;
    FeedForward loadFeedForward(WeightLoader& weights, const std::string& prefix, WeightFormat format) const;
    at::Tensor feedForward(const FeedForward& ff, const at::Tensor& x) const;
    static std::size_t attentionBytes(const Attention& a);
    std::size_t feedForwardBytes(const FeedForward& ff) const;
    at::Tensor embed(const std::vector<std::int64_t>& ids) const;  // [1, T, d_model]
    // The encoder over embeddings h [B, L, d_model]; keyMask [B, 1, 1, L] (kPaddingScore at
    // padding) or undefined. `attentions` receives each layer's self-attention probabilities.
    at::Tensor encodeEmbeddings(at::Tensor h, const at::Tensor& keyMask, const ProgressCallback& progress,
                                std::vector<at::Tensor>* attentions) const;
    // Relative position bias [1, H, queries, keys] for query positions starting at `queryStart`.
    at::Tensor positionBias(const at::Tensor& table, std::int64_t queryStart, std::int64_t queries, std::int64_t keys,
                            bool bidirectional) const;
    // Runs the decoder over `tokens` [B, T] after the cached positions; returns the hidden
    // states [B, T, d_model] and, when asked, the newest position's cross-attention to the
    // first `queryCount` encoder positions, mean over layers and heads [B, queryCount].
    at::Tensor decode(State& state, const at::Tensor& tokens, std::int64_t queryCount, at::Tensor* queryAttention,
                      const ProgressCallback& progress = {}, LanguageModelAttentions* attentions = nullptr) const;
    // Projects the encoder output [B, L, d_model] to every decoder layer's cross-attention
    // keys and values, kept in the state.
    void cacheEncoderOutput(State& state, const at::Tensor& encoded) const;
    at::Tensor logits(const at::Tensor& hidden) const;

    T5Config config_;
    Activation activation_;
    Linear shared_;   // [vocab, d_model]: the token embeddings of both stacks
    Linear lmHead_;   // untied (BLIP-2's Flan-T5), else the shared table
    at::Tensor encoderBias_, decoderBias_;  // [buckets, heads]
    std::vector<EncoderLayer> encoder_;
    RmsNorm encoderNorm_;
    std::vector<DecoderLayer> decoder_;
    RmsNorm decoderNorm_;
};

}  // namespace querylens::model
