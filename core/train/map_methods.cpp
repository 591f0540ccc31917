// The explorer's maps as evaluation methods (declared in querylens/demo_evaluation.h). They call
// core/explain's view functions, the very code the explorer draws with.

#include "querylens/attention_views.h"
#include "querylens/demo_evaluation.h"

#include <algorithm>

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

}  // namespace

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
