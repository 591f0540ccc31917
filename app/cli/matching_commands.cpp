// match and localize: the image-text matching model (Blip2ForImageTextRetrieval) on one image.

#include "cli/cli_options.h"
#include "cli/command_runner.h"
#include "cli/commands.h"
#include "cli/explanation_output.h"
#include "cli/generation_output.h"
#include "image_file.h"
#include "querylens/error.h"
#include "querylens/matching.h"

#include <QFileInfo>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace querylens::cli {

namespace {

const char* const kMatchJson =
    "With --json the last line of stdout is one JSON object: image, model (name, architecture, precision, threads,\n"
    "random_weights), timings_ms (load, image_encode, match), and results, one per text in the order given:\n"
    "  text, input_ids ([CLS] ... [SEP]), tokens, truncated, itm_logits (the two raw ITM logits: no match, match),\n"
    "  itm_probability (their softmax: the match probability), itc_similarity (cosine of the text with the best\n"
    "  query), best_query (that query's index), query_itc (every query's cosine).";

const char* const kLocalizeOutput =
    "--out FILE.png writes the image with the phrase's map and each word's map side by side.\n"
    "--out FILE.safetensors writes (float32): phrase_map [grid, grid], word_maps [words, grid, grid],\n"
    "word_query_weights [words, queries], gradcam [cross-attention layers, queries, tokens] (token 0 is CLS, then\n"
    "the patches row by row), gradcam_mean [queries, tokens]; metadata: format (querylens-localization/1), text,\n"
    "words (JSON), itm_logits, itm_probability, itc_similarity, cross_attention_layers, grid_size, model, image.\n"
    "With --json the last line of stdout is one JSON object: the match fields of `querylens match --json`, words\n"
    "(each: word, tokens, peak_row, peak_column), phrase_peak_row, phrase_peak_column, and with --faithfulness\n"
    "faithfulness (score, original, baseline, deletion / insertion / random_deletion / random_insertion: fractions,\n"
    "scores, area).";

nlohmann::json matchJson(const TextMatch& m)
{
    return {{"text", m.text},
            {"input_ids", m.inputIds},
            {"tokens", m.tokens},
            {"truncated", m.truncated},
            {"itm_logits", {m.itmLogits[0], m.itmLogits[1]}},
            {"itm_probability", m.itmProbability},
            {"itc_similarity", m.itcSimilarity},
            {"best_query", m.bestQuery},
            {"query_itc", m.queryItc}};
}

double millisecondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

void requireMatching(const Model& model)
{
    if (!model.info().canMatch)
        throw Error(capabilitySummary(model.info()));
}

}  // namespace

int runMatch(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("How well texts describe an image, by an image-text matching model (Blip2ForImageTextRetrieval,\n"
                       "e.g. Salesforce/blip2-itm-vit-g): ITM match probability and ITC similarity per text.\n\n") +
        QLatin1String(kMatchJson));
    addModelOptions(parser);
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print one JSON object as the last line (see above).")});
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image file."));
    parser.addPositionalArgument(QStringLiteral("TEXT"), QStringLiteral("Texts to match, each in quotes."), QStringLiteral("TEXT..."));
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 2, -1, QStringLiteral("give an image and at least one text"));
        double loadMs = 0;
        const auto model = loadModel(parser, loadMs);
        requireMatching(*model);
        const EncodedImage image = encodeFile(*model, positional[0]);
        std::vector<std::string> texts;
        for (int i = 1; i < positional.size(); ++i)
            texts.push_back(positional[i].toStdString());
        const auto start = std::chrono::steady_clock::now();
        const std::vector<TextMatch> matches = matchTexts(*model, *image.encoding, texts);
        const double matchMs = millisecondsSince(start);
        nlohmann::json results = nlohmann::json::array();
        for (const TextMatch& m : matches) {
            std::printf("match %.3f  itc %+.4f  query %2d  %s%s\n", m.itmProbability, m.itcSimilarity, m.bestQuery,
                        m.text.c_str(), m.truncated ? "  (truncated)" : "");
            results.push_back(matchJson(m));
        }
        if (parser.isSet(QStringLiteral("json"))) {
            const nlohmann::json report{{"image", QFileInfo(positional[0]).absoluteFilePath().toStdString()},
                                        {"model", modelJson(model->info())},
                                        {"timings_ms", {{"load", loadMs}, {"image_encode", image.encodeMs}, {"match", matchMs}}},
                                        {"results", results}};
            std::cout << report.dump() << "\n";
        }
        return 0;
    });
}

int runLocalize(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Where a phrase is in an image, by an image-text matching model: GradCAM of the ITM match logit\n"
                       "on the Q-Former's cross-attention for the whole phrase, and for each word carried through the\n"
                       "queries' and text's self-attention.\n\n") +
        QLatin1String(kLocalizeOutput));
    addModelOptions(parser);
    addFaithfulnessOptions(parser);
    parser.addOption({QStringLiteral("out"), QStringLiteral("Write the maps to FILE.png or FILE.safetensors."), QStringLiteral("FILE")});
    parser.addOption({QStringLiteral("json"), QStringLiteral("Print one JSON object as the last line (see above).")});
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image file."));
    parser.addPositionalArgument(QStringLiteral("TEXT"), QStringLiteral("The phrase, in quotes."));
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 2, 2, QStringLiteral("give an image and a phrase"));
        const QString out = parser.value(QStringLiteral("out"));
        if (!out.isEmpty() && !out.endsWith(QLatin1String(".png"), Qt::CaseInsensitive) &&
            !out.endsWith(QLatin1String(".safetensors")))
            throw UsageError{QStringLiteral("--out must end in .png or .safetensors")};
        if (positional[1].trimmed().isEmpty())
            throw UsageError{QStringLiteral("the phrase is empty")};
        const std::optional<FaithfulnessOptions> faithfulness = faithfulnessOptions(parser);
        const ui::DecodedImage decoded = ui::decodeImageFile(positional[0]);
        if (!decoded.ok())
            throw Error(decoded.error.toStdString());
        double loadMs = 0;
        const auto model = loadModel(parser, loadMs);
        requireMatching(*model);
        const auto keepGoing = [](double, const std::string&) { return !interrupted(); };
        const auto encoding = model->encode(decoded.rgb, keepGoing);
        const std::string text = positional[1].toStdString();
        const PhraseLocalization result = localizeText(*model, *encoding, text, keepGoing);
        const int grid = result.gridSize;
        const TextMatch& m = result.match;
        const int phrasePeak = ui::peakPatch(result.maps.phraseMap);
        std::printf("match %.3f  itc %+.4f  query %2d  %s\n", m.itmProbability, m.itcSimilarity, m.bestQuery, m.text.c_str());
        std::printf("phrase: strongest at row %d, column %d of %dx%d\n", phrasePeak / grid, phrasePeak % grid, grid, grid);
        nlohmann::json words = nlohmann::json::array();
        for (std::size_t w = 0; w < result.words.size(); ++w) {
            const int peak = ui::peakPatch(result.maps.wordMaps[w]);
            std::printf("  %-20s row %2d, column %2d\n", result.words[w].c_str(), peak / grid, peak % grid);
            words.push_back({{"word", result.words[w]}, {"tokens", result.wordTokens[w]}, {"peak_row", peak / grid},
                             {"peak_column", peak % grid}});
        }
        nlohmann::json report = matchJson(m);
        report["image"] = QFileInfo(positional[0]).absoluteFilePath().toStdString();
        report["model"] = modelJson(model->info());
        report["words"] = words;
        report["phrase_peak_row"] = phrasePeak / grid;
        report["phrase_peak_column"] = phrasePeak % grid;
        if (faithfulness) {
            const FaithfulnessReport curves =
                phraseFaithfulness(*model, *encoding, text, result.maps.phraseMap, *faithfulness, keepGoing);
            std::printf("%s\n", faithfulnessLine(curves).c_str());
            report["faithfulness"] = faithfulnessJson(curves);
        }
        if (out.endsWith(QLatin1String(".safetensors"))) {
            const auto& maps = result.maps;
            const auto queries = std::int64_t(maps.queries), tokens = std::int64_t(maps.imageTokens);
            std::vector<float> wordMaps, wordWeights;
            for (std::size_t w = 0; w < maps.wordMaps.size(); ++w) {
                wordMaps.insert(wordMaps.end(), maps.wordMaps[w].begin(), maps.wordMaps[w].end());
                wordWeights.insert(wordWeights.end(), maps.wordQueryWeights[w].begin(), maps.wordQueryWeights[w].end());
            }
            const auto words64 = std::int64_t(maps.wordMaps.size());
            std::string layers;
            for (int l : result.crossAttentionLayers)
                layers += (layers.empty() ? "" : ",") + std::to_string(l);
            writeArrays(out.toStdString(),
                        {{"phrase_map", {grid, grid}, maps.phraseMap},
                         {"word_maps", {words64, grid, grid}, wordMaps},
                         {"word_query_weights", {words64, queries}, wordWeights},
                         {"gradcam", {std::int64_t(result.crossAttentionLayers.size()), queries, tokens}, maps.gradcamLayers},
                         {"gradcam_mean", {queries, tokens}, maps.gradcam.values}},
                        {{"format", "querylens-localization/1"},
                         {"text", text},
                         {"words", nlohmann::json(result.words).dump()},
                         {"itm_logits", nlohmann::json({m.itmLogits[0], m.itmLogits[1]}).dump()},
                         {"itm_probability", std::to_string(m.itmProbability)},
                         {"itc_similarity", std::to_string(m.itcSimilarity)},
                         {"cross_attention_layers", layers},
                         {"grid_size", std::to_string(grid)},
                         {"model", model->info().name},
                         {"image", QFileInfo(positional[0]).absoluteFilePath().toStdString()}});
        } else if (!out.isEmpty()) {
            std::vector<ui::TitledMap> maps{{QStringLiteral("“%1”").arg(positional[1]), result.maps.phraseMap}};
            for (std::size_t w = 0; w < result.words.size(); ++w)
                maps.push_back({QString::fromStdString(result.words[w]), result.maps.wordMaps[w]});
            writeMapSheet(out, decoded.image, maps, grid);
        }
        if (!out.isEmpty())
            std::printf("Wrote %s\n", out.toLocal8Bit().constData());
        if (parser.isSet(QStringLiteral("json")))
            std::cout << report.dump() << "\n";
        return 0;
    });
}

}  // namespace querylens::cli
