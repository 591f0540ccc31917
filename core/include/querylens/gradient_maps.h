#pragma once
// Gradient-weighted attention maps on plain float buffers (no torch): GradCAM of an attention
// layer, and Chefer et al.'s relevancy propagation ("Generic Attention-model Explainability for
// Interpreting Bi-Modal and Encoder-Decoder Transformers", ICCV 2021) through the Q-Former and
// through the language model. The pipeline runs the model under autograd and hands each
// layer's probabilities and gradients here; everything a map is made of is computed here.
//
// The rules, with A a layer's attention probabilities [heads, rows, cols] and dA the gradient
// of the explained score with respect to them:
//   GradCAM (eq. 5):         Ā = mean over heads of max(0, dA ⊙ A)                 [rows, cols]
//   self-attention (6, 7):   R_ss += Ā R_ss;  R_sq += Ā R_sq
//   co-attention (10):       R_sq += R̄_ss^T Ā R̄_qq   (s attends to q)
//   normalisation (8, 9):    R̄ = rownorm(R - I) + I  (a row of R - I that sums to 0 stays 0)
// starting from R_ss = I and R_sq = 0.

#include <optional>
#include <vector>

namespace querylens {

// A dense row-major matrix.
struct FloatMatrix {
    int rows = 0;
    int cols = 0;
    std::vector<float> values;

    FloatMatrix() = default;
    FloatMatrix(int rowCount, int colCount, float fill = 0.0f);
    static FloatMatrix identity(int n);
    float& at(int r, int c) { return values[std::size_t(r) * std::size_t(cols) + std::size_t(c)]; }
    float at(int r, int c) const { return values[std::size_t(r) * std::size_t(cols) + std::size_t(c)]; }
    const float* row(int r) const { return values.data() + std::size_t(r) * std::size_t(cols); }
};

FloatMatrix multiply(const FloatMatrix& a, const FloatMatrix& b);           // a b
FloatMatrix multiplyTransposed(const FloatMatrix& a, const FloatMatrix& b);  // a^T b
void addInPlace(FloatMatrix& to, const FloatMatrix& add);

// One attention layer's probabilities and their gradients, [heads][rows][cols] each, row-major
// (buffers the caller owns).
struct AttentionGradientView {
    int heads = 0;
    int rows = 0;
    int cols = 0;
    const float* probabilities = nullptr;
    const float* gradients = nullptr;
};

// Ā of one layer: mean over heads of max(0, dA ⊙ A), [rows][cols]. Never negative.
FloatMatrix gradCam(const AttentionGradientView& layer);

// Eq. 8-9: R̄ = rownorm(R - I) + I, for a square R.
FloatMatrix normalizeResidual(const FloatMatrix& r);

// One Q-Former layer as the rules see it: the query self-attention's Ā [Q][Q], then, in the
// layers that have one, the cross-attention's Ā [Q][image tokens].
struct QFormerLayerCam {
    FloatMatrix self;
    std::optional<FloatMatrix> cross;
};
// R_qi [Q][image tokens]: how much each image token matters to each query's output, through
// every layer in order. The image tokens attend to nothing in the Q-Former: R_ii = I.
FloatMatrix qformerRelevancy(const std::vector<QFormerLayerCam>& layers, int imageTokens);

// A stack of self-attention layers (OPT, T5's encoder, the Q-Former's query-and-text
// self-attention): R = I, then R += Ā_l R for each layer l in order. [N][N].
FloatMatrix selfAttentionRelevancy(const std::vector<FloatMatrix>& cams, int n);
// Row `row` of selfAttentionRelevancy(cams, n), computed as a row vector (O(layers N^2)).
std::vector<float> selfAttentionRelevancyRow(const std::vector<FloatMatrix>& cams, int n, int row);

// An encoder-decoder (T5): the encoder's self-attention layers, then per decoder layer its
// self-attention and its cross-attention to the encoder. Returns R_de [D][E].
FloatMatrix encoderDecoderRelevancy(const std::vector<FloatMatrix>& encoderCams,
                                    const std::vector<FloatMatrix>& decoderSelfCams,
                                    const std::vector<FloatMatrix>& crossCams);

// The patch map of per-query maps: sum over queries of weight[q] * map[q][1 + p] (CLS left
// out), [grid*grid]. `maps` is [Q][1 + grid*grid]; weights empty means all ones.
std::vector<float> weightedQueryPatches(const FloatMatrix& maps, const std::vector<float>& weights);

}  // namespace querylens
