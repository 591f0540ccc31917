#pragma once
// How well search by text finds generated scenes with the demo's matching model (stage 1,
// Blip2ForImageTextRetrieval): a folder of held-out scenes is indexed as `querylens search`
// indexes one, each "a <colour> <shape>" that at least `top` scenes contain is searched, and
// precision at `top` (the share of the first hits whose scene has such an object) is taken for
// the ITC ranking and for the ranking after ITM re-ranking, against random rankings of the same
// index in the same run and the chance rate (relevant scenes / scenes).

#include "querylens/demo_scenes.h"
#include "querylens/image_search.h"
#include "querylens/progress.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace querylens {

class Model;

struct DemoSearchOptions {
    int scenes = 100;
    std::uint64_t seed = 2;      // held out: the demo model trained on seed 1
    int top = 5;                 // precision at this many hits
    int rerank = 10;             // of the best by ITC, re-ranked by ITM (as `search` does by default)
    int randomRankings = 200;    // random orders of the index, per text
    int imageSize = 224;
};

struct DemoSearchQuery {
    std::string text;            // "a red circle"
    int relevant = 0;            // scenes with a red circle
    double itcPrecision = 0;     // precision at `top` of the ITC ranking
    double itmPrecision = 0;     // ... after the ITM re-ranking
    double randomPrecision = 0;  // mean over the random rankings
};

struct DemoSearchEvaluation {
    int scenes = 0;
    std::uint64_t seed = 0;
    int top = 0;
    int rerank = 0;
    std::vector<DemoSearchQuery> queries;  // the texts with at least `top` relevant scenes
    double itcPrecision = 0, itmPrecision = 0, randomPrecision = 0;  // means over the texts
    double chancePrecision = 0;  // mean over the texts of relevant / scenes
    double indexSeconds = 0, searchSeconds = 0;
};

// Core has no image codecs: `write` saves scene `index` as a file and returns its path (each
// scene a distinct file); `decode` reads such a file back. Embeddings are cached in
// `cacheFolder`. Throws Error for a model that cannot match; Cancelled from `progress`.
using SceneFileWriter = std::function<std::string(const demo::Scene& scene, int index)>;
DemoSearchEvaluation evaluateDemoSearch(const Model& model, const DemoSearchOptions& options,
                                        const SceneFileWriter& write, const ImageDecoder& decode,
                                        const std::string& cacheFolder, const ProgressCallback& progress = {});

std::string searchEvaluationTable(const DemoSearchEvaluation& evaluation);  // plain text
std::string searchEvaluationJson(const DemoSearchEvaluation& evaluation);   // one JSON object

}  // namespace querylens
