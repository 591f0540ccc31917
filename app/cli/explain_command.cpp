// explain: the Q-Former's attention for an image, written to a safetensors file.

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "image_file.h"
#include "io/text_file.h"
#include "querylens/attention_export.h"
#include "querylens/attention_views.h"
#include "querylens/error.h"
#include "querylens/image_encoding.h"

#include <QFileInfo>

#include <iostream>
#include <sstream>

namespace querylens::cli {

namespace {

const char* const kLayout =
    "The file holds (float32, row-major):\n"
    "  query_outputs         [queries, qformer_hidden]           the Q-Former's output per query\n"
    "  cross_attention       [layers, heads, queries, tokens]    softmax probabilities of every cross-attention\n"
    "                        layer (Q-Former layers listed in the metadata key cross_attention_layers);\n"
    "                        token 0 is the vision CLS token, token 1 + r*grid + c the patch at row r, column c\n"
    "  query_self_attention  [qformer_layers, heads, queries, queries]\n"
    "  cross_attention_mean  [queries, grid, grid]               mean over layers and heads, CLS left out\n"
    "Metadata: format, model, image, image_width, image_height, image_size, patch_size, grid_size,\n"
    "cross_attention_layers, token_layout.\n"
    "Python: from safetensors.numpy import load_file; maps = load_file(\"out.safetensors\")";

// Statistics and maps of the mean over layers and heads, as CSV.
void writeStatisticsCsv(const QString& path, const AttentionExport& data)
{
    const QueryMaps maps = selectMaps(data.cross, data.self, MapSelection{});
    io::writeTextFile(path.toStdString(), statisticsCsv(maps, queryStatistics(maps)));
    std::ostringstream rows;
    rows << "query,token,row,column,value\n";
    for (int q = 0; q < maps.queries; ++q)
        for (int t = 0; t < maps.tokens(); ++t) {
            const std::string row = t == 0 ? "cls" : std::to_string((t - 1) / maps.gridSize);
            const std::string column = t == 0 ? "cls" : std::to_string((t - 1) % maps.gridSize);
            rows << q << ',' << t << ',' << row << ',' << column << ',' << maps.row(q)[t] << '\n';
        }
    const QFileInfo info(path);
    io::writeTextFile((info.path() + QLatin1Char('/') + info.completeBaseName() + QStringLiteral("-maps.csv")).toStdString(),
                      rows.str());
}

}  // namespace

int runExplain(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Write the Q-Former's attention for an image to a safetensors file.\n\n") + QLatin1String(kLayout));
    addModelOptions(parser);
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Image file."));
    parser.addOption({QStringLiteral("out"), QStringLiteral("The .safetensors file to write."), QStringLiteral("FILE")});
    parser.addOption({QStringLiteral("csv"),
                      QStringLiteral("Also write per-query statistics (entropy, CLS share, peak patch) of the maps "
                                     "averaged over layers and heads to FILE, and the maps to FILE-maps.csv."),
                      QStringLiteral("FILE")});
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 1, 1, QStringLiteral("give one image"));
        const QString out = parser.value(QStringLiteral("out"));
        const QString csv = parser.value(QStringLiteral("csv"));
        if (out.isEmpty() && csv.isEmpty())
            throw UsageError{QStringLiteral("give the output file with --out FILE.safetensors (and/or --csv FILE.csv)")};
        const ui::DecodedImage decoded = ui::decodeImageFile(positional[0]);
        if (!decoded.ok())
            throw Error(decoded.error.toStdString());
        double loadMs = 0;
        const auto model = loadModel(parser, loadMs);
        const auto encoding = model->encode(decoded.rgb, [](double, const std::string&) { return !interrupted(); });
        const ModelInfo& info = model->info();

        AttentionExport data;
        data.cross = encoding->crossAttention();
        data.self = encoding->selfAttention();
        data.queryOutputs = encoding->queryOutputs();
        data.qformerHidden = int(data.queryOutputs.size() / std::size_t(encoding->queryCount()));
        data.metadata = {{"model", info.name},
                         {"image", QFileInfo(positional[0]).absoluteFilePath().toStdString()},
                         {"image_width", std::to_string(encoding->imageWidth())},
                         {"image_height", std::to_string(encoding->imageHeight())},
                         {"image_size", std::to_string(info.imageSize)},
                         {"patch_size", std::to_string(info.patchSize)},
                         {"random_weights", info.isDemo ? "true" : "false"}};
        if (!out.isEmpty())
            writeAttentionExport(out.toStdString(), data);
        if (!csv.isEmpty())
            writeStatisticsCsv(csv, data);
        std::cout << "Wrote " << (out.isEmpty() ? csv : out).toStdString() << ": " << data.cross.layers << " cross-attention layers x "
                  << data.cross.heads << " heads x " << data.cross.queries << " queries x " << data.cross.tokens
                  << " image tokens (" << encoding->encodeMs() << " ms to encode)\n";
        return 0;
    });
}

}  // namespace querylens::cli
