#pragma once
// The demo BLIP-2's networks written for training: the same math as core/model (which is the
// inference path and the reference here), on parameters held by their Hugging Face names so
// that the checkpoints the trainer writes load through the ordinary loader. Plain ATen
// functions over a ParameterSet rather than torch::nn modules: nn modules cannot hold dotted
// names, and keeping one name per tensor makes the export a loop.

#include <ATen/ATen.h>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace querylens::train {

// Sizes of the demo model. Field names follow config.json where there is one.
struct DemoGeometry {
    // 168 px in 12 px patches: a 14 x 14 grid (BLIP-2's own is 16 x 16). A small shape (13-24 %
    // of the side) then spans 2-4 patches: at 120 px (10 x 10) the models left out small shapes
    // of crowded scenes (3-4 shapes: 67 % and 50 % of captions right). The cost is mostly stage
    // 0's (the ViT's attention); stages 1 and 2 read the frozen ViT's cached output.
    int imageSize = 168;
    int patchSize = 12;
    int visionHidden = 64, visionLayers = 4, visionHeads = 4, visionMlp = 256;
    int qformerHidden = 64, qformerLayers = 4, qformerHeads = 4, qformerIntermediate = 256;
    int crossAttentionFrequency = 2;
    int queries = 32;
    int textVocab = 0;          // the Q-Former's WordPiece vocabulary, [DEC] included
    int textPositions = 64;
    int embedDim = 32;          // image_text_hidden_size: the ITC space
    int optVocab = 0;
    int optHidden = 96, optLayers = 3, optHeads = 4, optFfn = 384, optPositions = 96;

    int grid() const { return imageSize / patchSize; }
    int tokens() const { return grid() * grid() + 1; }
};

// Labels the vision encoder is pre-trained on, per patch: 0 background, else 1 + class.
constexpr int kPatchColourClasses = 7, kPatchShapeClasses = 5, kPatchSizeClasses = 3;

class ParameterSet {
public:
    // Adds a trainable tensor under its Hugging Face name (or a trainer-only name: "head.*").
    void add(const std::string& name, at::Tensor value);
    const at::Tensor& operator[](const std::string& name) const;
    bool contains(const std::string& name) const { return tensors_.count(name) > 0; }
    const std::vector<std::string>& names() const { return order_; }
    // The tensors whose names start with one of `prefixes`.
    std::vector<at::Tensor> select(const std::vector<std::string>& prefixes) const;
    void setTrainable(const std::vector<std::string>& prefixes, bool trainable);
    // Copies of the tensors whose names start with one of `prefixes`, and putting them back
    // (the same tensors keep their storage, so an optimiser made later sees the restored values).
    std::map<std::string, at::Tensor> snapshot(const std::vector<std::string>& prefixes) const;
    void restore(const std::map<std::string, at::Tensor>& snapshot);

private:
    std::vector<std::string> order_;
    std::unordered_map<std::string, at::Tensor> tensors_;
};

// Draws every parameter of the demo model (and the trainer's heads) with BERT's initialisation:
// matrices N(0, 0.02), biases 0, LayerNorms 1 and 0.
ParameterSet initialParameters(const DemoGeometry& g, std::uint64_t seed);

// pixel_values [B, 3, S, S] -> [B, 1 + grid^2, visionHidden] after post_layernorm.
at::Tensor visionForward(const ParameterSet& p, const DemoGeometry& g, const at::Tensor& pixels);

// BLIP-2's three self-attention masks over [queries; text] rows, and the two single-modality passes.
enum class QFormerMask {
    QueriesOnly,       // the image branch alone (captioning, ITC image side)
    TextOnly,          // the text branch alone (ITC text side): no cross-attention
    Bidirectional,     // ITM: queries and text see each other
    MultimodalCausal,  // ITG: queries see queries; text sees the queries and the text before it
};

struct QFormerPass {
    at::Tensor hidden;                    // [B, Q + L, qformerHidden]
    std::vector<at::Tensor> crossProbs;   // per cross-attention layer [B, heads, Q, tokens]
};

// `image` [B, tokens, visionHidden] (unused for TextOnly); `textIds` [B, L] int64 and
// `textMask` [B, L] (1 real, 0 padding) undefined for QueriesOnly.
QFormerPass qformerForward(const ParameterSet& p, const DemoGeometry& g, QFormerMask mask, const at::Tensor& image,
                           const at::Tensor& textIds = {}, const at::Tensor& textMask = {});

// OPT: `prefix` [B, P, optHidden] embeddings before the text (the soft prompt or nothing),
// `ids` [B, L]. Positions start at OPT's offset 2. Returns logits [B, P + L, optVocab].
at::Tensor optForward(const ParameterSet& p, const DemoGeometry& g, const at::Tensor& prefix, const at::Tensor& ids);

// language_projection(query outputs) [B, Q, optHidden].
at::Tensor projectQueries(const ParameterSet& p, const at::Tensor& queryOutputs);

}  // namespace querylens::train
