#include "querylens/demo_search_evaluation.h"

#include "querylens/error.h"
#include "querylens/model.h"
#include "train/scene_random.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <numeric>
#include <sstream>

namespace querylens {

namespace {

bool hasObject(const demo::Scene& scene, demo::Colour colour, demo::Shape shape)
{
    return std::any_of(scene.objects.begin(), scene.objects.end(),
                       [&](const demo::SceneObject& o) { return o.colour == colour && o.shape == shape; });
}

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

DemoSearchEvaluation evaluateDemoSearch(const Model& model, const DemoSearchOptions& options,
                                        const SceneFileWriter& write, const ImageDecoder& decode,
                                        const std::string& cacheFolder, const ProgressCallback& progress)
{
    if (options.scenes < options.top || options.top < 1)
        throw Error("a search evaluation needs at least " + std::to_string(std::max(1, options.top)) + " scenes");
    DemoSearchEvaluation result;
    result.scenes = options.scenes;
    result.seed = options.seed;
    result.top = options.top;
    result.rerank = options.rerank;

    // The folder, as a user's: scene files, indexed through the cache.
    auto start = std::chrono::steady_clock::now();
    std::vector<demo::Scene> scenes;
    std::vector<std::string> paths;
    std::map<std::string, int> sceneOfPath;
    demo::SceneOptions sceneOptions;
    sceneOptions.size = options.imageSize;
    for (int s = 0; s < options.scenes; ++s) {
        if (progress && !progress(0.5 * s / options.scenes, "writing scene " + std::to_string(s + 1)))
            throw Cancelled();
        demo::Scene scene = demo::generateScene(options.seed, s, sceneOptions);
        scene.background = {};  // not needed here; a hundred scenes keep less memory
        const std::string path = write(scene, s);
        sceneOfPath[path] = s;
        paths.push_back(path);
        for (auto& o : scene.objects)
            o.mask.clear();
        scenes.push_back(std::move(scene));
    }
    ImageIndex index;
    const EmbeddingCache cache(cacheFolder, modelFingerprint(model));
    const IndexReport report = index.update(model, paths, decode, cache, [&](double fraction, const std::string& stage) {
        return !progress || progress(0.5 + 0.3 * fraction, stage);
    });
    if (report.failed > 0)
        throw Error("could not index the scenes: " + report.problems.front());
    result.indexSeconds = secondsSince(start);

    // Every colour and shape that enough scenes have, searched once; the ITC ranking is read
    // off the hits' ITC ranks, the re-ranked one is the hits' order.
    start = std::chrono::steady_clock::now();
    SearchOptions search;
    search.top = std::max(options.top, options.rerank);
    search.rerank = options.rerank;
    search.maps = false;
    const int imageCount = int(index.images().size());
    std::vector<int> ranking(static_cast<std::size_t>(imageCount));
    for (int c = 0; c < demo::kColourCount; ++c)
        for (int k = 0; k < demo::kShapeCount; ++k) {
            const auto colour = demo::Colour(c);
            const auto shape = demo::Shape(k);
            DemoSearchQuery query;
            demo::SceneObject named;
            named.colour = colour;
            named.shape = shape;
            query.text = named.phrase(/*withSize=*/false);  // the grammar's words: "a red circle", "a orange star"
            std::vector<bool> relevant(static_cast<std::size_t>(imageCount));
            for (int i = 0; i < imageCount; ++i) {
                relevant[std::size_t(i)] = hasObject(scenes[std::size_t(sceneOfPath.at(index.images()[std::size_t(i)].path))],
                                                     colour, shape);
                query.relevant += relevant[std::size_t(i)];
            }
            if (query.relevant < options.top)
                continue;  // precision at `top` could not reach 1
            if (progress && !progress(0.8 + 0.2 * (c * demo::kShapeCount + k) / (demo::kColourCount * demo::kShapeCount),
                                      "searching \"" + query.text + "\""))
                throw Cancelled();
            const SearchResult found = searchImages(model, index, query.text, search, decode);
            auto isRelevant = [&](const SearchHit& hit) {
                return hasObject(scenes[std::size_t(sceneOfPath.at(hit.path))], colour, shape);
            };
            int itm = 0, itc = 0;
            for (std::size_t h = 0; h < found.hits.size(); ++h) {
                if (int(h) < options.top)
                    itm += isRelevant(found.hits[h]);
                if (found.hits[h].itcRank < options.top)
                    itc += isRelevant(found.hits[h]);
            }
            query.itmPrecision = double(itm) / options.top;
            query.itcPrecision = double(itc) / options.top;
            // Random rankings: a partial Fisher-Yates shuffle of the index's order per ranking.
            demo::SceneRandom random(options.seed, 500000 + std::uint64_t(c * demo::kShapeCount + k));
            int hits = 0;
            for (int r = 0; r < options.randomRankings; ++r) {
                std::iota(ranking.begin(), ranking.end(), 0);
                for (int i = 0; i < options.top; ++i) {
                    std::swap(ranking[std::size_t(i)], ranking[std::size_t(i + random.below(imageCount - i))]);
                    hits += relevant[std::size_t(ranking[std::size_t(i)])];
                }
            }
            query.randomPrecision = double(hits) / (double(options.top) * std::max(1, options.randomRankings));
            result.queries.push_back(query);
        }
    for (const auto& q : result.queries) {
        const double n = double(result.queries.size());
        result.itcPrecision += q.itcPrecision / n;
        result.itmPrecision += q.itmPrecision / n;
        result.randomPrecision += q.randomPrecision / n;
        result.chancePrecision += double(q.relevant) / imageCount / n;
    }
    result.searchSeconds = secondsSince(start);
    return result;
}

std::string searchEvaluationTable(const DemoSearchEvaluation& e)
{
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line,
                  "Search by text on %d held-out scenes (seed %llu): precision at %d, indexed in %.0f s, searched in %.0f s\n",
                  e.scenes, static_cast<unsigned long long>(e.seed), e.top, e.indexSeconds, e.searchSeconds);
    out << line;
    std::snprintf(line, sizeof line, "%-20s %8s %8s %11s %8s\n", "text", "scenes", "ITC", "ITM rerank", "random");
    out << line;
    for (const DemoSearchQuery& q : e.queries) {
        std::snprintf(line, sizeof line, "%-20s %8d %7.0f%% %10.0f%% %7.1f%%\n", q.text.c_str(), q.relevant,
                      100 * q.itcPrecision, 100 * q.itmPrecision, 100 * q.randomPrecision);
        out << line;
    }
    std::snprintf(line, sizeof line, "%-20s %8zu %7.1f%% %10.1f%% %7.1f%%   (chance %.1f %%)\n", "mean over texts",
                  e.queries.size(), 100 * e.itcPrecision, 100 * e.itmPrecision, 100 * e.randomPrecision,
                  100 * e.chancePrecision);
    out << line;
    std::snprintf(line, sizeof line,
                  "(the texts that at least %d scenes match; ITM re-ranks the best %d by ITC; random: the same index in "
                  "random orders)\n",
                  e.top, e.rerank);
    out << line;
    return out.str();
}

std::string searchEvaluationJson(const DemoSearchEvaluation& e)
{
    nlohmann::json queries = nlohmann::json::array();
    for (const DemoSearchQuery& q : e.queries)
        queries.push_back({{"text", q.text},
                           {"relevant", q.relevant},
                           {"itc_precision", q.itcPrecision},
                           {"itm_precision", q.itmPrecision},
                           {"random_precision", q.randomPrecision}});
    return nlohmann::json{{"scenes", e.scenes},
                          {"seed", e.seed},
                          {"top", e.top},
                          {"rerank", e.rerank},
                          {"itc_precision", e.itcPrecision},
                          {"itm_precision", e.itmPrecision},
                          {"random_precision", e.randomPrecision},
                          {"chance_precision", e.chancePrecision},
                          {"index_seconds", e.indexSeconds},
                          {"search_seconds", e.searchSeconds},
                          {"queries", queries}}
        .dump();
}

}  // namespace querylens
