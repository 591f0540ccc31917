#include "querylens/text_localization.h"

#include <stdexcept>

namespace querylens {

PhraseLocalizationMaps localizationMaps(const std::vector<FloatMatrix>& selfCams, const std::vector<FloatMatrix>& crossCams,
                                        int queries, const std::vector<std::vector<int>>& wordTokens)
{
    if (crossCams.empty() || selfCams.empty())
        throw std::invalid_argument("text localisation: the Q-Former needs self- and cross-attention layers");
    PhraseLocalizationMaps out;
    out.queries = queries;
    out.imageTokens = crossCams.front().cols;
    out.gradcam = FloatMatrix(queries, out.imageTokens);
    for (const FloatMatrix& cam : crossCams) {
        if (cam.rows != queries || cam.cols != out.imageTokens)
            throw std::invalid_argument("text localisation: a cross-attention of the wrong size");
        out.gradcamLayers.insert(out.gradcamLayers.end(), cam.values.begin(), cam.values.end());
        for (std::size_t i = 0; i < cam.values.size(); ++i)
            out.gradcam.values[i] += cam.values[i] / float(crossCams.size());
    }
    out.phraseMap = weightedQueryPatches(out.gradcam, {});

    const int rows = selfCams.front().rows;
    const FloatMatrix relevancy = selfAttentionRelevancy(selfCams, rows);
    for (const auto& tokens : wordTokens) {
        std::vector<float> weights(std::size_t(queries), 0.0f);
        for (int t : tokens) {
            if (t < 0 || queries + t >= rows)
                throw std::invalid_argument("text localisation: a word token outside the text");
            for (int q = 0; q < queries; ++q)
                weights[std::size_t(q)] += relevancy.at(q, queries + t);
        }
        out.wordMaps.push_back(weightedQueryPatches(out.gradcam, weights));
        out.wordQueryWeights.push_back(std::move(weights));
    }
    return out;
}

}  // namespace querylens
