#pragma once
// The token rows of BLIP-2's generative stage, one per scene: BOS, then either the scene's
// caption (captions are prompted by BOS alone) or questions and their answers in the chat's
// format ("Question: q1 Answer: a1. Question: q2 Answer: a2"), then the newline that ends a
// text. Which of the two, and which questions, is drawn per scene.

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
    // Questions per answer row, all different where the scene has that many. A row costs a
    // Q-Former pass whatever its length, so more answers per row are more of the answers'
    // signal per pass.
    int answersPerRow = kDefaultAnswersPerRow;
};

// Tokens [begin, end) of a row that the loss scores.
struct TokenSpan {
    std::size_t begin = 0, end = 0;
};

struct GenerationRows {
    std::vector<std::vector<std::int64_t>> ids;   // unpadded
    // What the prediction of each position is scored against: ids, except that the full stop
    // after an answer that is not the row's last is labelled the newline. The model's turn ends
    // after every answer, as in the chat, where the program then writes that answer with a full
    // stop into the next prompt; scored on the ids instead, the model learnt to go on after an
    // answer, and asked one question it answered "yellow star" for "yellow".
    std::vector<std::vector<std::int64_t>> labels;
    std::vector<std::vector<TokenSpan>> targets;  // per row: the caption, or each answer with its end
};

// Rows of at most maxTokens where the questions allow it: a row keeps as many of its answers
// as fit, and at least one.
GenerationRows generationRows(const std::vector<demo::Scene>& scenes, const GenerationMix& mix,
                              const text::BpeTokenizer& bpe, int newlineId, std::size_t maxTokens,
                              demo::SceneRandom& choice);

}  // namespace querylens::train
