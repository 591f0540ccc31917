#include "model/image_text_matching.h"

#include "querylens/error.h"

namespace querylens::model {

ImageTextHeads::ImageTextHeads(const QFormerConfig& qformer, int projectionSize, WeightLoader& weights,
                               const std::string& embeddingsPrefix, WeightFormat format)
    : config_(qformer)
{
    const std::int64_t d = qformer.hidden_size;
    wordEmbeddings_ = weights.load(embeddingsPrefix + ".word_embeddings.weight", {qformer.vocab_size, d});
    positionEmbeddings_ = weights.load(embeddingsPrefix + ".position_embeddings.weight", {qformer.max_position_embeddings, d});
    visionProjection_ = Linear(weights, "vision_projection", d, projectionSize, true, format);
    textProjection_ = Linear(weights, "text_projection", d, projectionSize, true, format);
    itmHead_ = Linear(weights, "itm_head", d, 2, true, format);
}

std::size_t ImageTextHeads::weightBytes() const
{
    return wordEmbeddings_.nbytes() + positionEmbeddings_.nbytes() + visionProjection_.weightBytes() +
           textProjection_.weightBytes() + itmHead_.weightBytes();
}

at::Tensor ImageTextHeads::embedText(const at::Tensor& ids) const
{
    const std::int64_t length = ids.size(1);
    if (length > config_.max_position_embeddings)
        throw Error("the text has " + std::to_string(length) + " tokens; the Q-Former has " +
                    std::to_string(config_.max_position_embeddings) + " positions");
    const at::Tensor cpuIds = ids.to(at::kCPU);
    const std::int64_t low = cpuIds.min().item<std::int64_t>(), high = cpuIds.max().item<std::int64_t>();
    if (low < 0 || high >= config_.vocab_size)
        throw Error("token id " + std::to_string(low < 0 ? low : high) + " is outside the Q-Former's vocabulary of " +
                    std::to_string(config_.vocab_size));
    const at::Tensor positions = at::arange(length, ids.options().dtype(at::kLong).device(positionEmbeddings_.device()));
    // [B, L, hidden] = word[ids] + position[0..L-1]
    return at::embedding(wordEmbeddings_, ids.to(wordEmbeddings_.device())) + at::embedding(positionEmbeddings_, positions);
}

at::Tensor ImageTextHeads::additiveMask(const at::Tensor& mask)
{
    // Hugging Face's get_extended_attention_mask: (1 - m) * -10000, broadcast over heads and rows.
    return ((1.0 - mask.to(at::kFloat)) * -10000.0).unsqueeze(1).unsqueeze(1);
}

ItmOutput ImageTextHeads::matching(const QFormer& qformer, const at::Tensor& queryTokens, const at::Tensor& ids,
                                   const at::Tensor& mask, const at::Tensor& image) const
{
    const std::int64_t batch = ids.size(0), queries = queryTokens.size(1);
    const at::Tensor queryRows = queryTokens.expand({batch, -1, -1});  // [B, Q, hidden]
    const at::Tensor embeddings = at::cat({queryRows, embedText(ids)}, 1);  // [B, Q + L, hidden]
    const at::Tensor fullMask = at::cat({at::ones({batch, queries}, mask.options()), mask.to(mask.device())}, 1);
    ItmOutput out;
    out.qformer = qformer.run(QFormerInput{embeddings, queries, additiveMask(fullMask).to(embeddings.device()),
                                           image.expand({batch, -1, -1})});
    out.queryLogits = itmHead_(out.qformer.lastHiddenState.narrow(1, 0, queries));  // [B, Q, 2]
    out.logits = out.queryLogits.mean(1);
    return out;
}

at::Tensor ImageTextHeads::imageEmbeds(const at::Tensor& queryOutputs) const
{
    const at::Tensor projected = visionProjection_(queryOutputs);  // [B, Q, D]
    return projected / projected.norm(2, -1, true).clamp_min(1e-12);
}

ItcTextOutput ImageTextHeads::textEmbeds(const QFormer& qformer, const at::Tensor& ids, const at::Tensor& mask) const
{
    ItcTextOutput out;
    const at::Tensor embeddings = embedText(ids);
    out.hidden = qformer.run(QFormerInput{embeddings, 0, additiveMask(mask).to(embeddings.device()), {}}).lastHiddenState;
    const at::Tensor projected = textProjection_(out.hidden.select(1, 0));  // [B, D]
    out.embeds = projected / projected.norm(2, -1, true).clamp_min(1e-12);
    return out;
}

}  // namespace querylens::model
