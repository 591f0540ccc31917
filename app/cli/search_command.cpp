// search: a folder of images ranked by how well they match a text.

#include "cli/cli_options.h"
#include "cli/command_runner.h"
#include "cli/commands.h"
#include "cli/explanation_output.h"
#include "explain/map_sheet.h"
#include "image_file.h"
#include "image_folder.h"
#include "querylens/error.h"
#include "querylens/image_search.h"

#include <QDir>
#include <QFileInfo>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace querylens::cli {

namespace {

const char* const kSearchHelp =
    "Every image's embeddings are computed once and kept in a cache keyed by the file's content (SHA-256) and the\n"
    "model, so a second search of the same folder encodes only new or changed files (--cache DIR; default\n"
    "$QUERYLENS_CACHE, else $XDG_CACHE_HOME/querylens/embeddings). The images are ranked by ITC (the best query's\n"
    "cosine with the text), the best --rerank of them re-ranked by ITM (the match probability), and each hit gets\n"
    "the phrase's localisation map (--maps DIR writes them as PNG).\n\n"
    "With --json the last line of stdout is one JSON object: text, input_ids, folder, model, searched (images\n"
    "ranked), index (images, unchanged, from_cache, encoded, failed, problems), timings_ms (load, index, search),\n"
    "and results, best first, each: rank, path, itc_similarity, best_query, itc_rank, reranked, itm_logits and\n"
    "itm_probability (when reranked), peak_row and peak_column of its map, map (the PNG written, with --maps).";

int positiveValue(const QCommandLineParser& parser, const QString& name, int fallback, int least)
{
    if (!parser.isSet(name))
        return fallback;
    bool ok = false;
    const int value = parser.value(name).toInt(&ok);
    if (!ok || value < least)
        throw UsageError{QStringLiteral("--%1 needs a whole number of at least %2").arg(name).arg(least)};
    return value;
}

}  // namespace

int runSearch(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Search a folder of images by text with an image-text matching model (Blip2ForImageTextRetrieval).\n\n") +
        QLatin1String(kSearchHelp));
    addModelOptions(parser);
    parser.addOptions({
        {QStringLiteral("top"), QStringLiteral("Hits to show (default 10)."), QStringLiteral("K")},
        {QStringLiteral("rerank"), QStringLiteral("How many of the best by ITC to re-rank by ITM (default 10; 0: none)."),
         QStringLiteral("K")},
        {QStringLiteral("recursive"), QStringLiteral("Also search the folder's subfolders.")},
        {QStringLiteral("cache"), QStringLiteral("Where image embeddings are kept."), QStringLiteral("DIR")},
        {QStringLiteral("maps"), QStringLiteral("Write each hit's localisation map as a PNG into DIR."), QStringLiteral("DIR")},
        {QStringLiteral("no-maps"), QStringLiteral("Skip the localisation maps (faster).")},
        {QStringLiteral("json"), QStringLiteral("Print one JSON object as the last line (see above).")},
    });
    parser.addPositionalArgument(QStringLiteral("FOLDER"), QStringLiteral("Folder of images."));
    parser.addPositionalArgument(QStringLiteral("TEXT"), QStringLiteral("What to look for, in quotes."));
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 2, 2, QStringLiteral("give a folder and a text"));
        if (!QFileInfo(positional[0]).isDir())
            throw Error("is not a folder", positional[0].toStdString());
        if (positional[1].trimmed().isEmpty())
            throw UsageError{QStringLiteral("the text is empty")};
        SearchOptions options;
        options.top = positiveValue(parser, QStringLiteral("top"), options.top, 1);
        options.rerank = positiveValue(parser, QStringLiteral("rerank"), options.rerank, 0);
        options.maps = !parser.isSet(QStringLiteral("no-maps"));
        const QString mapsFolder = parser.value(QStringLiteral("maps"));
        if (!mapsFolder.isEmpty() && !options.maps)
            throw UsageError{QStringLiteral("--maps and --no-maps contradict each other")};
        if (!mapsFolder.isEmpty() && !QDir().mkpath(mapsFolder))
            throw Error("cannot create the folder", mapsFolder.toStdString());

        double loadMs = 0;
        const auto model = loadModel(parser, loadMs);
        if (!model->info().canMatch)
            throw Error(capabilitySummary(model->info()));
        const QString cacheFolder = parser.isSet(QStringLiteral("cache")) ? parser.value(QStringLiteral("cache"))
                                                                          : QString::fromStdString(EmbeddingCache::defaultFolder());
        const EmbeddingCache cache(cacheFolder.toStdString(), modelFingerprint(*model));
        std::vector<std::string> paths;
        for (const QString& file : ui::imageFilesIn(positional[0], parser.isSet(QStringLiteral("recursive"))))
            paths.push_back(file.toStdString());

        const bool interactive = ::isatty(STDERR_FILENO);
        int lastPercent = -1;
        auto progress = [&](double fraction, const std::string& stage) {
            const int percent = int(fraction * 100);
            if (interactive && percent != lastPercent) {
                std::cerr << "\r" << stage << " " << percent << "%   " << std::flush;
                lastPercent = percent;
            }
            return !interrupted();
        };
        auto start = std::chrono::steady_clock::now();
        ImageIndex index;
        const IndexReport indexed = index.update(*model, paths, ui::imageFileDecoder(), cache, progress);
        const double indexMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        start = std::chrono::steady_clock::now();
        const SearchResult result =
            searchImages(*model, index, positional[1].toStdString(), options, ui::imageFileDecoder(), progress);
        const double searchMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        if (interactive)
            std::cerr << "\r\033[K";
        for (const auto& problem : indexed.problems)
            std::cerr << "querylens: skipped " << problem << "\n";
        for (const auto& problem : result.problems)
            std::cerr << "querylens: " << problem << "\n";
        std::cerr << indexed.images << " images (" << indexed.encoded << " encoded, " << indexed.fromCache + indexed.unchanged
                  << " from the cache, " << indexed.failed << " unreadable)\n";

        nlohmann::json hits = nlohmann::json::array();
        for (std::size_t i = 0; i < result.hits.size(); ++i) {
            const SearchHit& hit = result.hits[i];
            nlohmann::json entry{{"rank", i + 1},           {"path", hit.path},         {"itc_similarity", hit.itcSimilarity},
                                 {"best_query", hit.bestQuery}, {"itc_rank", hit.itcRank + 1}, {"reranked", hit.reranked}};
            if (hit.reranked) {
                entry["itm_logits"] = {hit.itmLogits[0], hit.itmLogits[1]};
                entry["itm_probability"] = hit.itmProbability;
                std::printf("%2zu  match %.3f  itc %+.4f  %s\n", i + 1, hit.itmProbability, hit.itcSimilarity, hit.path.c_str());
            } else {
                std::printf("%2zu  match   -    itc %+.4f  %s\n", i + 1, hit.itcSimilarity, hit.path.c_str());
            }
            if (!hit.map.empty()) {
                const int peak = ui::peakPatch(hit.map);
                entry["peak_row"] = peak / hit.gridSize;
                entry["peak_column"] = peak % hit.gridSize;
                if (!mapsFolder.isEmpty()) {
                    const ui::DecodedImage decoded = ui::decodeImageFile(QString::fromStdString(hit.path));
                    const QString png = QDir(mapsFolder).filePath(
                        QStringLiteral("%1-%2.png").arg(i + 1, 2, 10, QLatin1Char('0')).arg(QFileInfo(QString::fromStdString(hit.path)).completeBaseName()));
                    if (decoded.ok()) {
                        writeMapSheet(png, decoded.image, {{positional[1], hit.map}}, hit.gridSize);
                        entry["map"] = png.toStdString();
                    }
                }
            }
            hits.push_back(entry);
        }
        if (parser.isSet(QStringLiteral("json"))) {
            const nlohmann::json report{
                {"text", result.text},
                {"input_ids", result.inputIds},
                {"folder", QFileInfo(positional[0]).absoluteFilePath().toStdString()},
                {"model", modelJson(model->info())},
                {"searched", result.searched},
                {"index",
                 {{"images", indexed.images}, {"unchanged", indexed.unchanged}, {"from_cache", indexed.fromCache},
                  {"encoded", indexed.encoded}, {"failed", indexed.failed}, {"problems", indexed.problems}}},
                {"timings_ms", {{"load", loadMs}, {"index", indexMs}, {"search", searchMs}}},
                {"results", hits}};
            std::cout << report.dump() << "\n";
        }
        return 0;
    });
}

}  // namespace querylens::cli
