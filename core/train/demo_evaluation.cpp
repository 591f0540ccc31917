#include "querylens/demo_evaluation.h"

#include "image/image_preprocessor.h"
#include "pipeline/model_impl.h"
#include "querylens/attention_views.h"
#include "querylens/error.h"
#include "querylens/prompts.h"
#include "querylens/session.h"
#include "train/demo_text.h"
#include "train/demo_trainer.h"
#include "train/scene_random.h"

#include <c10/core/InferenceMode.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

namespace querylens {

namespace {

// Fractions of the patches removed along a deletion curve.
constexpr double kDeletionFractions[] = {0.0, 1.0 / 16, 2.0 / 16, 3.0 / 16, 4.0 / 16, 6.0 / 16, 8.0 / 16};
// The peak patch "points at" an object when at least this share of its pixels are the object's.
constexpr double kPointingCoverage = 0.1;

struct WordSpan {
    std::string word;
    std::vector<int> tokens;  // indices into the generated tokens
};

// The words of generated text, each with the tokens it is made of (a token touching a word's
// letters belongs to it), as the explorer's word bars group them.
std::vector<WordSpan> wordsOf(const std::vector<GeneratedToken>& tokens)
{
    std::vector<WordSpan> words;
    WordSpan current;
    for (std::size_t t = 0; t < tokens.size(); ++t)
        for (char ch : tokens[t].text) {
            const unsigned char c = static_cast<unsigned char>(ch);
            if (std::isalnum(c)) {
                current.word += char(std::tolower(c));
                if (current.tokens.empty() || current.tokens.back() != int(t))
                    current.tokens.push_back(int(t));
            } else if (!current.word.empty()) {
                words.push_back(current);
                current = {};
            }
        }
    if (!current.word.empty())
        words.push_back(current);
    return words;
}

// For each patch of the grid, the share of its pixels that belong to the object.
std::vector<double> patchCoverage(const demo::SceneObject& object, int width, int height, int grid)
{
    std::vector<double> coverage(std::size_t(grid) * grid, 0.0);
    for (int r = 0; r < grid; ++r)
        for (int c = 0; c < grid; ++c) {
            const int y0 = r * height / grid, y1 = (r + 1) * height / grid, x0 = c * width / grid, x1 = (c + 1) * width / grid;
            int inside = 0;
            for (int y = y0; y < y1; ++y)
                for (int x = x0; x < x1; ++x)
                    inside += object.mask[std::size_t(y) * width + x];
            coverage[std::size_t(r) * grid + c] = double(inside) / std::max(1, (y1 - y0) * (x1 - x0));
        }
    return coverage;
}

std::vector<int> orderByValue(const std::vector<float>& map)
{
    std::vector<int> order(map.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return map[std::size_t(a)] > map[std::size_t(b)]; });
    return order;
}

// The picture with the first `count` patches of `order` replaced by the scene's background.
RgbImage deletePatches(const demo::Scene& scene, const std::vector<int>& order, int count, int grid)
{
    RgbImage image = scene.image;
    const int w = image.width, h = image.height;
    for (int i = 0; i < count && i < int(order.size()); ++i) {
        const int r = order[std::size_t(i)] / grid, c = order[std::size_t(i)] % grid;
        for (int y = r * h / grid; y < (r + 1) * h / grid; ++y)
            for (int x = c * w / grid; x < (c + 1) * w / grid; ++x)
                for (int k = 0; k < 3; ++k) {
                    const std::size_t at = (std::size_t(y) * w + x) * 3 + k;
                    image.pixels[at] = scene.background.pixels[at];
                }
    }
    return image;
}

// Area under the word's teacher-forced probability as patches are removed in `order`
// (x: fraction removed, 0 to 1/2, rescaled to 0-1).
double deletionArea(const Model& model, const demo::Scene& scene, const std::vector<int>& order, int grid,
                    const std::vector<int>& ids, std::size_t firstGenerated, const std::vector<int>& wordTokens)
{
    const Model::Impl& impl = model.impl();
    const int size = impl.preprocessor.height;
    const int patches = grid * grid;
    const std::size_t steps = std::size(kDeletionFractions);
    at::Tensor pixels = at::empty({std::int64_t(steps), 3, size, impl.preprocessor.width});
    for (std::size_t k = 0; k < steps; ++k) {
        const int count = int(std::lround(kDeletionFractions[k] * patches));
        const std::vector<float> values = image::preprocess(deletePatches(scene, order, count, grid), impl.preprocessor);
        std::copy(values.begin(), values.end(), pixels[std::int64_t(k)].data_ptr<float>());
    }
    const model::ImageFeatures features = impl.blip2->encode(pixels);
    const std::int64_t queries = features.projected.size(1);
    std::vector<double> probability(steps);
    for (std::size_t k = 0; k < steps; ++k) {
        const at::Tensor logits = impl.blip2->languageModel().forwardLogits(features.projected.narrow(0, std::int64_t(k), 1), ids, {});
        const at::Tensor logProbs = at::log_softmax(logits[0].to(at::kFloat), -1);  // [Q + T, V]
        double logP = 0;
        for (int t : wordTokens) {
            const std::int64_t position = std::int64_t(firstGenerated) + t;  // index of the token in ids
            logP += logProbs[queries + position - 1][ids[std::size_t(position)]].item<double>();
        }
        probability[k] = std::exp(logP);
    }
    double area = 0;
    for (std::size_t k = 1; k < steps; ++k)
        area += (kDeletionFractions[k] - kDeletionFractions[k - 1]) * (probability[k] + probability[k - 1]) / 2;
    return area / kDeletionFractions[steps - 1];
}

struct MethodTally {
    int words = 0, colourWords = 0, shapeWords = 0, hits = 0, colourHits = 0, shapeHits = 0;
    double energy = 0;
    int deletionWords = 0;
    double deletion = 0, randomDeletion = 0;
};

struct CatalogueTally {
    std::vector<std::vector<double>> mapSum;  // [query][patch]
    std::vector<double> entropySum, clsSum;
    std::map<std::string, std::vector<double>> wordShare;  // word -> [query] summed share
    std::map<std::string, int> wordCount;
};

// An answer as the grammar writes it: the full stop the chat's turns end with, and spaces, cut.
std::string answerText(const GenerationResult& answer)
{
    std::string text = answer.sequences.front().text;
    while (!text.empty() && (text.back() == '.' || text.back() == ' '))
        text.pop_back();
    return text;
}

std::string percent(double v)
{
    char text[16];
    std::snprintf(text, sizeof text, "%.1f %%", 100 * v);
    return text;
}

}  // namespace

DemoEvaluation evaluateDemoModel(const std::shared_ptr<const Model>& model, const DemoEvaluationOptions& options,
                                 const ProgressCallback& progress)
{
    const auto start = std::chrono::steady_clock::now();
    const ModelInfo& info = model->info();
    const int grid = info.gridSize;
    std::vector<EvaluatedMapMethod> methods = options.methods;
    if (methods.empty()) {
        methods = explorerMapMethods(info);
        for (auto& m : gradientMapMethods())
            methods.push_back(std::move(m));
    }
    const std::size_t randomIndex = methods.size();
    std::vector<MethodTally> tallies(methods.size() + 1);

    DemoEvaluation result;
    result.scenes = options.scenes;
    result.seed = options.seed;
    result.numBeams = options.numBeams;
    CatalogueTally catalogue;
    catalogue.mapSum.assign(std::size_t(info.numQueries), std::vector<double>(std::size_t(grid) * grid, 0.0));
    catalogue.entropySum.assign(std::size_t(info.numQueries), 0.0);
    catalogue.clsSum.assign(std::size_t(info.numQueries), 0.0);
    int captionsRight = 0;
    double entropySum = 0;

    DecodingOptions decoding;
    decoding.maxNewTokens = 40;
    decoding.numBeams = options.numBeams;
    decoding.topAlternatives = 0;
    for (int s = 0; s < options.scenes; ++s) {
        if (progress && !progress(double(s) / options.scenes, "evaluating scene " + std::to_string(s + 1)))
            throw Cancelled();
        demo::SceneOptions sceneOptions;
        sceneOptions.size = options.imageSize;
        const demo::Scene scene = demo::generateScene(options.seed, s, sceneOptions);
        const auto encoding = model->encode(scene.image);
        auto session = model->newSession(encoding);
        const GenerationResult caption = session->caption(decoding);
        const GeneratedSequence& sequence = caption.sequences.front();

        // Captions: every object's colour and shape named, and nothing else.
        const auto mentioned = demo::mentionedObjects(sequence.text);
        std::vector<std::pair<int, int>> named, truth;
        for (const auto& m : mentioned)
            named.push_back({int(m.colour), int(m.shape)});
        for (const auto& o : scene.objects)
            truth.push_back({int(o.colour), int(o.shape)});
        std::sort(named.begin(), named.end());
        std::sort(truth.begin(), truth.end());
        const bool captionRight = named == truth;
        captionsRight += captionRight;
        if (const auto relationRight = demo::captionRelationHolds(scene, sequence.text)) {
            ++result.captionRelations.second;
            result.captionRelations.first += *relationRight;
        }
        if (!captionRight && result.failures.size() < 12)
            result.failures.push_back("scene " + std::to_string(s) + ": \"" + sequence.text + "\" (truth: \"" +
                                      scene.caption + "\")");

        // Questions: one of each type the scene has, chosen by the scene's own stream; each asked
        // on its own, then all of them again as one conversation (below).
        demo::SceneRandom pick(options.seed, 900000 + std::uint64_t(s));
        std::vector<const demo::QuestionAnswer*> asked;
        for (const char* type : train::kQuestionTypes) {
            std::vector<const demo::QuestionAnswer*> pool;
            for (const auto& qa : scene.questions)
                if (qa.type == type)
                    pool.push_back(&qa);
            if (pool.empty())
                continue;
            const demo::QuestionAnswer& qa = *pool[std::size_t(pick.below(int(pool.size())))];
            asked.push_back(&qa);
            const std::string text = answerText(session->generate(questionPrompt(qa.question), decoding));
            auto& [right, count] = result.vqaByType[type];
            ++count;
            right += text == qa.answer;
            if (text != qa.answer && result.failures.size() < 24)
                result.failures.push_back("scene " + std::to_string(s) + ": " + qa.question + " -> \"" + text +
                                          "\" (truth: \"" + qa.answer + "\")");
        }
        // The same questions in turn, as the chat asks follow-ups: each after the model's own
        // earlier answers. The first is the question asked alone, so it is not counted again.
        for (std::size_t i = 0; i < asked.size(); ++i) {
            const std::string text = answerText(session->ask(asked[i]->question, decoding));
            if (i == 0)
                continue;
            ++result.followUps.second;
            result.followUps.first += text == asked[i]->answer;
        }

        // Query statistics for the catalogue and the focus figure.
        const QueryMaps meanMaps = selectMaps(encoding->crossAttention(), encoding->selfAttention(), MapSelection{});
        const std::vector<QueryStatistics> stats = queryStatistics(meanMaps);
        double sceneEntropy = 0;
        for (int q = 0; q < info.numQueries; ++q) {
            sceneEntropy += stats[std::size_t(q)].normalizedEntropy / info.numQueries;
            catalogue.entropySum[std::size_t(q)] += stats[std::size_t(q)].normalizedEntropy;
            catalogue.clsSum[std::size_t(q)] += stats[std::size_t(q)].clsShare;
            const std::vector<float> patches = meanMaps.patches(q);
            for (std::size_t p = 0; p < patches.size(); ++p)
                catalogue.mapSum[std::size_t(q)][p] += patches[p];
        }
        entropySum += sceneEntropy;

        // Word maps: each colour and shape word of a correctly named object.
        const std::vector<WordSpan> words = wordsOf(sequence.tokens);
        WordMapContext context;
        context.model = model.get();
        context.encoding = encoding.get();
        context.image = &scene.image;
        context.generation = &caption;
        context.promptIds = model->tokenize(model->captionPrompt());
        context.generatedIds = sequence.ids;
        context.queryIndices = caption.queryIndices;
        std::vector<int> ids = context.promptIds;
        ids.insert(ids.end(), sequence.ids.begin(), sequence.ids.end());
        auto weightsOf = [&](const WordSpan& span) {
            std::vector<float> weights(caption.queryIndices.size(), 0.0f);
            for (int t : span.tokens)
                for (std::size_t q = 0; q < weights.size() && q < sequence.tokens[std::size_t(t)].queryAttention.size(); ++q)
                    weights[q] += sequence.tokens[std::size_t(t)].queryAttention[q] / float(span.tokens.size());
            return weights;
        };
        for (const WordSpan& span : words) {
            if (span.word == "a")
                continue;
            const std::vector<float> weights = weightsOf(span);
            const float total = std::accumulate(weights.begin(), weights.end(), 0.0f);
            if (total <= 0)
                continue;
            auto& shares = catalogue.wordShare[span.word];
            shares.resize(std::size_t(info.numQueries), 0.0);
            for (std::size_t q = 0; q < weights.size(); ++q)
                shares[std::size_t(caption.queryIndices[q])] += weights[q] / total;
            ++catalogue.wordCount[span.word];
        }
        for (const auto& m : mentioned) {
            const auto object = demo::findObject(scene, m.colour, m.shape);
            if (!object)
                continue;  // a hallucinated object has nothing to point at
            const demo::SceneObject& o = scene.objects[std::size_t(*object)];
            const std::vector<double> coverage = patchCoverage(o, scene.image.width, scene.image.height, grid);
            for (int wordIndex : {m.colourWord, m.shapeWord}) {
                if (wordIndex >= int(words.size()))
                    continue;
                const bool isColour = wordIndex == m.colourWord;
                context.wordTokens = words[std::size_t(wordIndex)].tokens;
                context.queryWeights = weightsOf(words[std::size_t(wordIndex)]);
                demo::SceneRandom noise(options.seed, 700000 + std::uint64_t(s) * 64 + std::uint64_t(wordIndex));
                std::vector<float> randomMap(std::size_t(grid) * grid);
                for (float& v : randomMap)
                    v = float(noise.uniform());
                const bool deletion = s < options.deletionScenes;
                const double randomArea =
                    deletion ? deletionArea(*model, scene, orderByValue(randomMap), grid, ids, context.promptIds.size(),
                                            context.wordTokens)
                             : 0.0;
                for (std::size_t k = 0; k <= methods.size(); ++k) {
                    const std::vector<float> map = k == randomIndex ? randomMap : methods[k].map(context);
                    MethodTally& tally = tallies[k];
                    const int peak = int(std::max_element(map.begin(), map.end()) - map.begin());
                    const bool hit = coverage[std::size_t(peak)] >= kPointingCoverage;
                    double mass = 0, inside = 0;
                    for (std::size_t p = 0; p < map.size(); ++p) {
                        mass += std::max(0.0f, map[p]);
                        inside += std::max(0.0f, map[p]) * coverage[p];
                    }
                    ++tally.words;
                    tally.hits += hit;
                    (isColour ? tally.colourWords : tally.shapeWords) += 1;
                    (isColour ? tally.colourHits : tally.shapeHits) += hit;
                    tally.energy += mass > 0 ? inside / mass : 0;
                    if (deletion) {
                        ++tally.deletionWords;
                        tally.randomDeletion += randomArea;
                        tally.deletion += k == randomIndex ? randomArea
                                                           : deletionArea(*model, scene, orderByValue(map), grid, ids,
                                                                          context.promptIds.size(), context.wordTokens);
                    }
                }
            }
        }
    }

    result.captionAccuracy = double(captionsRight) / std::max(1, options.scenes);
    result.captionRelationAccuracy = double(result.captionRelations.first) / std::max(1, result.captionRelations.second);
    int right = 0, asked = 0;
    for (const auto& [type, counts] : result.vqaByType) {
        right += counts.first;
        asked += counts.second;
    }
    result.vqaAccuracy = double(right) / std::max(1, asked);
    result.followUpAccuracy = double(result.followUps.first) / std::max(1, result.followUps.second);
    result.meanQueryEntropy = entropySum / std::max(1, options.scenes);
    for (std::size_t k = 0; k <= methods.size(); ++k) {
        const MethodTally& t = tallies[k];
        MethodScore score;
        score.name = k == randomIndex ? "random map" : methods[k].name;
        score.words = t.words;
        score.pointingGame = double(t.hits) / std::max(1, t.words);
        score.pointingColour = double(t.colourHits) / std::max(1, t.colourWords);
        score.pointingShape = double(t.shapeHits) / std::max(1, t.shapeWords);
        score.energyInMask = t.energy / std::max(1, t.words);
        score.deletionWords = t.deletionWords;
        score.deletionAuc = t.deletion / std::max(1, t.deletionWords);
        score.randomDeletionAuc = t.randomDeletion / std::max(1, t.deletionWords);
        result.methods.push_back(score);
    }

    // The catalogue: per query its mean focus and the words that lean on it most.
    QueryCatalogue& cat = result.catalogue;
    cat.scenes = options.scenes;
    cat.gridSize = grid;
    cat.source = std::to_string(options.scenes) + " generated scenes of seed " + std::to_string(options.seed);
    for (int q = 0; q < info.numQueries; ++q) {
        QueryCatalogueEntry entry;
        entry.query = q;
        entry.meanNormalizedEntropy = catalogue.entropySum[std::size_t(q)] / std::max(1, options.scenes);
        entry.meanClsShare = catalogue.clsSum[std::size_t(q)] / std::max(1, options.scenes);
        for (double v : catalogue.mapSum[std::size_t(q)])
            entry.meanMap.push_back(float(v / std::max(1, options.scenes)));
        for (const auto& [word, shares] : catalogue.wordShare) {
            const int count = catalogue.wordCount[word];
            if (count < 3 || shares.empty())
                continue;  // too rare to say
            const double share = shares[std::size_t(q)] / count;
            entry.topWords.push_back({word, share, share * info.numQueries});
        }
        std::sort(entry.topWords.begin(), entry.topWords.end(), [](auto& a, auto& b) { return a.lift > b.lift; });
        if (entry.topWords.size() > 5)
            entry.topWords.resize(5);
        cat.queries.push_back(std::move(entry));
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

std::string evaluationTable(const DemoEvaluation& e)
{
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line, "Demo model on %d held-out scenes (seed %llu), %.0f s", e.scenes,
                  static_cast<unsigned long long>(e.seed), e.seconds);
    out << line << (e.numBeams > 1 ? ", beam search (" + std::to_string(e.numBeams) + " beams)\n" : "\n");
    out << "captions right (every object's colour and shape): " << percent(e.captionAccuracy) << "\n";
    std::snprintf(line, sizeof line, "relation right in two-object captions: %s (%d/%d)\n",
                  percent(e.captionRelationAccuracy).c_str(), e.captionRelations.first, e.captionRelations.second);
    out << line;
    out << "answers right: " << percent(e.vqaAccuracy) << " (";
    bool first = true;
    for (const auto& [type, counts] : e.vqaByType) {
        out << (first ? "" : ", ") << type << " " << counts.first << "/" << counts.second;
        first = false;
    }
    std::snprintf(line, sizeof line, ")\nanswers right as follow-ups (the same questions in one conversation, "
                  "the second on): %s (%d/%d)", percent(e.followUpAccuracy).c_str(), e.followUps.first, e.followUps.second);
    out << line;
    std::snprintf(line, sizeof line, "\nmean normalised entropy of the queries' maps: %.3f (1 = uniform)\n\n",
                  e.meanQueryEntropy);
    out << line;
    std::snprintf(line, sizeof line, "%-28s %6s %9s %8s %8s %8s %9s %9s\n", "map (colour and shape words)", "words",
                  "pointing", "colour", "shape", "energy", "deletion", "random");
    out << line;
    for (const MethodScore& m : e.methods) {
        std::snprintf(line, sizeof line, "%-28s %6d %8.1f%% %7.1f%% %7.1f%% %7.1f%% %9.3f %9.3f\n", m.name.c_str(),
                      m.words, 100 * m.pointingGame, 100 * m.pointingColour, 100 * m.pointingShape, 100 * m.energyInMask,
                      m.deletionAuc, m.randomDeletionAuc);
        out << line;
    }
    if (!e.methods.empty())
        out << "(deletion: area under the word's probability as patches are removed in the map's order, on "
            << e.methods.front().deletionWords << " words; random: the same words in a random order; lower is better)\n";
    if (e.search)
        out << "\n" << searchEvaluationTable(*e.search);
    return out.str();
}

std::string evaluationJson(const DemoEvaluation& e)
{
    nlohmann::json root{{"scenes", e.scenes},
                        {"seed", e.seed},
                        {"num_beams", e.numBeams},
                        {"caption_accuracy", e.captionAccuracy},
                        {"caption_relation_accuracy", e.captionRelationAccuracy},
                        {"caption_relations", {{"right", e.captionRelations.first}, {"asked", e.captionRelations.second}}},
                        {"vqa_accuracy", e.vqaAccuracy},
                        {"vqa_followup_accuracy", e.followUpAccuracy},
                        {"mean_query_entropy", e.meanQueryEntropy},
                        {"seconds", e.seconds}};
    for (const auto& [type, counts] : e.vqaByType)
        root["vqa_by_type"][type] = {{"right", counts.first}, {"asked", counts.second},
                                     {"accuracy", double(counts.first) / std::max(1, counts.second)}};
    root["methods"] = nlohmann::json::object();
    for (const MethodScore& m : e.methods)
        root["methods"][m.name] = {{"words", m.words},
                                   {"pointing_game", m.pointingGame},
                                   {"pointing_game_colour", m.pointingColour},
                                   {"pointing_game_shape", m.pointingShape},
                                   {"energy_in_mask", m.energyInMask},
                                   {"deletion_words", m.deletionWords},
                                   {"deletion_auc", m.deletionAuc},
                                   {"random_deletion_auc", m.randomDeletionAuc}};
    root["failures"] = e.failures;
    if (e.search)
        root["search"] = nlohmann::json::parse(searchEvaluationJson(*e.search));
    return root.dump();
}

}  // namespace querylens
