#pragma once
// What the attention explorer shows, computed from an image's Q-Former attention maps on plain
// float buffers (no torch): one map per query under a chosen layer and head aggregation, the
// query flow, per-query statistics, map similarity, and maps weighted by a generated word's
// attention to the queries.

#include "querylens/attention_maps.h"

#include <string>
#include <vector>

namespace querylens {

enum class HeadAggregation {
    Single,  // one head
    Mean,    // mean over heads
    Max,     // max over heads, per token (rows then no longer sum to 1)
};

enum class LayerAggregation {
    Single,  // one cross-attention layer
    Mean,    // mean over the cross-attention layers
    // Query flow: what each query finally carries, following the queries' self-attention
    // between layers as well as what they read. With F [queries x tokens] starting at zero,
    // every Q-Former layer l does, in the model's order,
    //   F <- A_l F,            A_l = (I + S_l) / 2, S_l the query self-attention (mean over heads)
    //   F <- (F + C_l) / 2     for a cross-attention layer, C_l its cross-attention (head aggregation)
    // and each row of F is normalised to sum to 1 at the end. The halves stand for the residual
    // connections (attention rollout, Abnar & Zuidema 2020). With one cross-attention layer and
    // no self-attention mixing before it, the flow is that layer's cross-attention.
    Flow,
};

struct MapSelection {
    LayerAggregation layers = LayerAggregation::Mean;
    int layer = 0;  // index into CrossAttentionMaps (0 .. layers-1), for Single
    HeadAggregation heads = HeadAggregation::Mean;
    int head = 0;   // for Single
};

// One value per image token for each query.
struct QueryMaps {
    int queries = 0;
    int gridSize = 0;
    std::vector<float> values;  // [queries][1 + grid*grid]; token 0 is the CLS token

    int tokens() const { return 1 + gridSize * gridSize; }
    const float* row(int query) const { return values.data() + std::size_t(query) * tokens(); }
    // The patch grid of a query, [grid*grid] row-major (CLS left out).
    std::vector<float> patches(int query) const;
};

// Throws std::out_of_range for a layer or head that does not exist.
QueryMaps selectMaps(const CrossAttentionMaps& cross, const QuerySelfAttention& self, const MapSelection& selection);

struct QueryStatistics {
    double entropy = 0;            // nats, of the patch values normalised to sum to 1 (CLS left out)
    double normalizedEntropy = 0;  // entropy / log(grid*grid): 0 one patch, 1 uniform
    double clsShare = 0;           // the CLS token's share of the row's total
    int peakPatch = 0;             // row-major index into the grid
    double peakValue = 0;
};
std::vector<QueryStatistics> queryStatistics(const QueryMaps& maps);

// Cosine similarity of the queries' patch maps, [queries][queries].
std::vector<float> mapSimilarity(const QueryMaps& maps);

// The patch map of a generated word: sum over queries of weight[i] * map[queryIndices[i]],
// divided by the sum of the weights (weights: the language model's attention from the word's
// tokens to the query positions, one per query in the input). [grid*grid].
std::vector<float> weightedPatchMap(const QueryMaps& maps, const std::vector<float>& weights,
                                    const std::vector<int>& queryIndices);

// Per-query statistics as CSV (header + one line per query).
std::string statisticsCsv(const QueryMaps& maps, const std::vector<QueryStatistics>& statistics);

}  // namespace querylens
