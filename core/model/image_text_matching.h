#pragma once
// BLIP-2's image-text matching heads (Hugging Face: Blip2ForImageTextRetrieval, the
// Salesforce/blip2-itm-vit-g checkpoints): the Q-Former's text embeddings, and on top of the
// Q-Former
//  - ITM: queries and text in one self-attention (no causal mask), the queries cross-attending
//    to the image; the mean over the query rows of itm_head gives [no match, match] logits;
//  - ITC: the queries alone (as in captioning) -> vision_projection, normalised; the text alone
//    -> text_projection of its [CLS] row, normalised; the similarity is the maximum over the
//    queries of their cosine with the text.

#include "io/json_file.h"
#include "model/layers.h"
#include "model/linear.h"
#include "model/qformer.h"

#include <ATen/ATen.h>

namespace querylens::model {

struct ItmOutput {
    at::Tensor logits;       // [B, 2]: (no match, match)
    at::Tensor queryLogits;  // [B, Q, 2]: itm_head of each query row
    QFormerOutput qformer;   // rows: Q queries then L text tokens; cross-attentions [B, H, Q, tokens]
};

struct ItcTextOutput {
    at::Tensor hidden;  // [B, L, hidden]: the text-only Q-Former output
    at::Tensor embeds;  // [B, D]: normalised text_projection of the [CLS] row
};

class ImageTextHeads {
public:
    // `projectionSize` is config.json's image_text_hidden_size; `embeddingsPrefix` names the
    // text embeddings ("embeddings" in Hugging Face's layout; the loader decides).
    ImageTextHeads(const QFormerConfig& qformer, int projectionSize, WeightLoader& weights,
                   const std::string& embeddingsPrefix, WeightFormat format);

    // ids [B, L] int64 -> word + absolute position embeddings [B, L, hidden] (no LayerNorm of
    // their own: the Q-Former's input LayerNorm follows). Ids outside the vocabulary, or more
    // positions than max_position_embeddings, are an Error.
    at::Tensor embedText(const at::Tensor& ids) const;

    // queryTokens [1, Q, hidden]; ids, mask [B, L] int64 (mask 1 = token, 0 = padding);
    // image [B, tokens, vision hidden].
    ItmOutput matching(const QFormer& qformer, const at::Tensor& queryTokens, const at::Tensor& ids,
                       const at::Tensor& mask, const at::Tensor& image) const;
    // queryOutputs [B, Q, hidden] (the query branch's last hidden state) -> [B, Q, D], unit rows.
    at::Tensor imageEmbeds(const at::Tensor& queryOutputs) const;
    ItcTextOutput textEmbeds(const QFormer& qformer, const at::Tensor& ids, const at::Tensor& mask) const;

    int projectionSize() const { return int(visionProjection_.outFeatures()); }
    std::size_t weightBytes() const;

private:
    // mask [B, L] -> additive [B, 1, 1, L]: 0 where seen, -10000 where padded (the reference's value).
    static at::Tensor additiveMask(const at::Tensor& mask);

    QFormerConfig config_;
    at::Tensor wordEmbeddings_;      // [vocab, hidden]
    at::Tensor positionEmbeddings_;  // [max positions, hidden]
    Linear visionProjection_, textProjection_, itmHead_;
};

}  // namespace querylens::model
