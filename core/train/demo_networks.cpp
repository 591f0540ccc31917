#include "train/demo_networks.h"

#include "querylens/error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace querylens::train {

namespace {

constexpr double kVisionEps = 1e-6, kQFormerEps = 1e-12, kOptEps = 1e-5;
// OPT's learned positions start at row 2 (fairseq kept rows 0 and 1 for padding).
constexpr std::int64_t kOptPositionOffset = 2;

at::Tensor linear(const ParameterSet& p, const std::string& prefix, const at::Tensor& x, bool bias = true)
{
    return at::linear(x, p[prefix + ".weight"], bias ? p[prefix + ".bias"] : at::Tensor());
}

at::Tensor layerNorm(const ParameterSet& p, const std::string& prefix, const at::Tensor& x, double eps)
{
    const at::Tensor& w = p[prefix + ".weight"];
    return at::layer_norm(x, {w.size(0)}, w, p[prefix + ".bias"], eps);
}

// [B, T, H*d] -> [B, H, T, d]
at::Tensor heads(const at::Tensor& x, std::int64_t count)
{
    return x.view({x.size(0), x.size(1), count, x.size(2) / count}).transpose(1, 2);
}

// [B, H, T, d] -> [B, T, H*d]
at::Tensor merge(const at::Tensor& x) { return x.transpose(1, 2).reshape({x.size(0), x.size(2), -1}); }

// softmax(q k^T * scale + mask) v; `probs` receives the probabilities [B, H, Tq, Tk].
at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double scale, const at::Tensor& mask,
                  at::Tensor* probs = nullptr)
{
    at::Tensor scores = at::matmul(q, k.transpose(-1, -2)) * scale;
    if (mask.defined())
        scores = scores + mask;
    at::Tensor p = at::softmax(scores, -1);
    if (probs)
        *probs = p;
    return at::matmul(p, v);
}

struct Initialiser {
    ParameterSet& set;
    at::Generator generator;

    void matrix(const std::string& name, std::int64_t out, std::int64_t in, bool bias = true)
    {
        set.add(name + ".weight", at::empty({out, in}).normal_(0.0, 0.02, generator));
        if (bias)
            set.add(name + ".bias", at::zeros({out}));
    }
    void norm(const std::string& name, std::int64_t dim)
    {
        set.add(name + ".weight", at::ones({dim}));
        set.add(name + ".bias", at::zeros({dim}));
    }
    void tensor(const std::string& name, at::IntArrayRef shape)
    {
        set.add(name, at::empty(shape).normal_(0.0, 0.02, generator));
    }
};

// 2D sine-cosine positions (MAE's fixed embedding, here only the start of a trained one)
// [1, 1 + grid^2, d]: the first half of the width codes the row, the second the column, the
// class token gets zeros. Started at N(0, 0.02) instead, the positions are ~20x weaker than a
// patch's content and AdamW grows them by ~lr a step: the ViT could not tell where a patch was
// for its first ~200 steps (the position head stayed at ln 10), nor learn shapes, which are
// arrangements of patches.
at::Tensor gridPositions(std::int64_t grid, std::int64_t d, std::int64_t tokens)
{
    at::Tensor table = at::zeros({1, tokens, d});
    auto a = table.accessor<float, 3>();
    const std::int64_t quarter = d / 4;
    for (std::int64_t r = 0; r < grid; ++r)
        for (std::int64_t c = 0; c < grid; ++c)
            for (std::int64_t k = 0; k < quarter; ++k) {
                // Periods from 3 patches to twice the grid, spaced geometrically (MAE's base
                // 10000 would leave most of them nearly constant over a 10-patch grid).
                const double shortest = 2 * 3.14159265358979 / 3, longest = 3.14159265358979 / double(grid);
                const double omega = shortest * std::pow(longest / shortest,
                                                         double(k) / double(std::max<std::int64_t>(1, quarter - 1)));
                const std::int64_t t = 1 + r * grid + c;
                a[0][t][k] = float(std::sin(double(r) * omega));
                a[0][t][quarter + k] = float(std::cos(double(r) * omega));
                a[0][t][2 * quarter + k] = float(std::sin(double(c) * omega));
                a[0][t][3 * quarter + k] = float(std::cos(double(c) * omega));
            }
    return table;
}

}  // namespace

void ParameterSet::add(const std::string& name, at::Tensor value)
{
    if (tensors_.count(name))
        throw Error("parameter defined twice", {}, name);
    order_.push_back(name);
    tensors_[name] = value.contiguous().set_requires_grad(true);
}

const at::Tensor& ParameterSet::operator[](const std::string& name) const
{
    const auto it = tensors_.find(name);
    if (it == tensors_.end())
        throw Error("no such parameter in the demo model", {}, name);
    return it->second;
}

std::vector<at::Tensor> ParameterSet::select(const std::vector<std::string>& prefixes) const
{
    std::vector<at::Tensor> out;
    for (const auto& name : order_)
        for (const auto& prefix : prefixes)
            if (name.rfind(prefix, 0) == 0) {
                out.push_back(tensors_.at(name));
                break;
            }
    return out;
}

void ParameterSet::setTrainable(const std::vector<std::string>& prefixes, bool trainable)
{
    for (auto& t : select(prefixes))
        t.set_requires_grad(trainable);
}

std::map<std::string, at::Tensor> ParameterSet::snapshot(const std::vector<std::string>& prefixes) const
{
    std::map<std::string, at::Tensor> copies;
    for (const auto& name : order_)
        for (const auto& prefix : prefixes)
            if (name.rfind(prefix, 0) == 0) {
                copies[name] = tensors_.at(name).detach().clone();
                break;
            }
    return copies;
}

void ParameterSet::restore(const std::map<std::string, at::Tensor>& snapshot)
{
    at::NoGradGuard noGrad;
    for (const auto& [name, value] : snapshot)
        tensors_.at(name).copy_(value);
}

ParameterSet initialParameters(const DemoGeometry& g, std::uint64_t seed)
{
    ParameterSet set;
    Initialiser init{set, at::make_generator<at::CPUGeneratorImpl>(seed)};
    const int dv = g.visionHidden, dq = g.qformerHidden, dl = g.optHidden, p = g.patchSize;

    // Vision encoder (Blip2VisionModel).
    init.tensor("vision_model.embeddings.class_embedding", {1, 1, dv});
    set.add("vision_model.embeddings.patch_embedding.weight", at::empty({dv, 3, p, p}).normal_(0.0, 0.02, init.generator));
    set.add("vision_model.embeddings.patch_embedding.bias", at::zeros({dv}));
    set.add("vision_model.embeddings.position_embedding", gridPositions(g.grid(), dv, g.tokens()));
    for (int i = 0; i < g.visionLayers; ++i) {
        const std::string l = "vision_model.encoder.layers." + std::to_string(i);
        init.norm(l + ".layer_norm1", dv);
        init.matrix(l + ".self_attn.qkv", 3 * dv, dv);
        init.matrix(l + ".self_attn.projection", dv, dv);
        init.norm(l + ".layer_norm2", dv);
        init.matrix(l + ".mlp.fc1", g.visionMlp, dv);
        init.matrix(l + ".mlp.fc2", dv, g.visionMlp);
    }
    init.norm("vision_model.post_layernorm", dv);
    // The vision encoder's pre-training heads (what each patch shows, and where it is); not exported.
    init.matrix("head.patch_colour", kPatchColourClasses, dv);
    init.matrix("head.patch_shape", kPatchShapeClasses, dv);
    init.matrix("head.patch_size", kPatchSizeClasses, dv);
    // Per object: its patches' mean output names its shape and size (what the Q-Former will pool).
    init.matrix("head.object_shape", kPatchShapeClasses - 1, dv);
    init.matrix("head.object_size", kPatchSizeClasses - 1, dv);
    init.matrix("head.patch_row", g.grid(), dv);
    init.matrix("head.patch_column", g.grid(), dv);

    // Q-Former (Blip2QFormerModel with its text branch) and its queries.
    init.tensor("query_tokens", {1, g.queries, dq});
    init.norm("qformer.layernorm", dq);
    auto attentionBlock = [&](const std::string& prefix, int keyWidth, double queryKeyDeviation) {
        // Cross-attention starts with logits of standard deviation ~1.5 (N(0, 0.15) query and key
        // matrices) rather than BERT's ~0.01: from a near-uniform start, neither the losses nor an
        // entropy term move the softmax (its gradient vanishes there), and the maps stay flat.
        set.add(prefix + ".attention.query.weight", at::empty({dq, dq}).normal_(0.0, queryKeyDeviation, init.generator));
        set.add(prefix + ".attention.query.bias", at::zeros({dq}));
        set.add(prefix + ".attention.key.weight", at::empty({dq, keyWidth}).normal_(0.0, queryKeyDeviation, init.generator));
        set.add(prefix + ".attention.key.bias", at::zeros({dq}));
        init.matrix(prefix + ".attention.value", dq, keyWidth);
        init.matrix(prefix + ".output.dense", dq, dq);
        init.norm(prefix + ".output.LayerNorm", dq);
    };
    for (int i = 0; i < g.qformerLayers; ++i) {
        const std::string l = "qformer.encoder.layer." + std::to_string(i);
        attentionBlock(l + ".attention", dq, 0.02);
        if (i % g.crossAttentionFrequency == 0)
            attentionBlock(l + ".crossattention", dv, 0.15);
        init.matrix(l + ".intermediate_query.dense", g.qformerIntermediate, dq);
        init.matrix(l + ".output_query.dense", dq, g.qformerIntermediate);
        init.norm(l + ".output_query.LayerNorm", dq);
        init.matrix(l + ".intermediate.dense", g.qformerIntermediate, dq);
        init.matrix(l + ".output.dense", dq, g.qformerIntermediate);
        init.norm(l + ".output.LayerNorm", dq);
    }
    if (g.textVocab > 0) {
        init.tensor("embeddings.word_embeddings.weight", {g.textVocab, dq});
        init.tensor("embeddings.position_embeddings.weight", {g.textPositions, dq});
        // ITG's language-model head: BERT's prediction transform, decoder tied to the word embeddings.
        init.matrix("head.itg.transform", dq, dq);
        init.norm("head.itg.norm", dq);
        set.add("head.itg.bias", at::zeros({g.textVocab}));
    }
    init.matrix("vision_projection", g.embedDim, dq);
    init.matrix("text_projection", g.embedDim, dq);
    init.matrix("itm_head", 2, dq);
    init.matrix("language_projection", dl, dq);

    // OPT decoder (OPTForCausalLM, lm_head tied to embed_tokens).
    if (g.optVocab > 0) {
        const std::string d = "language_model.model.decoder";
        init.tensor(d + ".embed_tokens.weight", {g.optVocab, dl});
        init.tensor(d + ".embed_positions.weight", {g.optPositions + kOptPositionOffset, dl});
        for (int i = 0; i < g.optLayers; ++i) {
            const std::string l = d + ".layers." + std::to_string(i);
            init.norm(l + ".self_attn_layer_norm", dl);
            for (const char* proj : {"q_proj", "k_proj", "v_proj", "out_proj"})
                init.matrix(l + ".self_attn." + proj, dl, dl);
            init.norm(l + ".final_layer_norm", dl);
            init.matrix(l + ".fc1", g.optFfn, dl);
            init.matrix(l + ".fc2", dl, g.optFfn);
        }
        init.norm(d + ".final_layer_norm", dl);
    }
    return set;
}

at::Tensor visionForward(const ParameterSet& p, const DemoGeometry& g, const at::Tensor& pixels)
{
    const std::int64_t b = pixels.size(0), ps = g.patchSize, grid = g.grid(), d = g.visionHidden;
    // [B, 3, g*p, g*p] -> [B, g*g, 3*p*p]: the stride-p convolution as one product.
    const at::Tensor patches = pixels.view({b, 3, grid, ps, grid, ps}).permute({0, 2, 4, 1, 3, 5}).reshape({b, grid * grid, 3 * ps * ps});
    const at::Tensor weight = p["vision_model.embeddings.patch_embedding.weight"].reshape({d, 3 * ps * ps});
    at::Tensor h = at::linear(patches, weight, p["vision_model.embeddings.patch_embedding.bias"]);
    h = at::cat({p["vision_model.embeddings.class_embedding"].expand({b, 1, d}), h}, 1) +
        p["vision_model.embeddings.position_embedding"];
    const double scale = 1.0 / std::sqrt(double(d / g.visionHeads));
    for (int i = 0; i < g.visionLayers; ++i) {
        const std::string l = "vision_model.encoder.layers." + std::to_string(i);
        const at::Tensor qkv = linear(p, l + ".self_attn.qkv", layerNorm(p, l + ".layer_norm1", h, kVisionEps));
        const auto parts = qkv.chunk(3, -1);
        const at::Tensor context = attend(heads(parts[0], g.visionHeads), heads(parts[1], g.visionHeads),
                                          heads(parts[2], g.visionHeads), scale, {});
        h = h + linear(p, l + ".self_attn.projection", merge(context));
        const at::Tensor m = at::gelu(linear(p, l + ".mlp.fc1", layerNorm(p, l + ".layer_norm2", h, kVisionEps)));
        h = h + linear(p, l + ".mlp.fc2", m);
    }
    return layerNorm(p, "vision_model.post_layernorm", h, kVisionEps);
}

namespace {

// Additive self-attention mask [B, 1, R, R] for R = Q + L rows under `kind`.
at::Tensor selfAttentionMask(QFormerMask kind, std::int64_t b, std::int64_t q, std::int64_t l, const at::Tensor& textMask)
{
    const std::int64_t r = q + l;
    at::Tensor allowed = at::ones({b, r, r});
    if (l > 0) {
        // Padding keys are never seen.
        allowed.narrow(2, q, l).mul_(textMask.to(at::kFloat).unsqueeze(1));
        if (kind == QFormerMask::MultimodalCausal) {
            allowed.narrow(1, 0, q).narrow(2, q, l).zero_();                         // queries do not see text
            allowed.narrow(1, q, l).narrow(2, q, l).mul_(at::ones({l, l}).tril());  // text sees earlier text
        }
    }
    // (1 - allowed) * -10000, as BERT and Hugging Face's Q-Former apply masks.
    return ((1.0 - allowed) * -10000.0).unsqueeze(1);
}

at::Tensor qformerAttention(const ParameterSet& p, const DemoGeometry& g, const std::string& prefix, const at::Tensor& x,
                            const at::Tensor& source, const at::Tensor& mask, at::Tensor* probs)
{
    const int h = g.qformerHeads;
    const double scale = 1.0 / std::sqrt(double(g.qformerHidden / h));
    const at::Tensor context = attend(heads(linear(p, prefix + ".attention.query", x), h),
                                      heads(linear(p, prefix + ".attention.key", source), h),
                                      heads(linear(p, prefix + ".attention.value", source), h), scale, mask, probs);
    return layerNorm(p, prefix + ".output.LayerNorm", linear(p, prefix + ".output.dense", merge(context)) + x, kQFormerEps);
}

at::Tensor feedForward(const ParameterSet& p, const std::string& layer, const std::string& suffix, const at::Tensor& x)
{
    const at::Tensor m = at::gelu(linear(p, layer + ".intermediate" + suffix + ".dense", x));
    return layerNorm(p, layer + ".output" + suffix + ".LayerNorm", linear(p, layer + ".output" + suffix + ".dense", m) + x,
                     kQFormerEps);
}

}  // namespace

QFormerPass qformerForward(const ParameterSet& p, const DemoGeometry& g, QFormerMask kind, const at::Tensor& image,
                           const at::Tensor& textIds, const at::Tensor& textMask)
{
    const bool withQueries = kind != QFormerMask::TextOnly, withText = kind != QFormerMask::QueriesOnly;
    const std::int64_t b = withQueries ? image.size(0) : textIds.size(0);
    const std::int64_t q = withQueries ? g.queries : 0, l = withText ? textIds.size(1) : 0;

    std::vector<at::Tensor> rows;
    if (withQueries)
        rows.push_back(p["query_tokens"].expand({b, q, g.qformerHidden}));
    if (withText) {
        const at::Tensor positions = at::arange(l, at::kLong);
        rows.push_back(at::embedding(p["embeddings.word_embeddings.weight"], textIds) +
                       at::embedding(p["embeddings.position_embeddings.weight"], positions).unsqueeze(0));
    }
    at::Tensor h = layerNorm(p, "qformer.layernorm", at::cat(rows, 1), kQFormerEps);
    const at::Tensor mask = withText ? selfAttentionMask(kind, b, q, l, textMask) : at::Tensor();

    QFormerPass pass;
    for (int i = 0; i < g.qformerLayers; ++i) {
        const std::string layer = "qformer.encoder.layer." + std::to_string(i);
        h = qformerAttention(p, g, layer + ".attention", h, h, mask, nullptr);
        // Query rows cross-attend to the image and take the query feed-forward; text rows the text one.
        at::Tensor queryRows = withQueries ? h.narrow(1, 0, q) : at::Tensor();
        if (withQueries && i % g.crossAttentionFrequency == 0) {
            at::Tensor probs;
            queryRows = qformerAttention(p, g, layer + ".crossattention", queryRows, image, {}, &probs);
            pass.crossProbs.push_back(probs);
        }
        std::vector<at::Tensor> parts;
        if (withQueries)
            parts.push_back(feedForward(p, layer, "_query", queryRows));
        if (withText)
            parts.push_back(feedForward(p, layer, "", h.narrow(1, q, l)));
        h = parts.size() == 1 ? parts.front() : at::cat(parts, 1);
    }
    pass.hidden = h;
    return pass;
}

at::Tensor projectQueries(const ParameterSet& p, const at::Tensor& queryOutputs)
{
    return linear(p, "language_projection", queryOutputs);
}

at::Tensor optForward(const ParameterSet& p, const DemoGeometry& g, const at::Tensor& prefix, const at::Tensor& ids)
{
    const std::string d = "language_model.model.decoder";
    const at::Tensor& table = p[d + ".embed_tokens.weight"];
    at::Tensor h = at::embedding(table, ids);
    if (prefix.defined())
        h = at::cat({prefix, h}, 1);
    const std::int64_t t = h.size(1);
    if (t > g.optPositions)
        throw Error("a training sequence of " + std::to_string(t) + " positions is longer than the model's " +
                    std::to_string(g.optPositions));
    h = h + p[d + ".embed_positions.weight"].narrow(0, kOptPositionOffset, t).unsqueeze(0);
    const at::Tensor causal = at::full({t, t}, -std::numeric_limits<float>::infinity()).triu(1);
    const int heads_ = g.optHeads;
    const double scale = 1.0 / std::sqrt(double(g.optHidden / heads_));
    for (int i = 0; i < g.optLayers; ++i) {
        const std::string l = d + ".layers." + std::to_string(i);
        const at::Tensor x = layerNorm(p, l + ".self_attn_layer_norm", h, kOptEps);
        // OPT scales the query before the product, as core/model/opt does.
        const at::Tensor context = attend(heads(linear(p, l + ".self_attn.q_proj", x) * scale, heads_),
                                          heads(linear(p, l + ".self_attn.k_proj", x), heads_),
                                          heads(linear(p, l + ".self_attn.v_proj", x), heads_), 1.0, causal);
        h = h + linear(p, l + ".self_attn.out_proj", merge(context));
        const at::Tensor m = at::relu(linear(p, l + ".fc1", layerNorm(p, l + ".final_layer_norm", h, kOptEps)));
        h = h + linear(p, l + ".fc2", m);
    }
    h = layerNorm(p, d + ".final_layer_norm", h, kOptEps);
    return at::linear(h, table);
}

}  // namespace querylens::train
