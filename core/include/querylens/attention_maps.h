#pragma once
// The Q-Former's attention probabilities for one image, as plain float buffers (no torch),
// in the order the reference model produces them.

#include <cstddef>
#include <vector>

namespace querylens {

// Cross-attention of the queries to the image tokens, for every cross-attention layer and head.
// probabilities is [layers][heads][queries][tokens], row-major; token 0 is the vision CLS token,
// tokens 1.. are the patch grid in row-major order (gridSize x gridSize). Each
// probabilities[l][h][q][:] row sums to 1.
struct CrossAttentionMaps {
    int layers = 0;
    int heads = 0;
    int queries = 0;
    int tokens = 0;    // 1 + gridSize * gridSize
    int gridSize = 0;  // image_size / patch_size (16 at 224 px, 26 at 364 px)
    std::vector<int> qformerLayers;  // the Q-Former layer of each entry (0, 2, 4, ... in BLIP-2)
    std::vector<float> probabilities;

    std::size_t index(int layer, int head, int query, int token) const
    {
        return ((std::size_t(layer) * heads + head) * queries + query) * tokens + token;
    }
    float at(int layer, int head, int query, int token) const { return probabilities[index(layer, head, query, token)]; }
};

// Self-attention among the queries, for every Q-Former layer and head:
// probabilities is [layers][heads][queries][queries], row-major; rows sum to 1.
struct QuerySelfAttention {
    int layers = 0;
    int heads = 0;
    int queries = 0;
    std::vector<float> probabilities;

    std::size_t index(int layer, int head, int from, int to) const
    {
        return ((std::size_t(layer) * heads + head) * queries + from) * queries + to;
    }
    float at(int layer, int head, int from, int to) const { return probabilities[index(layer, head, from, to)]; }
};

}  // namespace querylens
