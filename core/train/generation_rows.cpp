#include "train/generation_rows.h"

#include "querylens/prompts.h"
#include "train/demo_text.h"

#include <algorithm>
#include <numeric>
#include <string>

namespace querylens::train {

namespace {

// The chance that a scene of `objects` objects is a caption row rather than an answer.
double captionChance(const GenerationMix& mix, std::size_t objects)
{
    const double mean = demo::kMeanObjectCount;
    const double crowding = 1 + mix.captionCrowding * (double(objects) - mean) / (demo::kMaxObjects - mean);
    return std::clamp(mix.captionShare * crowding, 0.0, 1.0);
}

// A question of the scene, its type drawn by the mix's weights among the types the scene has.
const demo::QuestionAnswer& drawQuestion(const demo::Scene& scene, const GenerationMix& mix, demo::SceneRandom& choice)
{
    const auto& weights = mix.questionWeights;
    const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
    std::vector<const demo::QuestionAnswer*> candidates;
    while (candidates.empty()) {
        double pick = choice.uniform() * sum;
        std::size_t t = 0;
        while (t + 1 < weights.size() && pick >= weights[t])
            pick -= weights[t++];
        const std::string type = kQuestionTypes[t];
        for (const auto& qa : scene.questions)
            if (qa.type == type)
                candidates.push_back(&qa);
    }
    return *candidates[std::size_t(choice.below(int(candidates.size())))];
}

}  // namespace

GenerationRows generationRows(const std::vector<demo::Scene>& scenes, const GenerationMix& mix,
                              const text::BpeTokenizer& bpe, int newlineId, demo::SceneRandom& choice)
{
    GenerationRows rows;
    for (const auto& scene : scenes) {
        std::vector<std::int64_t> row{kOptBos};
        std::vector<int> target;
        if (choice.chance(captionChance(mix, scene.objects.size()))) {
            target = bpe.encode(scene.caption, false);
        } else {
            const demo::QuestionAnswer& qa = drawQuestion(scene, mix, choice);
            for (int id : bpe.encode(questionPrompt(qa.question), false))
                row.push_back(id);
            target = bpe.encode(" " + qa.answer, false);
        }
        rows.targetStart.push_back(row.size());
        row.insert(row.end(), target.begin(), target.end());
        row.push_back(newlineId);
        rows.ids.push_back(std::move(row));
    }
    return rows;
}

}  // namespace querylens::train
