#pragma once
// Where a phrase is in an image, by the image-text matching model (plain buffers, no torch):
// GradCAM of the ITM match logit on the Q-Former's cross-attention, and per word of the phrase
// the same carried through the queries' and text's shared self-attention.
//  - The phrase map: per cross-attention layer Ā = mean over heads of max(0, dA ⊙ A) [Q, image
//    tokens]; their mean over layers, summed over the queries (what LAVIS's GradCAM does for
//    BLIP's ITM, on the queries that carry the image in BLIP-2).
//  - A word's map: the queries weighted by how much the word's tokens matter to them:
//    R = I, R += Ā_l R over the self-attention layers (queries and text in one attention,
//    Chefer's self-attention rule), weight[q] = sum over the word's tokens t of R[q, Q + t];
//    map = sum over q of weight[q] GradCAM[q, :]. The text reaches the image only through the
//    queries, which read it in their self-attention: that is the path followed.

#include "querylens/gradient_maps.h"

#include <string>
#include <vector>

namespace querylens {

struct PhraseLocalizationMaps {
    int queries = 0;
    int imageTokens = 0;                      // 1 + grid * grid (token 0 is CLS)
    std::vector<float> gradcamLayers;         // [layers][queries][imageTokens]
    FloatMatrix gradcam;                      // [queries][imageTokens]: mean over layers
    std::vector<float> phraseMap;             // [grid * grid]
    std::vector<std::vector<float>> wordQueryWeights;  // per word, [queries]
    std::vector<std::vector<float>> wordMaps;          // per word, [grid * grid]
};

// `selfCams` per Q-Former layer [Q + L][Q + L]; `crossCams` per cross-attention layer
// [Q][image tokens]; `wordTokens` per word, text positions (0 = [CLS]) of its pieces.
PhraseLocalizationMaps localizationMaps(const std::vector<FloatMatrix>& selfCams, const std::vector<FloatMatrix>& crossCams,
                                        int queries, const std::vector<std::vector<int>>& wordTokens);

}  // namespace querylens
