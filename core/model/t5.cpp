#include "model/t5.h"

#include "model/progress_check.h"
#include "querylens/error.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace querylens::model {

T5Config T5Config::fromJson(const io::ConfigReader& json)
{
    T5Config c;
    c.vocab_size = json.getInt("vocab_size", c.vocab_size);
    c.d_model = json.getInt("d_model", c.d_model);
    c.d_kv = json.getInt("d_kv", c.d_kv);
    c.d_ff = json.getInt("d_ff", c.d_ff);
    c.num_layers = json.getInt("num_layers", c.num_layers);
    c.num_decoder_layers = json.getInt("num_decoder_layers", c.num_layers);
    c.num_heads = json.getInt("num_heads", c.num_heads);
    c.relative_attention_num_buckets = json.getInt("relative_attention_num_buckets", c.relative_attention_num_buckets);
    c.relative_attention_max_distance = json.getInt("relative_attention_max_distance", c.relative_attention_max_distance);
    c.layer_norm_epsilon = json.getDouble("layer_norm_epsilon", c.layer_norm_epsilon);
    // "relu", "gelu", or "gated-" followed by the activation, as T5Config accepts it.
    const std::string proj = json.getString("feed_forward_proj", "relu");
    const auto dash = proj.find('-');
    if (dash != std::string::npos && (proj.substr(0, dash) != "gated" || proj.find('-', dash + 1) != std::string::npos))
        throw Error("'" + printableText(proj) + "' is not a feed-forward kind ('relu', 'gated-gelu', ...)", json.file(),
                    json.keyPath("feed_forward_proj"));
    c.is_gated_act = dash != std::string::npos;
    c.dense_act_fn = dash == std::string::npos ? proj : proj.substr(dash + 1);
    if (proj == "gated-gelu")
        c.dense_act_fn = "gelu_new";  // T5Config's backwards-compatible reading
    c.dense_act_fn = json.getString("dense_act_fn", c.dense_act_fn);
    c.tie_word_embeddings = json.getBool("tie_word_embeddings", c.tie_word_embeddings);
    c.eos_token_id = json.getIds("eos_token_id", c.eos_token_id);
    c.pad_token_id = json.getInt("pad_token_id", c.pad_token_id);
    c.decoder_start_token_id = json.getInt("decoder_start_token_id", c.pad_token_id);
    if (c.d_model <= 0 || c.num_heads <= 0 || c.d_kv <= 0)
        throw Error("d_model, num_heads and d_kv must be positive", json.file(), json.keyPath("d_model"));
    return c;
}

int relativePositionBucket(int relativePosition, bool bidirectional, int numBuckets, int maxDistance)
{
    int bucket = 0;
    int n = relativePosition;
    if (bidirectional) {
        numBuckets /= 2;
        if (n > 0)
            bucket += numBuckets;
        n = std::abs(n);
    } else {
        n = -std::min(n, 0);
    }
    const int maxExact = numBuckets / 2;
    if (n < maxExact)
        return bucket + n;
    // In float32, as the reference computes it, then truncated.
    const float scaled = std::log(float(n) / float(maxExact)) / float(std::log(double(maxDistance) / maxExact)) *
                         float(numBuckets - maxExact);
    const int large = std::min(maxExact + int(scaled), numBuckets - 1);
    return bucket + large;
}

class T5Model::State : public LanguageModelState {
public:
    explicit State(int decoderLayers) : self(decoderLayers) {}

    void selectRows(const at::Tensor& rows) override
    {
        self.selectRows(rows);
        // The encoder's keys and values stay one row per input, whatever the decoder rows
        // (beams) reading them: rows only remember which input they read. Inputs no row reads
        // any more (a batch row that finished) are dropped.
        const at::Tensor list = rows.to(at::kCPU, at::kLong).contiguous();
        std::vector<std::int64_t> picked;
        for (std::int64_t i = 0; i < list.size(0); ++i)
            picked.push_back(rowInput.at(std::size_t(list.data_ptr<std::int64_t>()[i])));
        std::vector<std::int64_t> used = picked;
        std::sort(used.begin(), used.end());
        used.erase(std::unique(used.begin(), used.end()), used.end());
        if (!crossKeys.empty() && std::int64_t(used.size()) < crossKeys.front().size(0)) {
            const at::Tensor keep = at::tensor(used, at::kLong).to(crossKeys.front().device());
            for (std::size_t l = 0; l < crossKeys.size(); ++l) {
                crossKeys[l] = crossKeys[l].index_select(0, keep);
                crossValues[l] = crossValues[l].index_select(0, keep);
            }
            if (encoderMask.defined())
                encoderMask = encoderMask.index_select(0, keep);
            for (auto& input : picked)
                input = std::lower_bound(used.begin(), used.end(), input) - used.begin();
        }
        rowInput = std::move(picked);
    }
    std::unique_ptr<LanguageModelState> clone() const override
    {
        auto copy = std::make_unique<State>(*this);
        copy->self = self.clone();
        return copy;
    }
    std::size_t cacheBytes() const override
    {
        std::size_t bytes = self.bytes();
        for (const auto& k : crossKeys)
            bytes += k.nbytes() * 2;
        return bytes;
    }
    std::int64_t reusedPositions() const override { return reused; }
    // The encoder is bidirectional: its output serves only an identical input.
    std::int64_t reusablePositions(const at::Tensor& input, const std::vector<int>& inputIds) const override
    {
        return holds(input, inputIds) ? input.size(1) + std::int64_t(inputIds.size()) : 0;
    }
    std::int64_t heldPositions() const override { return queries.defined() ? queries.size(1) + std::int64_t(ids.size()) : 0; }
    bool holds(const at::Tensor& input, const std::vector<int>& inputIds) const
    {
        return queries.defined() && !crossKeys.empty() && ids == inputIds && queries.sizes() == input.sizes() &&
               at::equal(queries, input);
    }

    KvCache self;
    std::vector<at::Tensor> crossKeys, crossValues;  // per decoder layer, [inputs, H, encoder length, d_kv]
    at::Tensor encoderMask;                          // [inputs, 1, 1, encoder length] at padding, or undefined
    std::vector<std::int64_t> rowInput{0};           // per decoder row: its row of crossKeys
    at::Tensor queries;                              // the encoder input it holds
    std::vector<int> ids;
    std::int64_t reused = 0;
};

T5Model::Attention T5Model::loadAttention(WeightLoader& weights, const std::string& prefix, WeightFormat format) const
{
    const std::int64_t d = config_.d_model, inner = std::int64_t(config_.num_heads) * config_.d_kv;
    return {Linear(weights, prefix + ".q", d, inner, false, format), Linear(weights, prefix + ".k", d, inner, false, format),
            Linear(weights, prefix + ".v", d, inner, false, format), Linear(weights, prefix + ".o", inner, d, false, format)};
}

T5Model::FeedForward T5Model::loadFeedForward(WeightLoader& weights, const std::string& prefix, WeightFormat format) const
{
    const std::int64_t d = config_.d_model, ff = config_.d_ff;
    if (config_.is_gated_act)
        return {Linear(weights, prefix + ".wi_0", d, ff, false, format), Linear(weights, prefix + ".wi_1", d, ff, false, format),
                Linear(weights, prefix + ".wo", ff, d, false, format)};
    return {Linear(weights, prefix + ".wi", d, ff, false, format), Linear(), Linear(weights, prefix + ".wo", ff, d, false, format)};
}

T5Model::T5Model(const T5Config& config, WeightLoader& weights, const std::string& prefix, WeightFormat format)
    : config_(config), activation_(parseActivation(config.dense_act_fn, "config.json", "text_config.dense_act_fn"))
{
    const std::string sharedName = prefix + ".shared.weight";
    if (!weights.contains(sharedName))
        throw Error("missing weight (the shared token embedding table)", weights.description(), sharedName);
    const auto stored = weights.storedShape(sharedName);
    const std::int64_t vocab = stored && !stored->empty() ? stored->front() : config.vocab_size;
    shared_ = Linear(weights, prefix + ".shared", config.d_model, vocab, false, format);
    // Both stacks' embed_tokens are aliases of shared; some checkpoints store them too.
    for (const char* stack : {".encoder", ".decoder"}) {
        const std::string alias = prefix + stack + ".embed_tokens.weight";
        if (weights.storedShape(alias))
            weights.skip(alias);
    }
    if (config.tie_word_embeddings) {
        lmHead_ = shared_;
        if (weights.storedShape(prefix + ".lm_head.weight"))
            weights.skip(prefix + ".lm_head.weight");
    } else {
        lmHead_ = Linear(weights, prefix + ".lm_head", config.d_model, vocab, false, format);
    }
    const std::int64_t d = config.d_model, buckets = config.relative_attention_num_buckets;
    const double eps = config.layer_norm_epsilon;
    for (int i = 0; i < config.num_layers; ++i) {
        const std::string lp = prefix + ".encoder.block." + std::to_string(i) + ".layer.";
        if (i == 0)
            encoderBias_ = weights.load(lp + "0.SelfAttention.relative_attention_bias.weight", {buckets, config.num_heads});
        encoder_.push_back({RmsNorm(weights, lp + "0.layer_norm", d, eps), RmsNorm(weights, lp + "1.layer_norm", d, eps),
                            loadAttention(weights, lp + "0.SelfAttention", format),
                            loadFeedForward(weights, lp + "1.DenseReluDense", format)});
    }
    encoderNorm_ = RmsNorm(weights, prefix + ".encoder.final_layer_norm", d, eps);
    for (int i = 0; i < config.num_decoder_layers; ++i) {
        const std::string lp = prefix + ".decoder.block." + std::to_string(i) + ".layer.";
        if (i == 0)
            decoderBias_ = weights.load(lp + "0.SelfAttention.relative_attention_bias.weight", {buckets, config.num_heads});
        decoder_.push_back({RmsNorm(weights, lp + "0.layer_norm", d, eps), RmsNorm(weights, lp + "1.layer_norm", d, eps),
                            RmsNorm(weights, lp + "2.layer_norm", d, eps),
                            loadAttention(weights, lp + "0.SelfAttention", format),
                            loadAttention(weights, lp + "1.EncDecAttention", format),
                            loadFeedForward(weights, lp + "2.DenseReluDense", format)});
    }
    decoderNorm_ = RmsNorm(weights, prefix + ".decoder.final_layer_norm", d, eps);
}

std::size_t T5Model::attentionBytes(const Attention& a)
{
    return a.q.weightBytes() + a.k.weightBytes() + a.v.weightBytes() + a.o.weightBytes();
}

std::size_t T5Model::feedForwardBytes(const FeedForward& ff) const
{
    return ff.wi0.weightBytes() + ff.wo.weightBytes() + (config_.is_gated_act ? ff.wi1.weightBytes() : 0);
}

std::size_t T5Model::weightBytes() const
{
    // Everything the language model holds, at its stored precision: with float32 weights this
    // is the byte size of the checkpoint's language_model.* tensors (tied tables counted once).
    std::size_t total = shared_.weightBytes() + (config_.tie_word_embeddings ? 0 : lmHead_.weightBytes());
    total += encoderBias_.nbytes() + decoderBias_.nbytes() + encoderNorm_.weight.nbytes() + decoderNorm_.weight.nbytes();
    for (const auto& layer : encoder_)
        total += attentionBytes(layer.attention) + feedForwardBytes(layer.ff) + layer.attentionNorm.weight.nbytes() +
                 layer.ffNorm.weight.nbytes();
    for (const auto& layer : decoder_)
        total += attentionBytes(layer.self) + attentionBytes(layer.cross) + feedForwardBytes(layer.ff) +
                 layer.selfNorm.weight.nbytes() + layer.crossNorm.weight.nbytes() + layer.ffNorm.weight.nbytes();
    return total;
}

std::size_t T5Model::stepWeightBytes() const
{
    std::size_t total = config_.tie_word_embeddings ? shared_.weightBytes() : lmHead_.weightBytes();
    for (const auto& layer : decoder_)
        total += attentionBytes(layer.self) + layer.cross.q.weightBytes() + layer.cross.o.weightBytes() +
                 feedForwardBytes(layer.ff);
    return total;
}

at::Tensor T5Model::feedForward(const FeedForward& ff, const at::Tensor& x) const
{
    at::Tensor h = apply(activation_, ff.wi0(x));
    if (config_.is_gated_act)
        h = h * ff.wi1(x);
    return ff.wo(h);
}

at::Tensor T5Model::embed(const std::vector<std::int64_t>& ids) const
{
    for (auto id : ids)
        if (id < 0 || id >= vocabSize())
            throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(vocabSize()));
    return shared_.rows(at::tensor(ids, at::kLong).to(encoderBias_.device())).unsqueeze(0);
}

at::Tensor T5Model::positionBias(const at::Tensor& table, std::int64_t queryStart, std::int64_t queries,
                                 std::int64_t keys, bool bidirectional) const
{
    std::vector<std::int64_t> buckets(std::size_t(queries * keys));
    for (std::int64_t i = 0; i < queries; ++i)
        for (std::int64_t j = 0; j < keys; ++j)
            buckets[std::size_t(i * keys + j)] =
                relativePositionBucket(int(j - (queryStart + i)), bidirectional, config_.relative_attention_num_buckets,
                                       config_.relative_attention_max_distance);
    const at::Tensor index = at::tensor(buckets, at::kLong).to(table.device());
    // [q*k, H] -> [1, H, q, k]
    return table.index_select(0, index).view({queries, keys, -1}).permute({2, 0, 1}).unsqueeze(0).contiguous();
}

at::Tensor T5Model::encode(const at::Tensor& queries, const std::vector<int>& ids, const ProgressCallback& progress,
                           std::vector<at::Tensor>* attentions) const
{
    const std::vector<std::int64_t> wide(ids.begin(), ids.end());
    return encodeEmbeddings(ids.empty() ? queries : at::cat({queries, embed(wide)}, 1), {}, progress, attentions);
}

at::Tensor T5Model::encodeEmbeddings(at::Tensor h, const at::Tensor& keyMask, const ProgressCallback& progress,
                                     std::vector<at::Tensor>* attentions) const
{
    const std::int64_t length = h.size(1), heads = config_.num_heads;
    at::Tensor bias = positionBias(encoderBias_, 0, length, length, /*bidirectional=*/true);  // [1, H, L, L]
    if (keyMask.defined())
        bias = bias + keyMask;  // [B, H, L, L]
    for (std::size_t i = 0; i < encoder_.size(); ++i) {
        reportProgress(progress, double(i) / double(encoder_.size() + decoder_.size()), "language model");
        const EncoderLayer& layer = encoder_[i];
        const at::Tensor normed = layer.attentionNorm(h);
        at::Tensor probs;
        const at::Tensor context = attention(splitHeads(layer.attention.q(normed), heads),
                                             splitHeads(layer.attention.k(normed), heads),
                                             splitHeads(layer.attention.v(normed), heads), 1.0, bias,
                                             attentions ? &probs : nullptr);
        if (attentions)
            attentions->push_back(probs);
        h = h + layer.attention.o(mergeHeads(context));
        h = h + feedForward(layer.ff, layer.ffNorm(h));
    }
    return encoderNorm_(h);
}

void T5Model::cacheEncoderOutput(State& state, const at::Tensor& encoded) const
{
    // Every decoder position attends to the same encoder keys and values: project them once.
    state.crossKeys.clear();
    state.crossValues.clear();
    for (const DecoderLayer& layer : decoder_) {
        // [1, L, H*d_kv] -> [1, H, L, d_kv], contiguous so that each step reads them as they are
        state.crossKeys.push_back(splitHeads(layer.cross.k(encoded), config_.num_heads).contiguous());
        state.crossValues.push_back(splitHeads(layer.cross.v(encoded), config_.num_heads).contiguous());
    }
}

namespace {

// Attention of decoder rows q [R, H, t, d] to encoder keys and values kept once per input
// (k, v [I, H, L, d]; mask [I, 1, 1, L] or undefined); rowInput[r] is row r's input. A step's
// rows of one input (its beams) attend as that input's query rows, so no key is ever copied.
at::Tensor crossAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                          const std::vector<std::int64_t>& rowInput, at::Tensor* probabilities)
{
    const std::int64_t rows = q.size(0), inputs = k.size(0), heads = q.size(1);
    bool identity = rows == inputs, grouped = rows % inputs == 0 && q.size(2) == 1;
    const std::int64_t perInput = grouped ? rows / inputs : 0;
    for (std::int64_t r = 0; r < rows; ++r) {
        identity = identity && rowInput[std::size_t(r)] == r;
        grouped = grouped && rowInput[std::size_t(r)] == r / perInput;
    }
    if (identity)
        return attention(q, k, v, 1.0, mask, probabilities);
    if (inputs == 1 && q.size(2) == 1) {  // [B, H, 1, d] -> [1, H, B, d] and back
        const at::Tensor context = attention(q.transpose(0, 2), k, v, 1.0, mask, probabilities);
        if (probabilities)
            *probabilities = probabilities->transpose(0, 2);
        return context.transpose(0, 2);
    }
    if (grouped) {  // [I*G, H, 1, d] -> [I, H, G, d] and back
        const at::Tensor byInput = q.view({inputs, perInput, heads, q.size(3)}).transpose(1, 2);
        const at::Tensor context = attention(byInput, k, v, 1.0, mask, probabilities);
        if (probabilities)
            *probabilities = probabilities->transpose(1, 2).reshape({rows, heads, 1, k.size(2)});
        return context.transpose(1, 2).reshape({rows, heads, 1, q.size(3)});
    }
    const at::Tensor index = at::tensor(rowInput, at::kLong).to(k.device());
    return attention(q, k.index_select(0, index), v.index_select(0, index), 1.0,
                     mask.defined() ? mask.index_select(0, index) : mask, probabilities);
}

}  // namespace

at::Tensor T5Model::decode(State& state, const at::Tensor& tokens, std::int64_t queryCount,
                           at::Tensor* queryAttention, const ProgressCallback& progress,
                           LanguageModelAttentions* attentions) const
{
    const std::int64_t past = state.self.length(), t = tokens.size(1), heads = config_.num_heads;
    at::Tensor h = shared_.rows(tokens.reshape({-1}).to(at::kLong)).view({tokens.size(0), t, config_.d_model});
    // Recording attentions under autograd (gradient explanations): the first decoder layer's
    // self-attention depends on no tensor that requires grad, so it would stay out of the graph
    // and its probabilities get no gradient. Making the token embeddings a leaf that does keeps
    // every layer in.
    if (attentions && at::GradMode::is_enabled() && !h.requires_grad())
        h = h.detach().requires_grad_(true);
    at::Tensor mask = positionBias(decoderBias_, past, t, past + t, /*bidirectional=*/false);
    if (t > 1)
        mask = mask + at::full({t, past + t}, -std::numeric_limits<float>::infinity(), h.options()).triu(past + 1);
    const bool wantAttention = queryAttention && queryCount > 0;
    at::Tensor attentionSum;
    const double layers = double(encoder_.size() + decoder_.size());
    for (std::size_t i = 0; i < decoder_.size(); ++i) {
        reportProgress(progress, double(encoder_.size() + i) / layers, "language model");
        const DecoderLayer& layer = decoder_[i];
        at::Tensor normed = layer.selfNorm(h);
        const auto [keys, values] = state.self.append(int(i), splitHeads(layer.self.k(normed), heads),
                                                      splitHeads(layer.self.v(normed), heads));
        at::Tensor selfProbs;
        h = h + layer.self.o(mergeHeads(attention(splitHeads(layer.self.q(normed), heads), keys, values, 1.0, mask,
                                                  attentions ? &selfProbs : nullptr)));
        if (attentions)
            attentions->self.push_back(selfProbs);

        normed = layer.crossNorm(h);
        at::Tensor probs;
        const at::Tensor context = crossAttention(splitHeads(layer.cross.q(normed), heads), state.crossKeys[i],
                                                  state.crossValues[i], state.encoderMask, state.rowInput,
                                                  wantAttention || attentions ? &probs : nullptr);
        if (attentions)
            attentions->cross.push_back(probs);
        if (wantAttention) {
            const at::Tensor last = probs.select(2, t - 1).narrow(-1, 0, queryCount).mean(1);  // [B, Q]
            attentionSum = attentionSum.defined() ? attentionSum + last : last;
        }
        h = h + layer.cross.o(mergeHeads(context));
        h = h + feedForward(layer.ff, layer.ffNorm(h));
    }
    if (wantAttention)
        *queryAttention = attentionSum / double(decoder_.size());
    return decoderNorm_(h);
}

at::Tensor T5Model::logits(const at::Tensor& hidden) const
{
    // A tied head reads the embedding table, which T5 scales by d_model^-0.5 first.
    return lmHead_(config_.tie_word_embeddings ? hidden * (1.0 / std::sqrt(double(config_.d_model))) : hidden);
}

std::unique_ptr<LanguageModelState> T5Model::newState() const { return std::make_unique<State>(int(decoder_.size())); }

StepOutput T5Model::prefill(LanguageModelState& base, const at::Tensor& queries, const std::vector<int>& ids,
                            const ProgressCallback& progress) const
{
    auto& state = static_cast<State&>(base);
    // The encoder is bidirectional: its output can be kept only when the whole input is the same.
    const bool same = state.crossKeys.size() == decoder_.size() && state.holds(queries, ids);
    if (same) {
        state.reused = queries.size(1) + std::int64_t(ids.size());
    } else {
        cacheEncoderOutput(state, encode(queries, ids, progress));
        state.queries = queries.clone();
        state.ids = ids;
        state.reused = 0;
    }
    state.encoderMask = at::Tensor();
    state.rowInput.assign(1, 0);
    state.self = KvCache(int(decoder_.size()));
    const at::Tensor start = at::full({1, 1}, config_.decoder_start_token_id, at::kLong).to(encoderBias_.device());
    StepOutput out;
    const at::Tensor hidden = decode(state, start, queries.size(1), &out.queryAttention, progress);
    out.logits = logits(hidden.select(1, 0));
    return out;
}

StepOutput T5Model::prefillBatch(LanguageModelState& base, const at::Tensor& queries,
                                 const std::vector<std::vector<int>>& ids, const ProgressCallback& progress) const
{
    auto& state = static_cast<State&>(base);
    const std::int64_t rows = queries.size(0), queryCount = queries.size(1);
    const std::int64_t longest = longestBatchPrompt(queries, ids);

    // The encoder's input [B, Q + longest, d_model]: soft prompt, prompt, padding at the end.
    // Relative positions depend only on distances, so a row's own positions are unchanged.
    const std::int64_t length = queryCount + longest;
    std::vector<at::Tensor> inputs;
    at::Tensor keyMask = at::zeros({rows, 1, 1, length}, queries.options());
    bool padded = false;
    for (std::int64_t b = 0; b < rows; ++b) {
        const auto& row = ids[std::size_t(b)];
        std::vector<at::Tensor> parts;
        parts.push_back(queries.narrow(0, b, 1));
        if (!row.empty())
            parts.push_back(embed(std::vector<std::int64_t>(row.begin(), row.end())));
        const std::int64_t pad = longest - std::int64_t(row.size());
        if (pad > 0) {
            parts.push_back(at::zeros({1, pad, queries.size(2)}, queries.options()));
            keyMask[b].narrow(-1, length - pad, pad).fill_(kPaddingScore);
            padded = true;
        }
        inputs.push_back(at::cat(parts, 1));
    }
    if (!padded)
        keyMask = at::Tensor();
    cacheEncoderOutput(state, encodeEmbeddings(at::cat(inputs, 0), keyMask, progress, nullptr));
    state.encoderMask = keyMask;
    state.rowInput.resize(std::size_t(rows));
    std::iota(state.rowInput.begin(), state.rowInput.end(), 0);
    state.queries = queries.clone();
    state.ids.clear();
    state.reused = 0;
    state.self = KvCache(int(decoder_.size()));

    const at::Tensor start = at::full({rows, 1}, config_.decoder_start_token_id, at::kLong).to(encoderBias_.device());
    StepOutput out;
    const at::Tensor hidden = decode(state, start, queryCount, &out.queryAttention, progress);
    out.logits = logits(hidden.select(1, 0));
    return out;
}

StepOutput T5Model::step(LanguageModelState& base, const at::Tensor& tokens) const
{
    auto& state = static_cast<State&>(base);
    StepOutput out;
    const at::Tensor hidden = decode(state, tokens.to(at::kLong).view({-1, 1}), state.queries.size(1), &out.queryAttention);
    out.logits = logits(hidden.select(1, 0));
    return out;
}

at::Tensor T5Model::forwardLogits(const at::Tensor& queries, const std::vector<int>& ids,
                                  const std::vector<int>& decoderIds, LanguageModelAttentions* attentions) const
{
    State state(int(decoder_.size()));
    cacheEncoderOutput(state, encode(queries, ids, {}, attentions ? &attentions->encoderSelf : nullptr));
    const std::vector<std::int64_t> wide(decoderIds.begin(), decoderIds.end());
    const at::Tensor tokens = at::tensor(wide, at::kLong).to(encoderBias_.device()).unsqueeze(0);
    return logits(decode(state, tokens, 0, nullptr, {}, attentions));
}

}  // namespace querylens::model
