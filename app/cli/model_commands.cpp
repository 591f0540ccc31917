// models and make-demo-model: finding checkpoints, and writing the demo one.

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "querylens/checkpoints.h"
#include "querylens/demo_model.h"
#include "querylens/error.h"
#include "querylens/hub_cache.h"

#include <QDir>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace querylens::cli {

namespace {

std::string gigabytes(std::size_t bytes)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.2f GB", double(bytes) / 1e9);
    return text;
}

}  // namespace

int runModels(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("List the BLIP-2 checkpoints in the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, "
                       "else ~/.cache/huggingface/hub) and the demo model, with their size and memory needs, and the "
                       "downloads left unfinished (with how much of them is there)."));
    parser.addOption({QStringLiteral("quiet"), QStringLiteral("Print only the folders of loadable Hub checkpoints.")});
    return runCommand(parser, arguments, [&] {
        const bool quiet = parser.isSet(QStringLiteral("quiet"));
        std::vector<CheckpointSummary> found = findHubCheckpoints();
        if (quiet) {
            for (const auto& checkpoint : found)
                if (checkpoint.problem.empty())
                    std::cout << checkpoint.folder << "\n";
            return 0;
        }
        const std::string demo = defaultDemoModelFolder();
        if (QDir(QString::fromStdString(demo)).exists(QStringLiteral("config.json")))
            found.push_back(inspectCheckpoint(demo));
        const auto unfinished = hub::findIncompleteDownloads(hubCacheFolder(), hub::defaultStateFolder());
        // A half-downloaded snapshot is listed once, below, as unfinished.
        found.erase(std::remove_if(found.begin(), found.end(),
                                   [&](const CheckpointSummary& c) {
                                       return std::any_of(unfinished.begin(), unfinished.end(), [&](const auto& d) {
                                           return !d.snapshotFolder.empty() &&
                                                  QDir(QString::fromStdString(d.snapshotFolder)) ==
                                                      QDir(QString::fromStdString(c.folder));
                                       });
                                   }),
                    found.end());
        if (found.empty() && unfinished.empty())
            std::cout << "No BLIP-2 checkpoints in " << hubCacheFolder()
                      << ".\nDownload one with: querylens download Salesforce/blip2-opt-2.7b\n";
        const std::size_t available = availableMemoryBytes();
        for (const auto& c : found) {
            std::cout << c.name << (c.isDemo ? "  (demo: random weights)" : c.isTrainedDemo ? "  (demo: trained on synthetic shapes)" : "")
                      << "\n  " << c.folder << "\n";
            if (!c.problem.empty()) {
                std::cout << "  cannot be loaded: " << c.problem << "\n";
                continue;
            }
            std::cout << "  " << c.languageModel << ", " << double(c.parameters) / 1e9 << " billion parameters, "
                      << gigabytes(c.fileBytes) << " on disk; memory: fp32 "
                      << gigabytes(estimateWeightMemory(c.folder, Precision::Float32)) << ", bf16 "
                      << gigabytes(estimateWeightMemory(c.folder, Precision::BFloat16)) << ", int8 "
                      << gigabytes(estimateWeightMemory(c.folder, Precision::Int8)) << " (available "
                      << gigabytes(available) << ")\n";
        }
        for (const auto& download : unfinished) {
            const std::string ref = download.revision == "main" ? download.repo : download.repo + "@" + download.revision;
            std::cout << ref << "  (" << download.describe() << ")\n";
            if (!download.commit.empty())
                std::cout << "  resume with: querylens download " << ref << "\n";
            else
                std::cout << "  partial files left by another tool in " << hub::repoFolder(download.cacheFolder, download.repo)
                          << "/blobs\n";
        }
        return 0;
    });
}

int runMakeDemoModel(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Install the demo model: a small BLIP-2 (OPT) that QueryLens trained on synthetic scenes of coloured shapes "
        "(not a real BLIP-2), in the Hugging Face layout, so that QueryLens runs without a download. With --random, "
        "write the same kind of checkpoint with RANDOM weights instead (its text is meaningless)."));
    parser.addOption({QStringLiteral("random"), QStringLiteral("Random weights instead of the trained model.")});
    parser.addPositionalArgument(QStringLiteral("DIR"), QStringLiteral("Folder to write (default: %1).")
                                                            .arg(QString::fromStdString(defaultDemoModelFolder())));
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 0, 1, QStringLiteral("give at most one folder"));
        const std::string folder = positional.isEmpty() ? defaultDemoModelFolder() : positional[0].toStdString();
        const auto progress = [](double, const std::string& stage) {
            std::cerr << stage << "...\n";
            return true;
        };
        if (parser.isSet(QStringLiteral("random"))) {
            writeDemoModel(folder, progress);
            std::cout << "Wrote the demo model (random weights) to " << folder << "\n";
        } else if (installDemoModel(folder, progress)) {
            std::cout << "Installed the demo model (trained on synthetic shapes, not a real BLIP-2) in " << folder << "\n";
        } else {
            std::cout << "The trained demo model is not installed here; wrote the demo model with random weights to "
                      << folder << "\n";
        }
        return 0;
    });
}

}  // namespace querylens::cli
