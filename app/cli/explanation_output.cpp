#include "cli/explanation_output.h"

#include "cli/cli_options.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "querylens/error.h"

#include <QSaveFile>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace querylens::cli {

void addFaithfulnessOptions(QCommandLineParser& parser)
{
    parser.addOptions({
        {QStringLiteral("faithfulness"),
         QStringLiteral("Also run deletion and insertion curves for the map (patches removed from / revealed into a "
                        "baseline image in the map's order, and in random orders).")},
        {QStringLiteral("steps"), QStringLiteral("Points along each curve (default 10)."), QStringLiteral("N")},
        {QStringLiteral("baseline"), QStringLiteral("What removed patches show: blur (default) or mean."),
         QStringLiteral("KIND")},
        {QStringLiteral("random-orders"), QStringLiteral("Random orders averaged for the reference (default 2)."),
         QStringLiteral("N")},
    });
}

std::optional<FaithfulnessOptions> faithfulnessOptions(const QCommandLineParser& parser)
{
    if (!parser.isSet(QStringLiteral("faithfulness")))
        return std::nullopt;
    FaithfulnessOptions options;
    auto number = [&](const char* name, int fallback, int least) {
        if (!parser.isSet(QLatin1String(name)))
            return fallback;
        bool ok = false;
        const int value = parser.value(QLatin1String(name)).toInt(&ok);
        if (!ok || value < least)
            throw UsageError{QStringLiteral("--%1 needs a whole number of at least %2").arg(QLatin1String(name)).arg(least)};
        return value;
    };
    options.steps = number("steps", options.steps, 1);
    options.randomOrders = number("random-orders", options.randomOrders, 0);
    const QString baseline = parser.value(QStringLiteral("baseline"));
    if (baseline == QLatin1String("mean"))
        options.baseline = PerturbationBaseline::Mean;
    else if (!baseline.isEmpty() && baseline != QLatin1String("blur"))
        throw UsageError{QStringLiteral("--baseline is blur or mean, not '%1'").arg(baseline)};
    return options;
}

nlohmann::json faithfulnessJson(const FaithfulnessReport& report)
{
    auto curve = [](const FaithfulnessCurve& c) {
        return nlohmann::json{{"fractions", c.fractions}, {"scores", c.scores}, {"area", c.area}};
    };
    return {{"score", report.score},
            {"original", report.original},
            {"baseline", report.baseline},
            {"baseline_kind", baselineName(report.baselineKind)},
            {"deletion", curve(report.deletion)},
            {"insertion", curve(report.insertion)},
            {"random_deletion", curve(report.randomDeletion)},
            {"random_insertion", curve(report.randomInsertion)}};
}

std::string faithfulnessLine(const FaithfulnessReport& report)
{
    std::ostringstream line;
    line.precision(4);
    line << report.score << ": deletion area " << report.deletion.area << " (random " << report.randomDeletion.area
         << ", lower is better), insertion area " << report.insertion.area << " (random " << report.randomInsertion.area
         << ", higher is better)";
    return line.str();
}

nlohmann::json modelJson(const ModelInfo& info)
{
    return {{"name", info.name},
            {"architecture", info.architecture},
            {"precision", precisionName(info.precision)},
            {"threads", info.threads},
            {"random_weights", info.isDemo}};
}

void writeArrays(const std::string& path, const std::vector<NamedArray>& arrays,
                 const std::map<std::string, std::string>& metadata)
{
    std::vector<io::TensorToWrite> tensors;
    for (const auto& a : arrays)
        tensors.push_back({a.name, io::DType::F32, a.shape, a.values.data()});
    // The safetensors writer writes a file; it goes to a temporary one, whose bytes then
    // replace `path` atomically.
    const std::string temporary = path + ".writing";
    writeSafetensors(temporary, tensors, metadata);
    std::ifstream in(temporary, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::filesystem::remove(temporary);
    io::writeFileAtomically(path, bytes);
}

void writeMapSheet(const QString& path, const QImage& image, const std::vector<ui::TitledMap>& maps, int grid)
{
    // QSaveFile: a temporary file, synced and renamed over `path` on commit.
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !ui::mapSheet(image, maps, grid).save(&file, "PNG") || !file.commit())
        throw Error("cannot write the PNG: " + file.errorString().toStdString(), path.toStdString());
}

}  // namespace querylens::cli
