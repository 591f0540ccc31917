// downloadSnapshot, discardDownload and fetchWeightShapes: a plan's files into the cache.

#include "hub/blob_store.h"
#include "hub/download_notes.h"
#include "hub/file_fetcher.h"
#include "hub/progress_tracker.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>

namespace querylens::hub {

namespace fs = std::filesystem;

namespace {

std::uint64_t sizeOrZero(const fs::path& path)
{
    std::error_code error;
    const auto size = fs::file_size(path, error);
    return error ? 0 : size;
}

// What each file already has on disk: its whole size when the snapshot or a blob has it, the
// partial's size otherwise.
std::vector<std::uint64_t> bytesOnDisk(const DownloadPlan& plan, const std::string& repo)
{
    std::vector<std::uint64_t> bytes;
    for (const auto& file : plan.files) {
        const fs::path blob = fs::path(repo) / "blobs" / file.etag();
        std::error_code error;
        if ((fs::is_regular_file(blob, error) && sizeOrZero(blob) == file.size) ||
            sizeOrZero(fs::path(repo) / "snapshots" / plan.commit / file.path) == file.size)
            bytes.push_back(file.size);
        else
            bytes.push_back(std::min(file.size, sizeOrZero(blob.string() + ".incomplete")));
    }
    return bytes;
}

void checkDiskSpace(const HubSettings& settings, const DownloadPlan& plan, const std::vector<std::uint64_t>& onDisk,
                    const std::string& folder)
{
    std::uint64_t remaining = 0;
    for (std::size_t i = 0; i < plan.files.size(); ++i)
        remaining += plan.files[i].size - onDisk[i];
    const std::uint64_t free = settings.freeSpace ? settings.freeSpace(folder) : freeBytes(folder);
    if (remaining > free)
        throw HubError(HubErrorCode::DiskSpace,
                       plan.ref.text() + " needs " + formatSize(remaining) + " more, and only " + formatSize(free) +
                           " are free there: free some space, or download into another cache (--cache DIR or "
                           "HF_HUB_CACHE)",
                       folder);
}

}  // namespace

DownloadResult downloadSnapshot(const HubSettings& settings, const DownloadPlan& plan,
                                const DownloadProgressCallback& callback)
{
    const auto started = std::chrono::steady_clock::now();
    const std::string repo = repoFolder(settings.cacheFolder, plan.ref.repo);
    std::error_code error;
    fs::create_directories(fs::path(repo) / "blobs", error);
    if (error)
        throw Error("cannot create the cache folder: " + error.message(), repo);

    std::vector<std::uint64_t> onDisk = bytesOnDisk(plan, repo);
    checkDiskSpace(settings, plan, onDisk, repo);

    DownloadNote note;
    note.cacheFolder = settings.cacheFolder;
    note.repo = plan.ref.repo;
    note.revision = plan.ref.revision;
    note.commit = plan.commit;
    for (const auto& file : plan.files)
        note.files.push_back({file.path, file.size, file.etag()});
    writeDownloadNote(settings.stateFolder, note);

    ProgressTracker progress(plan, std::move(onDisk), callback);
    HubConnection hub(
        settings, [&progress] { return progress.stopRequested(); },
        [&progress](const std::string& message) { progress.setPhase(DownloadPhase::Retrying, message); });
    FileFetcher fetcher(hub, plan, progress);
    DownloadResult result;
    for (int i = 0; i < int(plan.files.size()); ++i) {
        if (fetcher.fetch(i))
            ++result.filesFetched;
        else
            ++result.filesCached;
    }
    writeRef(repo, plan.ref.revision, plan.commit);
    removeDownloadNote(settings.stateFolder, settings.cacheFolder, plan.ref.repo, plan.ref.revision);

    result.snapshotFolder = plan.snapshotFolder;
    result.commit = plan.commit;
    result.bytesFetched = progress.networkBytes();
    result.warnings = fetcher.warnings();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

void discardDownload(const HubSettings& settings, const RepoRef& ref)
{
    const fs::path repo = repoFolder(settings.cacheFolder, ref.repo);
    for (const auto& note : readDownloadNotes(settings.stateFolder, settings.cacheFolder)) {
        if (note.repo != ref.repo || note.revision != ref.revision)
            continue;
        for (const auto& file : note.files) {
            if (!protocol::isBlobName(file.etag))
                continue;
            std::error_code error;
            fs::remove(repo / "blobs" / (file.etag + ".incomplete"), error);
        }
    }
    removeDownloadNote(settings.stateFolder, settings.cacheFolder, ref.repo, ref.revision);
}

std::vector<TensorShape> fetchWeightShapes(const HubSettings& settings, const DownloadPlan& plan)
{
    HubConnection hub(settings);
    std::vector<TensorShape> tensors;
    for (const auto& file : plan.files) {
        if (file.path.size() < 12 || file.path.compare(file.path.size() - 12, 12, ".safetensors") != 0)
            continue;
        const std::string url = hub.resolveUrl(plan.ref.repo, plan.commit, file.path);
        // The header: 8 bytes of little-endian length, then that much JSON.
        const std::string prefix = hub.getText(url, plan.ref.repo, file.path, true, nullptr, 0, 7);
        if (prefix.size() != 8)
            throw HubError(HubErrorCode::Protocol, "the server ignored the byte range of a header request", file.path);
        std::uint64_t length = 0;
        for (int i = 7; i >= 0; --i)
            length = (length << 8) | static_cast<unsigned char>(prefix[std::size_t(i)]);
        if (length == 0 || length > protocol::kMaxSafetensorsHeader || 8 + length > file.size)
            throw HubError(HubErrorCode::Protocol, "not a safetensors file (header length " + std::to_string(length) + ")",
                           file.path);
        const std::string header = hub.getText(url, plan.ref.repo, file.path, true, nullptr, 8, 8 + length - 1);
        const auto json = nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
        if (!json.is_object())
            throw HubError(HubErrorCode::Protocol, "the safetensors header is not a JSON object", file.path);
        for (const auto& [name, entry] : json.items()) {
            if (name == "__metadata__" || !entry.is_object() || !entry.contains("shape") || !entry["shape"].is_array())
                continue;
            TensorShape tensor{name, {}};
            for (const auto& dimension : entry["shape"])
                if (dimension.is_number_unsigned())
                    tensor.shape.push_back(dimension.get<std::int64_t>());
            tensors.push_back(std::move(tensor));
        }
    }
    return tensors;
}

}  // namespace querylens::hub
