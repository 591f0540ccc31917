// querylens download REPO[@REVISION]: a BLIP-2 checkpoint from the Hub into the Hugging Face
// cache, resumable and verified; prints the snapshot folder, which --model accepts.

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "cli/download_progress.h"
#include "querylens/hub.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <unistd.h>

namespace querylens::cli {

namespace {

nlohmann::json reportJson(const hub::DownloadPlan& plan, const hub::DownloadResult& result)
{
    nlohmann::json files = nlohmann::json::array();
    for (const auto& file : plan.files) {
        nlohmann::json entry = {{"path", file.path}, {"size", file.size}, {"lfs", file.lfs()}};
        if (file.lfs())
            entry["sha256"] = file.sha256;
        else
            entry["git_sha1"] = file.gitOid;
        files.push_back(entry);
    }
    nlohmann::json skipped = nlohmann::json::array();
    for (const auto& file : plan.skipped)
        skipped.push_back({{"path", file.path}, {"size", file.size}, {"reason", file.reason}});
    return {{"repo", plan.ref.repo},         {"revision", plan.ref.revision},     {"commit", plan.commit},
            {"snapshot", result.snapshotFolder}, {"files", files},               {"skipped", skipped},
            {"bytes_total", plan.totalBytes},  {"bytes_fetched", result.bytesFetched},
            {"files_fetched", result.filesFetched}, {"files_cached", result.filesCached},
            {"seconds", result.seconds},       {"warnings", result.warnings}};
}

void describePlan(const hub::DownloadPlan& plan)
{
    std::cerr << plan.ref.text() << " at commit " << plan.commit.substr(0, 10) << ": " << plan.files.size() << " files, "
              << hub::formatSize(plan.totalBytes);
    if (plan.cachedBytes || plan.partialBytes)
        std::cerr << " (" << hub::formatSize(plan.cachedBytes + plan.partialBytes) << " already in the cache)";
    std::cerr << "\n";
    if (!plan.skipped.empty()) {
        std::cerr << "Skipped " << plan.skipped.size() << " files:";
        for (std::size_t i = 0; i < plan.skipped.size() && i < 6; ++i)
            std::cerr << (i ? ", " : " ") << plan.skipped[i].path << " (" << plan.skipped[i].reason << ")";
        if (plan.skipped.size() > 6)
            std::cerr << ", ...";
        std::cerr << "\n";
    }
}

}  // namespace

int runDownload(const QStringList& arguments)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Download a BLIP-2 checkpoint from the Hugging Face Hub into the Hugging Face cache (shared with Python's "
        "huggingface_hub): config, tokenizer and safetensors weights from one commit, never pickles. Resumes what an "
        "earlier run left, verifies every file (sha256 / git sha1) and prints the snapshot folder, which --model "
        "accepts (as does the repository id itself once downloaded). Progress goes to stderr; Ctrl+C keeps what was "
        "downloaded for the next run. Environment: HF_ENDPOINT, HF_HUB_CACHE, HF_HOME, HF_TOKEN, HF_HUB_OFFLINE, "
        "HF_HUB_DISABLE_SYMLINKS."));
    parser.addPositionalArgument(QStringLiteral("REPO"), QStringLiteral("Repository id, e.g. Salesforce/blip2-opt-2.7b, "
                                                                         "optionally @BRANCH, @TAG or @COMMIT."),
                                 QStringLiteral("REPO[@REVISION]"));
    parser.addOptions({
        {QStringLiteral("include"), QStringLiteral("Also download files matching GLOB (repeatable; pickles never)."),
         QStringLiteral("GLOB")},
        {QStringLiteral("cache"), QStringLiteral("Cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub, else "
                                                 "~/.cache/huggingface/hub)."),
         QStringLiteral("DIR")},
        {QStringLiteral("force"), QStringLiteral("Download even if config.json does not say model_type blip-2.")},
        {QStringLiteral("json"), QStringLiteral("After the folder, print one JSON object (repo, revision, commit, "
                                                "snapshot, files, skipped, bytes_total, bytes_fetched, seconds) as "
                                                "the last line.")},
    });
    return runCommand(parser, arguments, [&] {
        const QStringList positional = positionalArguments(parser, 1, 1, QStringLiteral("give one repository id"));
        const auto ref = hub::parseRepoRef(positional[0].toStdString());
        if (!ref)
            throw UsageError{QStringLiteral("'%1' is not a repository id (org/name, optionally @revision)").arg(positional[0])};
        hub::HubSettings settings = hub::HubSettings::fromEnvironment();
        if (parser.isSet(QStringLiteral("cache")))
            settings.cacheFolder = parser.value(QStringLiteral("cache")).toStdString();
        hub::PlanOptions options;
        for (const QString& pattern : parser.values(QStringLiteral("include")))
            options.include.push_back(pattern.toStdString());
        options.force = parser.isSet(QStringLiteral("force"));

        if (settings.offline) {
            // As huggingface-cli does offline: the cached snapshot, if there is one.
            if (const auto cached = hub::cachedSnapshotFolder(settings.cacheFolder, settings.stateFolder, *ref)) {
                std::cerr << "HF_HUB_OFFLINE is set: using the cached snapshot without asking the Hub.\n";
                std::cout << *cached << "\n";
                return 0;
            }
        }
        const hub::DownloadPlan plan = hub::planDownload(settings, *ref, options);
        describePlan(plan);

        DownloadProgressView view(::isatty(STDERR_FILENO));
        hub::DownloadResult result;
        try {
            result = hub::downloadSnapshot(settings, plan, [&](const hub::DownloadProgress& progress) {
                view.show(progress);
                return !interrupted();
            });
        } catch (const Cancelled&) {
            view.finish();
            std::uint64_t kept = 0;
            for (const auto& download : hub::findIncompleteDownloads(settings.cacheFolder, settings.stateFolder))
                if (download.repo == ref->repo && download.revision == ref->revision)
                    kept = download.bytesOnDisk;
            std::cerr << "\nInterrupted: " << hub::formatSize(kept) << " of " << hub::formatSize(plan.totalBytes)
                      << " are kept in " << settings.cacheFolder << ".\nRun the same command again to resume: querylens download "
                      << ref->text() << (parser.isSet(QStringLiteral("cache")) ? " --cache " + settings.cacheFolder : "")
                      << "\n";
            return 130;
        } catch (...) {
            view.finish();
            std::cerr << "\n";
            throw;
        }
        view.finish();
        printWarnings(result.warnings);
        std::cerr << "Downloaded " << result.filesFetched << (result.filesFetched == 1 ? " file (" : " files (")
                  << hub::formatSize(result.bytesFetched) << " in "
                  << DownloadProgressView::duration(result.seconds) << ", "
                  << DownloadProgressView::rate(result.seconds > 0 ? double(result.bytesFetched) / result.seconds : 0)
                  << ")";
        if (result.filesCached)
            std::cerr << "; " << result.filesCached << (result.filesCached == 1 ? " was" : " were") << " already in the cache";
        std::cerr << ".\nLoad it with: querylens caption IMAGE --model " << ref->text() << "\n";
        std::cout << result.snapshotFolder << "\n";
        if (parser.isSet(QStringLiteral("json")))
            std::cout << reportJson(plan, result).dump() << "\n";
        return 0;
    });
}

}  // namespace querylens::cli
