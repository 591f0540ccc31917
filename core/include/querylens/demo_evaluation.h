#pragma once
// `querylens eval-demo`: how well the demo model sees, on held-out generated scenes whose
// ground truth is known. Captions (every object's colour and shape named), answers per question
// type, and for each explanation map method, how well the map of a caption word points at the
// object the word names: pointing game, energy in the mask, and a deletion curve against a
// random order, with a random-map baseline from the same run.

#include "querylens/demo_scenes.h"
#include "querylens/demo_search_evaluation.h"
#include "querylens/generation.h"
#include "querylens/image_encoding.h"
#include "querylens/model.h"
#include "querylens/progress.h"
#include "querylens/query_catalogue.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace querylens {

// What a map method sees for one word of a generated caption.
struct WordMapContext {
    const Model* model = nullptr;
    const ImageEncoding* encoding = nullptr;
    const RgbImage* image = nullptr;
    const GenerationResult* generation = nullptr;  // the caption (what the explain pass re-runs)
    std::vector<int> promptIds;        // the caption's input: BOS (and the caption prompt)
    std::vector<int> generatedIds;     // the caption's tokens
    std::vector<int> wordTokens;       // indices into generatedIds of the word's tokens
    // The language model's attention from the positions that predicted the word's tokens to the
    // query positions, mean over those tokens (what the explorer's word bars show), and which
    // query each entry is.
    std::vector<float> queryWeights;
    std::vector<int> queryIndices;
};

// An explanation method under evaluation (not querylens::MapMethod, the enum of explain-words):
// a map over the patch grid ([grid * grid], row-major, any scale) for a word.
struct EvaluatedMapMethod {
    std::string name;
    std::function<std::vector<float>(const WordMapContext&)> map;
};

// The maps the attention explorer offers for a word: the most weighted query's map under the
// mean of layers, under each cross-attention layer and under the query flow, and the word ->
// queries -> image map (the queries' mean-of-layers maps weighted by the word's bars).
std::vector<EvaluatedMapMethod> explorerMapMethods(const ModelInfo& info);

// The gradient maps of explain-words (querylens/word_maps.h) for a word: GradCAM, relevancy and
// input x gradient. The three share one explain pass per word (kept for the last word asked
// about, keyed on the encoding, its pixels and the word's tokens), so each word costs one
// teacher-forced forward and one backward per token, whatever the number of methods.
std::vector<EvaluatedMapMethod> gradientMapMethods();

struct DemoEvaluationOptions {
    int scenes = 50;
    std::uint64_t seed = 2;        // held out: the demo model trained on seed 1
    int deletionScenes = 10;       // the deletion curves' share (each costs many encodes)
    std::vector<EvaluatedMapMethod> methods;  // empty: explorerMapMethods, then gradientMapMethods
    int imageSize = 224;           // scenes are drawn at this size; the model resizes them
    int numBeams = 1;              // captions and answers: greedy (1) or beam search
};

struct MethodScore {
    std::string name;
    int words = 0;                 // colour and shape words of correctly named objects
    double pointingGame = 0;       // share of words whose map's peak patch lies on the object
    double pointingColour = 0, pointingShape = 0;
    double energyInMask = 0;       // mean share of the map's mass on the object's patches
    int deletionWords = 0;
    double deletionAuc = 0;        // mean area under the word's probability as patches go, in map order
    double randomDeletionAuc = 0;  // the same words, patches in a random order
};

struct DemoEvaluation {
    int scenes = 0;
    std::uint64_t seed = 0;
    int numBeams = 1;              // how captions and answers were decoded (1: greedy)
    double captionAccuracy = 0;
    // Two-object scenes whose caption says where the two are right (demo::captionRelationHolds;
    // captionAccuracy does not look at relations): (right, two-object scenes).
    std::pair<int, int> captionRelations{0, 0};
    double captionRelationAccuracy = 0;
    double vqaAccuracy = 0;
    std::map<std::string, std::pair<int, int>> vqaByType;  // type -> (right, asked)
    // The same questions asked in turn in one conversation per scene, each after the model's
    // own earlier answers (the chat's follow-ups), the first left out: (right, asked).
    std::pair<int, int> followUps{0, 0};
    double followUpAccuracy = 0;
    double meanQueryEntropy = 0;   // mean normalised entropy of the queries' mean-of-layers maps
    std::vector<MethodScore> methods;  // the methods given, then "random map"
    QueryCatalogue catalogue;
    double seconds = 0;
    std::vector<std::string> failures;  // examples of wrong captions and answers, for people
    std::optional<DemoSearchEvaluation> search;  // the matching model's search, when it was measured
};

DemoEvaluation evaluateDemoModel(const std::shared_ptr<const Model>& model, const DemoEvaluationOptions& options,
                                 const ProgressCallback& progress = {});

// Plain text: the captions' and answers' figures, the maps' table, then the search table if any.
std::string evaluationTable(const DemoEvaluation& evaluation);
// One JSON object (with `search`, searchEvaluationJson's object, when it was measured).
std::string evaluationJson(const DemoEvaluation& evaluation);

}  // namespace querylens
