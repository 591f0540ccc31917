#include "train/generation_rows.h"

#include "querylens/prompts.h"
#include "train/demo_text.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
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
                              const text::BpeTokenizer& bpe, int newlineId, std::size_t maxTokens,
                              demo::SceneRandom& choice)
{
    if (mix.answersPerRow < 1)
        throw std::invalid_argument("generationRows: answersPerRow must be at least 1");
    GenerationRows rows;
    for (const auto& scene : scenes) {
        std::vector<std::int64_t> row{kOptBos};
        std::vector<TokenSpan> targets;
        std::vector<std::size_t> stops;  // full stops that end an answer: labelled the newline
        const auto append = [&](const std::string& text, bool scored) {
            const std::size_t begin = row.size();
            for (int id : bpe.encode(text, false))
                row.push_back(id);
            if (scored)
                targets.push_back({begin, row.size()});
        };
        if (choice.chance(captionChance(mix, scene.objects.size()))) {
            append(scene.caption, true);
        } else if (!scene.questions.empty()) {
            std::vector<const demo::QuestionAnswer*> asked;
            const std::size_t wanted = std::min<std::size_t>(std::size_t(mix.answersPerRow), scene.questions.size());
            for (int attempt = 0; asked.size() < wanted && attempt < 16 * mix.answersPerRow; ++attempt) {
                const demo::QuestionAnswer* qa = &drawQuestion(scene, mix, choice);
                if (std::find(asked.begin(), asked.end(), qa) == asked.end())
                    asked.push_back(qa);
            }
            std::vector<ChatTurn> turns;
            for (const demo::QuestionAnswer* qa : asked)
                turns.push_back({qa->question, qa->answer});
            // The text is the chat's own for follow-ups, then the last answer.
            const ChatTurn last = turns.back();
            turns.pop_back();
            std::vector<ChatPiece> pieces = chatPieces(turns, last.question);
            pieces.push_back({ChatPiece::Kind::Answer, writtenAnswer(last.answer)});
            struct Cut {
                std::size_t tokens, targets, stops;
            };
            std::vector<Cut> cuts;  // before each answer's full stop: where a row too long ends instead
            for (const ChatPiece& piece : pieces) {
                if (piece.kind == ChatPiece::Kind::AnswerEnd) {
                    cuts.push_back({row.size(), targets.size(), stops.size()});
                    stops.push_back(row.size());
                }
                append(piece.text, piece.kind == ChatPiece::Kind::Answer);
                if (piece.kind == ChatPiece::Kind::AnswerEnd)
                    targets.back().end = row.size();  // scored with its answer, as the newline
            }
            while (row.size() + 1 > maxTokens && !cuts.empty()) {  // the newline must fit too
                const Cut cut = cuts.back();
                cuts.pop_back();
                row.resize(cut.tokens);
                targets.resize(cut.targets);
                targets.back().end = cut.tokens;
                stops.resize(cut.stops);
            }
        }
        if (targets.empty())  // a scene without questions: the newline alone
            targets.push_back({row.size(), row.size()});
        row.push_back(newlineId);
        targets.back().end = row.size();
        std::vector<std::int64_t> labels = row;
        for (std::size_t stop : stops)
            labels[stop] = newlineId;
        rows.labels.push_back(std::move(labels));
        rows.ids.push_back(std::move(row));
        rows.targets.push_back(std::move(targets));
    }
    return rows;
}

}  // namespace querylens::train
