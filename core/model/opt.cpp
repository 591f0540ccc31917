#include "model/opt.h"

#include "model/progress_check.h"
#include "querylens/error.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace querylens::model {

// OPT's learned positions start at 2: rows 0 and 1 of the table were reserved for padding in fairseq.
constexpr std::int64_t kPositionOffset = 2;

OptConfig OptConfig::fromJson(const io::ConfigReader& json)
{
    OptConfig c;
    c.vocab_size = json.getInt("vocab_size", c.vocab_size);
    c.hidden_size = json.getInt("hidden_size", c.hidden_size);
    c.num_hidden_layers = json.getInt("num_hidden_layers", c.num_hidden_layers);
    c.ffn_dim = json.getInt("ffn_dim", c.ffn_dim);
    c.num_attention_heads = json.getInt("num_attention_heads", c.num_attention_heads);
    c.max_position_embeddings = json.getInt("max_position_embeddings", c.max_position_embeddings);
    c.do_layer_norm_before = json.getBool("do_layer_norm_before", c.do_layer_norm_before);
    c._remove_final_layer_norm = json.getBool("_remove_final_layer_norm", c._remove_final_layer_norm);
    c.word_embed_proj_dim = json.getInt("word_embed_proj_dim", c.hidden_size);
    c.activation_function = json.getString("activation_function", c.activation_function);
    c.enable_bias = json.getBool("enable_bias", c.enable_bias);
    c.layer_norm_elementwise_affine = json.getBool("layer_norm_elementwise_affine", c.layer_norm_elementwise_affine);
    c.tie_word_embeddings = json.getBool("tie_word_embeddings", c.tie_word_embeddings);
    c.bos_token_id = json.getInt("bos_token_id", c.bos_token_id);
    c.pad_token_id = json.getInt("pad_token_id", c.pad_token_id);
    c.eos_token_id = json.getIds("eos_token_id", c.eos_token_id);
    if (c.num_attention_heads <= 0 || c.hidden_size % c.num_attention_heads != 0)
        throw Error("hidden_size must be a multiple of num_attention_heads", json.file(),
                    json.keyPath("num_attention_heads"));
    if (!c.layer_norm_elementwise_affine)
        throw Error("OPT without LayerNorm weights is not supported", json.file(),
                    json.keyPath("layer_norm_elementwise_affine"));
    return c;
}

// What OPT keeps between calls: the cache, and what it was computed from, so that the next
// prompt can reuse the longest shared prefix.
class OptModel::State : public LanguageModelState {
public:
    explicit State(int layers) : cache(layers) {}

    void selectRows(const at::Tensor& rows) override
    {
        cache.selectRows(rows);
        std::vector<std::vector<int>> picked;
        std::vector<std::int64_t> padding;
        const at::Tensor list = rows.to(at::kCPU, at::kLong).contiguous();
        for (std::int64_t i = 0; i < list.size(0); ++i) {
            const auto row = static_cast<std::size_t>(list.data_ptr<std::int64_t>()[i]);
            picked.push_back(rowIds.at(row));
            padding.push_back(leftPadding.empty() ? 0 : leftPadding.at(row));
        }
        rowIds = std::move(picked);
        leftPadding = std::move(padding);
    }
    std::unique_ptr<LanguageModelState> clone() const override
    {
        auto copy = std::make_unique<State>(*this);
        copy->cache = cache.clone();
        return copy;
    }
    std::size_t cacheBytes() const override { return cache.bytes(); }
    std::int64_t reusedPositions() const override { return reused; }
    std::int64_t reusablePositions(const at::Tensor& input, const std::vector<int>& ids) const override
    {
        const std::int64_t shared = sharedIds(input, ids);
        return shared < 0 ? 0 : input.size(1) + shared;
    }
    std::int64_t heldPositions() const override { return cache.rows() == 1 ? cache.length() : 0; }

    // How many of `ids` the cache holds after the same soft prompt, or -1 when it cannot be
    // reused at all. The last id is never counted: its logits are what prefill returns.
    std::int64_t sharedIds(const at::Tensor& input, const std::vector<int>& ids) const
    {
        if (ids.empty() || cache.rows() != 1 || !queries.defined() || queries.sizes() != input.sizes() ||
            !at::equal(queries, input))
            return -1;
        const auto& cached = rowIds.front();
        std::size_t shared = 0;
        while (shared + 1 < ids.size() && shared < cached.size() && cached[shared] == ids[shared])
            ++shared;
        return std::int64_t(shared);
    }

    KvCache cache;
    at::Tensor queries;                   // [1, Q, hidden] the soft prompt the cache starts with
    std::vector<std::vector<int>> rowIds;  // per row: token ids after the queries that are in the cache
    std::vector<std::int64_t> leftPadding;  // per row: padding columns before its input (prefillBatch)
    std::int64_t reused = 0;
};

OptModel::OptModel(const OptConfig& config, WeightLoader& weights, const std::string& prefix, WeightFormat format)
    : config_(config), activation_(parseActivation(config.activation_function, "config.json",
                                                    "text_config.activation_function"))
{
    const std::string dp = prefix + ".model.decoder";
    const std::int64_t d = config.hidden_size, width = config.embeddingWidth();
    const std::string embedName = dp + ".embed_tokens.weight";
    if (!weights.contains(embedName))
        throw Error("missing weight (the token embedding table)", weights.description(), embedName);
    // The vocabulary is the table's: the late-2024 Hub layout resized it (e.g. 50272 -> 50304).
    const auto stored = weights.storedShape(embedName);
    const std::int64_t vocab = stored && !stored->empty() ? stored->front() : config.vocab_size;

    if (config.tie_word_embeddings) {
        lmHead_ = Linear(weights, dp + ".embed_tokens", width, vocab, false, format);
        if (weights.contains(prefix + ".lm_head.weight"))
            weights.skip(prefix + ".lm_head.weight");  // a stored alias of the tied table
    } else {
        lmHead_ = Linear(weights, prefix + ".lm_head", width, vocab, false, format);
        untiedEmbedding_ = Linear(weights, dp + ".embed_tokens", width, vocab, false, format);
    }
    positionEmbedding_ = weights.load(dp + ".embed_positions.weight", {config.max_position_embeddings + kPositionOffset, d});
    if (width != d) {
        projectIn_ = Linear(weights, dp + ".project_in", width, d, false, format);
        projectOut_ = Linear(weights, dp + ".project_out", d, width, false, format);
    }
    if (config.do_layer_norm_before && !config._remove_final_layer_norm)
        finalNorm_ = LayerNorm(weights, dp + ".final_layer_norm", d, 1e-5);

    const bool bias = config.enable_bias;
    for (int i = 0; i < config.num_hidden_layers; ++i) {
        const std::string lp = dp + ".layers." + std::to_string(i);
        layers_.push_back(Layer{
            LayerNorm(weights, lp + ".self_attn_layer_norm", d, 1e-5),
            LayerNorm(weights, lp + ".final_layer_norm", d, 1e-5),
            Linear(weights, lp + ".self_attn.q_proj", d, d, bias, format),
            Linear(weights, lp + ".self_attn.k_proj", d, d, bias, format),
            Linear(weights, lp + ".self_attn.v_proj", d, d, bias, format),
            Linear(weights, lp + ".self_attn.out_proj", d, d, bias, format),
            Linear(weights, lp + ".fc1", d, config.ffn_dim, bias, format),
            Linear(weights, lp + ".fc2", config.ffn_dim, d, bias, format),
        });
    }
}

std::size_t OptModel::weightBytes() const
{
    std::size_t total = lmHead_.weightBytes() + positionEmbedding_.nbytes();
    for (const auto& layer : layers_)
        for (const Linear* l : {&layer.q, &layer.k, &layer.v, &layer.out, &layer.fc1, &layer.fc2})
            total += l->weightBytes();
    return total;
}

std::size_t OptModel::stepWeightBytes() const
{
    return weightBytes() - positionEmbedding_.nbytes();
}

std::unique_ptr<LanguageModelState> OptModel::newState() const
{
    return std::make_unique<State>(config_.num_hidden_layers);
}

at::Tensor OptModel::embedTokens(const std::vector<int>& ids) const
{
    std::vector<std::int64_t> wide(ids.begin(), ids.end());
    for (auto id : wide)
        if (id < 0 || id >= vocabSize())
            throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " +
                        std::to_string(vocabSize()));
    const at::Tensor index = at::tensor(wide, at::kLong).to(positionEmbedding_.device());
    const Linear& table = untiedEmbedding_ ? *untiedEmbedding_ : lmHead_;
    return table.rows(index).unsqueeze(0);
}

at::Tensor OptModel::layerForward(const Layer& layer, int index, KvCache& cache, const at::Tensor& x,
                                  const at::Tensor& mask, std::int64_t queryCount, const at::Tensor& queryColumns,
                                  at::Tensor* queryAttention, std::vector<at::Tensor>* allAttentions) const
{
    const std::int64_t heads = config_.num_attention_heads;
    const double scale = 1.0 / std::sqrt(double(config_.hidden_size / heads));

    at::Tensor h = config_.do_layer_norm_before ? layer.selfAttnNorm(x) : x;
    // OPT scales the query before the product (HF: q_proj(h) * scaling); same result as scaling scores.
    const at::Tensor q = splitHeads(layer.q(h) * scale, heads);
    const auto [keys, values] = cache.append(index, splitHeads(layer.k(h), heads), splitHeads(layer.v(h), heads));
    at::Tensor probs;
    const at::Tensor context = attention(q, keys, values, 1.0, mask, queryAttention || allAttentions ? &probs : nullptr);
    if (allAttentions)
        allAttentions->push_back(probs);
    if (queryAttention) {
        // probs [B, H, T, L]: the newest position's attention to the soft prompt, mean over heads.
        const at::Tensor newest = probs.select(2, probs.size(2) - 1);  // [B, H, L]
        const at::Tensor last = (queryColumns.defined()
                                     ? newest.gather(-1, queryColumns.expand({newest.size(0), newest.size(1), queryCount}))
                                     : newest.narrow(-1, 0, queryCount))
                                    .mean(1);
        *queryAttention = queryAttention->defined() ? *queryAttention + last : last;
    }
    h = x + layer.out(mergeHeads(context));
    if (!config_.do_layer_norm_before)
        h = layer.selfAttnNorm(h);

    at::Tensor ffn = config_.do_layer_norm_before ? layer.finalNorm(h) : h;
    h = h + layer.fc2(apply(activation_, layer.fc1(ffn)));
    return config_.do_layer_norm_before ? h : layer.finalNorm(h);
}

at::Tensor OptModel::decode(KvCache& cache, const at::Tensor& embeds, std::int64_t queryCount,
                            at::Tensor* queryAttention, const ProgressCallback& progress,
                            std::vector<at::Tensor>* allAttentions, const std::vector<std::int64_t>& leftPadding) const
{
    const std::int64_t past = cache.length(), t = embeds.size(1), total = past + t, rows = embeds.size(0);
    const bool padded = std::any_of(leftPadding.begin(), leftPadding.end(), [](std::int64_t p) { return p > 0; });
    const std::int64_t fewestPads = padded ? *std::min_element(leftPadding.begin(), leftPadding.end()) : 0;
    if (total - fewestPads > config_.max_position_embeddings)
        throw Error("the input needs " + std::to_string(total - fewestPads) +
                    " positions (32 for the image), but the model has " + std::to_string(config_.max_position_embeddings));

    at::Tensor h = projectIn_ ? (*projectIn_)(embeds) : embeds;
    // Causal mask over [new positions, all positions]: position past+i sees 0..past+i.
    at::Tensor mask;
    if (t > 1)
        mask = at::full({t, total}, -std::numeric_limits<float>::infinity(), h.options()).triu(past + 1);
    at::Tensor queryColumns;
    if (!padded) {
        const at::Tensor positions = at::arange(past + kPositionOffset, total + kPositionOffset, at::kLong)
                                         .to(positionEmbedding_.device());
        h = h + positionEmbedding_.index_select(0, positions).unsqueeze(0);
    } else {
        // Row b's input starts after its leftPadding[b] columns: its positions count from there
        // (HF: cumsum(attention_mask) - 1), and its padding columns are masked as keys.
        std::vector<std::int64_t> positions(std::size_t(rows * t)), columns(std::size_t(rows * queryCount));
        at::Tensor padMask = at::zeros({rows, 1, 1, total}, h.options());  // [B, 1, 1, L]
        for (std::int64_t b = 0; b < rows; ++b) {
            const std::int64_t pad = leftPadding.at(std::size_t(b));
            for (std::int64_t i = 0; i < t; ++i)
                positions[std::size_t(b * t + i)] = std::max<std::int64_t>(past + i - pad, 0) + kPositionOffset;
            for (std::int64_t q = 0; q < queryCount; ++q)
                columns[std::size_t(b * queryCount + q)] = pad + q;
            if (pad > 0)
                padMask[b].narrow(-1, 0, pad).fill_(kPaddingScore);
        }
        const at::Tensor index = at::tensor(positions, at::kLong).to(positionEmbedding_.device());
        h = h + positionEmbedding_.index_select(0, index).view({rows, t, -1});  // [B, T, hidden]
        mask = mask.defined() ? padMask + mask : padMask;                       // [B, 1, T, L]
        queryColumns = at::tensor(columns, at::kLong).view({rows, 1, queryCount}).to(h.device());
    }

    if (queryAttention)
        *queryAttention = at::Tensor();
    const bool wantAttention = queryAttention && queryCount > 0;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        reportProgress(progress, double(i) / double(layers_.size()), "language model");
        h = layerForward(layers_[i], int(i), cache, h, mask, queryCount, queryColumns,
                         wantAttention ? queryAttention : nullptr, allAttentions);
    }
    if (wantAttention)
        *queryAttention = *queryAttention / double(layers_.size());
    if (finalNorm_)
        h = (*finalNorm_)(h);
    if (projectOut_)
        h = (*projectOut_)(h);
    return h;
}

StepOutput OptModel::prefill(LanguageModelState& base, const at::Tensor& queries, const std::vector<int>& ids,
                             const ProgressCallback& progress) const
{
    auto& state = static_cast<State&>(base);
    const std::int64_t queryCount = queries.size(1);

    // Reuse the cached prefix when the soft prompt is the same and the ids share a start; at
    // least the last id is always run, since its logits are what prefill returns.
    const std::int64_t shared = state.sharedIds(queries, ids);
    at::Tensor embeds;
    if (shared >= 0) {
        state.cache.truncate(queryCount + shared);
        embeds = embedTokens(std::vector<int>(ids.begin() + std::ptrdiff_t(shared), ids.end()));
        state.reused = queryCount + shared;
    } else {
        state.cache = KvCache(config_.num_hidden_layers);
        state.queries = queries.clone();
        embeds = ids.empty() ? queries : at::cat({queries, embedTokens(ids)}, 1);
        state.reused = 0;
    }
    state.rowIds.assign(1, ids);
    state.leftPadding.assign(1, 0);

    StepOutput out;
    const at::Tensor hidden = decode(state.cache, embeds, queryCount, &out.queryAttention, progress);
    out.logits = lmHead_(hidden.select(1, hidden.size(1) - 1));
    return out;
}

StepOutput OptModel::step(LanguageModelState& base, const at::Tensor& tokens) const
{
    auto& state = static_cast<State&>(base);
    const at::Tensor tokenList = tokens.to(at::kCPU, at::kLong).contiguous();
    const Linear& table = untiedEmbedding_ ? *untiedEmbedding_ : lmHead_;
    const at::Tensor embeds = table.rows(tokenList.to(positionEmbedding_.device())).unsqueeze(1);  // [B, 1, width]
    for (std::int64_t r = 0; r < tokenList.size(0); ++r)
        state.rowIds.at(static_cast<std::size_t>(r)).push_back(int(tokenList.data_ptr<std::int64_t>()[r]));

    StepOutput out;
    const at::Tensor hidden =
        decode(state.cache, embeds, state.queries.size(1), &out.queryAttention, {}, nullptr, state.leftPadding);
    out.logits = lmHead_(hidden.select(1, 0));
    return out;
}

StepOutput OptModel::prefillBatch(LanguageModelState& base, const at::Tensor& queries,
                                  const std::vector<std::vector<int>>& ids, const ProgressCallback& progress) const
{
    auto& state = static_cast<State&>(base);
    const std::int64_t rows = queries.size(0), queryCount = queries.size(1);
    const std::int64_t longest = longestBatchPrompt(queries, ids);

    // embeds [B, pad + Q + T_b = Q + longest, width]: padding (zeros), the soft prompt, the prompt.
    std::vector<at::Tensor> padded;
    state.leftPadding.clear();
    for (std::int64_t b = 0; b < rows; ++b) {
        const std::int64_t pad = longest - std::int64_t(ids[std::size_t(b)].size());
        std::vector<at::Tensor> parts;
        if (pad > 0)
            parts.push_back(at::zeros({1, pad, queries.size(2)}, queries.options()));
        parts.push_back(queries.narrow(0, b, 1));
        if (!ids[std::size_t(b)].empty())
            parts.push_back(embedTokens(ids[std::size_t(b)]));
        padded.push_back(at::cat(parts, 1));
        state.leftPadding.push_back(pad);
    }
    state.cache = KvCache(config_.num_hidden_layers);
    state.queries = queries.clone();
    state.rowIds = ids;
    state.reused = 0;

    StepOutput out;
    const at::Tensor hidden = decode(state.cache, at::cat(padded, 0), queryCount, &out.queryAttention, progress,
                                     nullptr, state.leftPadding);
    out.logits = lmHead_(hidden.select(1, hidden.size(1) - 1));
    return out;
}

at::Tensor OptModel::forwardLogits(const at::Tensor& queries, const std::vector<int>& ids, const std::vector<int>&,
                                   LanguageModelAttentions* attentions) const
{
    KvCache cache(config_.num_hidden_layers);
    const at::Tensor embeds = at::cat({queries, embedTokens(ids)}, 1);
    return lmHead_(decode(cache, embeds, 0, nullptr, {}, attentions ? &attentions->self : nullptr));
}

}  // namespace querylens::model
