#include "querylens/word_maps.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace querylens {

const char* mapMethodName(MapMethod method)
{
    switch (method) {
    case MapMethod::Attention: return "attention";
    case MapMethod::GradCam: return "gradcam";
    case MapMethod::Relevancy: return "relevancy";
    case MapMethod::InputTimesGradient: return "input_x_gradient";
    }
    return "attention";
}

std::optional<MapMethod> parseMapMethod(const std::string& name)
{
    for (MapMethod m : allMapMethods())
        if (name == mapMethodName(m))
            return m;
    return std::nullopt;
}

const std::vector<MapMethod>& allMapMethods()
{
    static const std::vector<MapMethod> methods{MapMethod::Attention, MapMethod::GradCam, MapMethod::Relevancy,
                                                MapMethod::InputTimesGradient};
    return methods;
}

const std::vector<float>& WordExplanation::patchMap(MapMethod method) const
{
    switch (method) {
    case MapMethod::Attention: return attentionMap;
    case MapMethod::GradCam: return gradcamMap;
    case MapMethod::Relevancy: return relevancyMap;
    case MapMethod::InputTimesGradient: return inputGradientMap;
    }
    return attentionMap;
}

std::vector<float> WordExplanation::queryWeights(MapMethod method) const
{
    std::vector<float> out(std::size_t(queries), 0.0f);
    for (std::size_t i = 0; i < queryIndices.size(); ++i) {
        const auto q = std::size_t(queryIndices[i]);
        switch (method) {
        case MapMethod::Attention: out[q] = attentionToQueries[i]; break;
        case MapMethod::Relevancy: out[q] = queryRelevancy[i]; break;
        case MapMethod::InputTimesGradient: out[q] = inputTimesGradient[i]; break;
        case MapMethod::GradCam: break;
        }
    }
    if (method == MapMethod::GradCam)  // how much gradient-weighted attention each query holds
        for (int q = 0; q < gradcam.rows; ++q)
            for (int t = 0; t < gradcam.cols; ++t)
                out[std::size_t(q)] += gradcam.at(q, t);
    return out;
}

std::vector<float> inputTimesGradient(const std::vector<float>& x, const std::vector<float>& g, int queries)
{
    if (x.size() != g.size() || queries <= 0 || x.size() % std::size_t(queries) != 0)
        throw std::invalid_argument("input x gradient: x and its gradient must both be [queries][hidden]");
    const std::size_t hidden = x.size() / std::size_t(queries);
    std::vector<float> out(std::size_t(queries), 0.0f);
    for (std::size_t q = 0; q < std::size_t(queries); ++q) {
        double sum = 0;
        for (std::size_t d = 0; d < hidden; ++d)
            sum += double(x[q * hidden + d]) * double(g[q * hidden + d]);
        out[q] = float(sum);
    }
    return out;
}

namespace {

void accumulate(std::vector<float>& to, const std::vector<float>& add)
{
    if (to.empty())
        to.assign(add.size(), 0.0f);
    if (to.size() != add.size())
        throw std::invalid_argument("word maps: a token's values have a different size than the word's");
    for (std::size_t i = 0; i < to.size(); ++i)
        to[i] += add[i];
}

// The language model's relevancy of each kept query position for the explained position.
std::vector<float> languageModelRelevancy(const TokenCams& token, bool encoderDecoder, std::size_t kept)
{
    std::vector<float> row;
    if (encoderDecoder) {
        const FloatMatrix rde = encoderDecoderRelevancy(token.lmEncoderSelf, token.lmSelf, token.lmCross);
        row.assign(rde.row(token.targetRow), rde.row(token.targetRow) + rde.cols);
    } else {
        const int n = token.lmSelf.empty() ? 0 : token.lmSelf.front().rows;
        row = selfAttentionRelevancyRow(token.lmSelf, n, token.targetRow);
    }
    if (row.size() < kept)
        throw std::invalid_argument("word maps: the language model's input is shorter than its queries");
    row.resize(kept);  // the query positions come first
    return row;
}

}  // namespace

void addTokenToWord(WordExplanation& word, const TokenCams& token, bool encoderDecoder, const QueryMaps& meanMaps)
{
    if (token.qformer.empty())
        throw std::invalid_argument("word maps: a token without Q-Former layers");
    const int queries = token.qformer.front().self.rows;
    int imageTokens = 0;
    std::vector<const FloatMatrix*> cross;
    for (const auto& layer : token.qformer)
        if (layer.cross) {
            cross.push_back(&*layer.cross);
            imageTokens = layer.cross->cols;
        }
    if (cross.empty())
        throw std::invalid_argument("word maps: the Q-Former has no cross-attention");
    const std::size_t kept = word.queryIndices.size();
    if (token.attentionToQueries.size() != kept || token.inputTimesGradient.size() != kept)
        throw std::invalid_argument("word maps: one attention and one input x gradient value per query in the input");

    const bool first = word.targetLogits.empty();
    if (first) {
        word.queries = queries;
        word.imageTokens = imageTokens;
        word.gridSize = meanMaps.gridSize;
        word.gradcamLayers.assign(cross.size() * std::size_t(queries) * std::size_t(imageTokens), 0.0f);
        word.gradcam = FloatMatrix(queries, imageTokens);
        word.qformerRelevancy = FloatMatrix(queries, imageTokens);
    }
    // GradCAM: per layer, and the mean over the layers.
    FloatMatrix tokenGradcam(queries, imageTokens);
    for (std::size_t l = 0; l < cross.size(); ++l) {
        const auto& values = cross[l]->values;
        for (std::size_t i = 0; i < values.size(); ++i) {
            word.gradcamLayers[l * values.size() + i] += values[i];
            tokenGradcam.values[i] += values[i] / float(cross.size());
        }
    }
    addInPlace(word.gradcam, tokenGradcam);
    accumulate(word.gradcamMap, weightedQueryPatches(tokenGradcam, {}));

    // Relevancy: through the Q-Former, then the language model's hop to the query positions.
    const FloatMatrix rqi = qformerRelevancy(token.qformer, imageTokens);
    addInPlace(word.qformerRelevancy, rqi);
    const std::vector<float> r = languageModelRelevancy(token, encoderDecoder, kept);
    accumulate(word.queryRelevancy, r);
    std::vector<float> weights(std::size_t(queries), 0.0f);
    for (std::size_t i = 0; i < kept; ++i)
        weights[std::size_t(word.queryIndices[i])] = r[i];
    accumulate(word.relevancyMap, weightedQueryPatches(rqi, weights));

    accumulate(word.inputTimesGradient, token.inputTimesGradient);
    // Attention: the mean over the word's tokens (as the explorer averages them).
    const float n = float(word.targetLogits.size() + 1);  // tokens counted so far, this one included
    if (word.attentionToQueries.empty())
        word.attentionToQueries.assign(kept, 0.0f);
    for (std::size_t i = 0; i < kept; ++i)
        word.attentionToQueries[i] = (word.attentionToQueries[i] * (n - 1) + token.attentionToQueries[i]) / n;
    word.attentionMap = weightedPatchMap(meanMaps, word.attentionToQueries, word.queryIndices);
    std::vector<float> positive(kept);
    for (std::size_t i = 0; i < kept; ++i)
        positive[i] = std::max(0.0f, word.inputTimesGradient[i]);
    word.inputGradientMap = weightedPatchMap(meanMaps, positive, word.queryIndices);

    word.targetLogits.push_back(float(token.logit));
    word.logProbability += token.logProbability;
}

std::vector<GeneratedWordSpan> generatedWords(const GeneratedSequence& sequence)
{
    std::vector<GeneratedWordSpan> words;
    bool open = false;
    auto trim = [](const std::string& s) {
        const auto notSpace = [](unsigned char c) { return !std::isspace(c); };
        const auto begin = std::find_if(s.begin(), s.end(), notSpace);
        const auto end = std::find_if(s.rbegin(), s.rend(), notSpace).base();
        return begin < end ? std::string(begin, end) : std::string();
    };
    for (std::size_t i = 0; i < sequence.tokens.size(); ++i) {
        const std::string& text = sequence.tokens[i].text;
        const std::string trimmed = trim(text);
        const bool special = trimmed.size() > 1 && trimmed.front() == '<' && trimmed.back() == '>';
        if (trimmed.empty() || special) {
            open = false;
            continue;
        }
        if (!open || std::isspace(static_cast<unsigned char>(text.front()))) {
            words.push_back({trimmed, {int(i)}});
            open = true;
        } else {
            words.back().text += trimmed;
            words.back().tokens.push_back(int(i));
        }
    }
    return words;
}

}  // namespace querylens
