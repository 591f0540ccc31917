// The explorer's maps and explain-words' gradient maps as evaluation methods (declared in
// querylens/demo_evaluation.h). They call the very code the explorer and explain-words draw with.

#include "pipeline/model_impl.h"
#include "querylens/attention_views.h"
#include "querylens/demo_evaluation.h"
#include "querylens/error.h"
#include "querylens/word_explanations.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

namespace querylens {

namespace {

// The query the word's bars weight most.
int topQuery(const WordMapContext& context)
{
    const auto best = std::max_element(context.queryWeights.begin(), context.queryWeights.end());
    return context.queryIndices.at(std::size_t(best - context.queryWeights.begin()));
}

MapSelection selection(LayerAggregation layers, int layer = 0)
{
    MapSelection s;
    s.layers = layers;
    s.layer = layer;
    s.heads = HeadAggregation::Mean;
    return s;
}

EvaluatedMapMethod topQueryMethod(const std::string& name, const MapSelection& chosen)
{
    return {name, [chosen](const WordMapContext& context) {
                const QueryMaps maps =
                    selectMaps(context.encoding->crossAttention(), context.encoding->selfAttention(), chosen);
                return maps.patches(topQuery(context));
            }};
}

// FNV-1a over the preprocessed pixels the encoding was made from: an encoding freed and another
// made at the same address must not reuse the first one's explanation.
std::uint64_t pixelHash(const ImageEncoding& encoding)
{
    const at::Tensor pixels = encoding.tensors().pixelValues.to(at::kCPU, at::kFloat).contiguous();
    const auto* bytes = static_cast<const unsigned char*>(pixels.data_ptr());
    std::uint64_t hash = 1469598103934665603ull;
    for (std::size_t i = 0; i < std::size_t(pixels.nbytes()); ++i)
        hash = (hash ^ bytes[i]) * 1099511628211ull;
    return hash;
}

// The last word explained, shared by the three gradient methods: the evaluation asks every
// method about one word before it moves to the next.
class ExplanationCache {
public:
    const WordExplanation& explain(const WordMapContext& context)
    {
        if (!context.model || !context.encoding || !context.generation)
            throw Error("a gradient map needs the model, the image's encoding and the generation result");
        const std::uint64_t hash = pixelHash(*context.encoding);
        if (!(cached_ && encoding_ == context.encoding && hash_ == hash && tokens_ == context.wordTokens &&
              ids_ == context.generatedIds)) {
            cached_ = std::make_unique<WordExplanation>(
                explainWords(*context.model, *context.encoding, *context.generation, {context.wordTokens}).at(0));
            encoding_ = context.encoding;
            hash_ = hash;
            tokens_ = context.wordTokens;
            ids_ = context.generatedIds;
        }
        return *cached_;
    }

private:
    std::unique_ptr<WordExplanation> cached_;
    const ImageEncoding* encoding_ = nullptr;
    std::uint64_t hash_ = 0;
    std::vector<int> tokens_, ids_;
};

}  // namespace

std::vector<EvaluatedMapMethod> gradientMapMethods()
{
    const auto cache = std::make_shared<ExplanationCache>();
    std::vector<EvaluatedMapMethod> methods;
    for (const auto& [name, method] : {std::pair{"GradCAM (cross-attention)", MapMethod::GradCam},
                                       std::pair{"relevancy (Q-Former + LM)", MapMethod::Relevancy},
                                       std::pair{"input x gradient", MapMethod::InputTimesGradient}})
        methods.push_back({name, [cache, method = method](const WordMapContext& context) {
                               return cache->explain(context).patchMap(method);
                           }});
    return methods;
}

std::vector<EvaluatedMapMethod> explorerMapMethods(const ModelInfo& info)
{
    std::vector<EvaluatedMapMethod> methods;
    methods.push_back(topQueryMethod("top query, mean of layers", selection(LayerAggregation::Mean)));
    for (std::size_t i = 0; i < info.crossAttentionLayers.size(); ++i)
        methods.push_back(topQueryMethod("top query, layer " + std::to_string(info.crossAttentionLayers[i]),
                                         selection(LayerAggregation::Single, int(i))));
    methods.push_back(topQueryMethod("top query, query flow", selection(LayerAggregation::Flow)));
    for (const auto& [name, chosen] : {std::pair{std::string("word map, mean of layers"), selection(LayerAggregation::Mean)},
                                       std::pair{std::string("word map, query flow"), selection(LayerAggregation::Flow)}})
        methods.push_back({name, [chosen = chosen](const WordMapContext& context) {
                               const QueryMaps maps = selectMaps(context.encoding->crossAttention(),
                                                                 context.encoding->selfAttention(), chosen);
                               return weightedPatchMap(maps, context.queryWeights, context.queryIndices);
                           }});
    return methods;
}

}  // namespace querylens
