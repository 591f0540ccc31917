#pragma once
// The token rows of BLIP-2's generative stage, one per scene: BOS, then either the scene's
// caption (captions are prompted by BOS alone) or "Question: {q} Answer:" and the answer, then
// the newline that ends a text. Which of the two, and which question, is drawn per scene.

#include "querylens/demo_scenes.h"
#include "querylens/demo_training.h"
#include "text/bpe_tokenizer.h"
#include "train/scene_random.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace querylens::train {

// The grammar's question types, in the order GenerationMix::questionWeights lists them.
inline constexpr std::array<const char*, 5> kQuestionTypes{"colour", "shape", "count", "exists", "where"};

struct GenerationMix {
    double captionShare = kDefaultCaptionShare;
    // A scene of n objects is a caption row with chance
    // captionShare x (1 + captionCrowding x (n - mean) / (4 - mean)), mean being the
    // generator's mean object count, so the share of captions stays captionShare overall.
    double captionCrowding = kDefaultCaptionCrowding;
    std::array<double, kQuestionTypes.size()> questionWeights{1.5, 0.5, 1, 1, 2};
};

struct GenerationRows {
    std::vector<std::vector<std::int64_t>> ids;  // unpadded
    std::vector<std::size_t> targetStart;        // per row: the first token the loss scores
};

GenerationRows generationRows(const std::vector<demo::Scene>& scenes, const GenerationMix& mix,
                              const text::BpeTokenizer& bpe, int newlineId, demo::SceneRandom& choice);

}  // namespace querylens::train
