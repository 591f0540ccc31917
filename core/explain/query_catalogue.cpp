#include "querylens/query_catalogue.h"

#include "io/json_file.h"
#include "io/text_file.h"
#include "querylens/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace querylens {

namespace fs = std::filesystem;

namespace {
constexpr const char* kFileName = "query_catalogue.json";
constexpr const char* kFormat = "querylens-query-catalogue/1";
}  // namespace

std::string queryCatalogueJson(const QueryCatalogue& catalogue)
{
    nlohmann::json root{{"format", kFormat}, {"scenes", catalogue.scenes}, {"grid_size", catalogue.gridSize},
                        {"source", catalogue.source}, {"queries", nlohmann::json::array()}};
    for (const auto& q : catalogue.queries) {
        nlohmann::json words = nlohmann::json::array();
        for (const auto& w : q.topWords)
            words.push_back({{"word", w.word}, {"share", w.share}, {"lift", w.lift}});
        root["queries"].push_back({{"query", q.query},
                                   {"mean_normalized_entropy", q.meanNormalizedEntropy},
                                   {"mean_cls_share", q.meanClsShare},
                                   {"mean_map", q.meanMap},
                                   {"top_words", words}});
    }
    return root.dump(1) + "\n";
}

QueryCatalogue readQueryCatalogue(const std::string& folder)
{
    const fs::path path = fs::path(folder) / kFileName;
    QueryCatalogue catalogue;
    if (!fs::exists(path))
        return catalogue;
    const nlohmann::json root = io::readJsonFile(path.string());
    try {
        if (!root.is_object() || root.value("format", std::string()) != kFormat)
            throw Error("not a query catalogue (format should be " + std::string(kFormat) + ")", path.string(), "format");
        catalogue.scenes = io::intAt(root, "scenes", path.string());
        catalogue.gridSize = io::intAt(root, "grid_size", path.string());
        catalogue.source = root.value("source", std::string());
        for (const auto& q : root.at("queries")) {
            QueryCatalogueEntry entry;
            entry.query = io::intAt(q, "query", path.string());
            entry.meanNormalizedEntropy = q.at("mean_normalized_entropy").get<double>();
            entry.meanClsShare = q.value("mean_cls_share", 0.0);
            entry.meanMap = q.at("mean_map").get<std::vector<float>>();
            if (entry.meanMap.size() != std::size_t(catalogue.gridSize) * catalogue.gridSize)
                throw Error("mean_map of query " + std::to_string(entry.query) + " is not grid_size x grid_size",
                            path.string(), "queries");
            for (const auto& w : q.at("top_words"))
                entry.topWords.push_back({w.at("word").get<std::string>(), w.at("share").get<double>(),
                                          w.at("lift").get<double>()});
            catalogue.queries.push_back(std::move(entry));
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(std::string("malformed query catalogue: ") + e.what(), path.string());
    }
    return catalogue;
}

void writeQueryCatalogue(const QueryCatalogue& catalogue, const std::string& folder)
{
    io::writeTextFile((fs::path(folder) / kFileName).string(), queryCatalogueJson(catalogue));
}

}  // namespace querylens
