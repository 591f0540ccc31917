// explain-words: which image regions each word of a generated caption (or answer) depends on,
// by attention, GradCAM, relevancy and input x gradient.

#include "cli/cli_options.h"
#include "cli/command_runner.h"
#include "cli/commands.h"
#include "cli/explanation_output.h"
#include "cli/generation_output.h"
#include "image_file.h"
#include "querylens/error.h"
#include "querylens/session.h"
#include "querylens/word_explanations.h"

#include <QFileInfo>

#include <cstdio>
#include <iostream>

namespace querylens::cli {

namespace {

const char* const kWordsHelp =
    "The model captions the image (greedy, or with --prompt), then runs once more under autograd on its own text;\n"
    "each word's logits are differentiated with respect to the Q-Former's and the language model's attention and\n"
    "the soft prompt. Maps per word (methods): attention (the language model's attention to the queries weighting\n"
    "their cross-attention maps), gradcam (mean over heads of relu(dlogit/dA * A) of the Q-Former cross-attention,\n"
    "mean over layers, summed over queries), relevancy (Chefer et al.'s propagation through the Q-Former and the\n"
    "language model), input_x_gradient (soft prompt x its gradient per query, weighting the queries' maps).\n\n"
    "--out FILE.png: one row per word, one column per method. --out FILE.safetensors (float32): word_maps\n"
    "[words, methods, grid, grid], query_weights [words, methods, queries], gradcam_layers [words, layers, queries,\n"
    "tokens], qformer_relevancy [words, queries, tokens]; metadata: format (querylens-word-maps/1), text, words\n"
    "(JSON), methods, prompt, model, image. With --json the last line of stdout is one JSON object: text, prompt,\n"
    "model, words (each: word, tokens, log_probability, target_logits, peaks {method: [row, column]}, and with\n"
    "--faithfulness faithfulness {method: curves as in `querylens localize --json`}).";

}  // namespace

int runExplainWords(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Gradient maps of the words a model generates about an image.\n\n") +
                                     QLatin1String(kWordsHelp));
    addModelOptions(parser);
    addFaithfulnessOptions(parser);
    parser.addOptions({
        {QStringLiteral("prompt"), QStringLiteral("Text the generation continues (default: the model's caption prompt)."),
         QStringLiteral("TEXT")},
        {QStringLiteral("max-new-tokens"), QStringLiteral("Most tokens to generate (default 20)."), QStringLiteral("N")},
        {QStringLiteral("methods"),
         QStringLiteral("Methods for --faithfulness, comma-separated (default: attention,gradcam,relevancy,input_x_gradient)."),
         QStringLiteral("LIST")},
        {QStringLiteral("out"), QStringLiteral("Write the maps to FILE.png or FILE.safetensors."), QStringLiteral("FILE")},
        {QStringLiteral("json"), QStringLiteral("Print one JSON object as the last line (see above).")},
    });
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image file."));
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 1, 1, QStringLiteral("give one image"));
        const QString out = parser.value(QStringLiteral("out"));
        if (!out.isEmpty() && !out.endsWith(QLatin1String(".png"), Qt::CaseInsensitive) &&
            !out.endsWith(QLatin1String(".safetensors")))
            throw UsageError{QStringLiteral("--out must end in .png or .safetensors")};
        const std::optional<FaithfulnessOptions> faithfulness = faithfulnessOptions(parser);
        std::vector<MapMethod> methods = allMapMethods();
        if (parser.isSet(QStringLiteral("methods"))) {
            methods.clear();
            for (const QString& name : parser.value(QStringLiteral("methods")).split(QLatin1Char(','), Qt::SkipEmptyParts)) {
                const auto method = parseMapMethod(name.trimmed().toStdString());
                if (!method)
                    throw UsageError{QStringLiteral("unknown method '%1' (attention, gradcam, relevancy, input_x_gradient)").arg(name)};
                methods.push_back(*method);
            }
        }
        DecodingOptions decoding;
        decoding.maxNewTokens = 20;
        if (parser.isSet(QStringLiteral("max-new-tokens"))) {
            bool ok = false;
            decoding.maxNewTokens = parser.value(QStringLiteral("max-new-tokens")).toInt(&ok);
            if (!ok || decoding.maxNewTokens < 1)
                throw UsageError{QStringLiteral("--max-new-tokens needs a whole number of at least 1")};
        }
        const ui::DecodedImage decoded = ui::decodeImageFile(positional[0]);
        if (!decoded.ok())
            throw Error(decoded.error.toStdString());
        double loadMs = 0;
        const auto model = loadModel(parser, loadMs);
        printWarning(gradientMapSpeedWarning());
        const auto keepGoing = [](double, const std::string&) { return !interrupted(); };
        const auto encoding = model->encode(decoded.rgb, keepGoing);
        const std::string prompt = parser.isSet(QStringLiteral("prompt")) ? parser.value(QStringLiteral("prompt")).toStdString()
                                                                          : model->captionPrompt();
        const GenerationResult result = model->newSession(encoding)->generate(prompt, decoding, {}, interrupted);
        if (result.stopReason == StopReason::Cancelled)
            throw Cancelled();
        const GeneratedSequence& sequence = result.sequences.front();
        std::printf("%s\n", sequence.text.c_str());
        const std::vector<GeneratedWordSpan> spans = generatedWords(sequence);
        std::vector<std::vector<int>> wordTokens;
        for (const auto& span : spans)
            wordTokens.push_back(span.tokens);
        const std::vector<WordExplanation> words = explainWords(*model, *encoding, result, wordTokens, keepGoing);
        const int grid = model->info().gridSize;

        nlohmann::json wordsJson = nlohmann::json::array();
        for (std::size_t w = 0; w < words.size(); ++w) {
            const WordExplanation& word = words[w];
            nlohmann::json entry{{"word", spans[w].text}, {"tokens", word.tokens}, {"log_probability", word.logProbability},
                                 {"target_logits", word.targetLogits}};
            std::printf("%-16s log p %7.3f  peaks:", spans[w].text.c_str(), word.logProbability);
            for (MapMethod method : allMapMethods()) {
                const int peak = ui::peakPatch(word.patchMap(method));
                entry["peaks"][mapMethodName(method)] = {peak / grid, peak % grid};
                std::printf("  %s (%d,%d)", mapMethodName(method), peak / grid, peak % grid);
            }
            std::printf("\n");
            if (faithfulness)
                for (MapMethod method : methods) {
                    const FaithfulnessReport curves =
                        wordFaithfulness(*model, *encoding, result, word.tokens, word.patchMap(method), *faithfulness, keepGoing);
                    std::printf("    %-16s %s\n", mapMethodName(method), faithfulnessLine(curves).c_str());
                    entry["faithfulness"][mapMethodName(method)] = faithfulnessJson(curves);
                }
            wordsJson.push_back(entry);
        }

        if (out.endsWith(QLatin1String(".safetensors"))) {
            const auto count = std::int64_t(words.size());
            const auto methodCount = std::int64_t(allMapMethods().size());
            std::int64_t queries = 0, tokens = 0, layers = 0;
            std::vector<float> maps, weights, gradcam, relevancy;
            for (const WordExplanation& word : words) {
                queries = word.queries;
                tokens = word.imageTokens;
                layers = std::int64_t(word.crossAttentionLayers.size());
                for (MapMethod method : allMapMethods()) {
                    const auto& map = word.patchMap(method);
                    maps.insert(maps.end(), map.begin(), map.end());
                    const auto w = word.queryWeights(method);
                    weights.insert(weights.end(), w.begin(), w.end());
                }
                gradcam.insert(gradcam.end(), word.gradcamLayers.begin(), word.gradcamLayers.end());
                relevancy.insert(relevancy.end(), word.qformerRelevancy.values.begin(), word.qformerRelevancy.values.end());
            }
            std::vector<std::string> names;
            for (const auto& span : spans)
                names.push_back(span.text);
            writeArrays(out.toStdString(),
                        {{"word_maps", {count, methodCount, grid, grid}, maps},
                         {"query_weights", {count, methodCount, queries}, weights},
                         {"gradcam_layers", {count, layers, queries, tokens}, gradcam},
                         {"qformer_relevancy", {count, queries, tokens}, relevancy}},
                        {{"format", "querylens-word-maps/1"},
                         {"text", sequence.text},
                         {"words", nlohmann::json(names).dump()},
                         {"methods", "attention,gradcam,relevancy,input_x_gradient"},
                         {"prompt", prompt},
                         {"model", model->info().name},
                         {"image", QFileInfo(positional[0]).absoluteFilePath().toStdString()}});
        } else if (!out.isEmpty()) {
            std::vector<ui::TitledMap> maps;
            for (std::size_t w = 0; w < words.size(); ++w)
                for (MapMethod method : allMapMethods())
                    maps.push_back({QStringLiteral("%1 · %2").arg(QString::fromStdString(spans[w].text), QLatin1String(mapMethodName(method))),
                                    words[w].patchMap(method)});
            writeMapSheet(out, decoded.image, maps, grid);
        }
        if (!out.isEmpty())
            std::printf("Wrote %s\n", out.toLocal8Bit().constData());
        if (parser.isSet(QStringLiteral("json")))
            std::cout << nlohmann::json{{"text", sequence.text}, {"prompt", prompt}, {"model", modelJson(model->info())},
                                        {"words", wordsJson}}
                             .dump()
                      << "\n";
        return 0;
    });
}

}  // namespace querylens::cli
