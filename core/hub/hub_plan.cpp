// planDownload: a repository at a revision -> one commit and the files BLIP-2 needs from it.

#include "hub/small_files.h"
#include "hub/hub_connection.h"
#include "hub/hub_protocol.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <set>

namespace querylens::hub {

namespace fs = std::filesystem;

namespace {

bool endsWith(const std::string& text, const std::string& suffix)
{
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<protocol::TreeEntry> listTree(HubConnection& hub, const std::string& repo, const std::string& commit)
{
    std::vector<protocol::TreeEntry> entries;
    std::set<std::string> seen;
    std::string url = hub.apiUrl(repo, "tree/" + commit + "?recursive=true");
    const std::string origin = HttpClient::origin(url);
    for (std::size_t page = 0;; ++page) {
        if (page >= protocol::kMaxTreePages)
            throw HubError(HubErrorCode::Protocol, "the tree listing has too many pages", url);
        protocol::Headers headers;
        const std::string body = hub.getText(url, repo, "", false, &headers);
        for (auto& entry : protocol::parseTreePage(body, url)) {
            if (!seen.insert(entry.path).second)
                throw HubError(HubErrorCode::Protocol, "the tree listing names '" + printableText(entry.path) + "' twice", url);
            entries.push_back(std::move(entry));
        }
        if (entries.size() > protocol::kMaxTreeEntries)
            throw HubError(HubErrorCode::Protocol, "the tree listing has too many files", url);
        const auto link = headers.get("Link");
        const auto next = link ? protocol::nextPageLink(*link) : std::nullopt;
        if (!next)
            break;
        const auto resolved = HttpClient::resolve(url, *next);
        // The cursor must stay on the Hub: a page elsewhere would get the token or mislead us.
        if (!resolved || HttpClient::origin(*resolved) != origin)
            throw HubError(HubErrorCode::Protocol, "the next page of the tree listing is on another host", url);
        url = *resolved;
    }
    return entries;
}

// A small file of the commit: from the cache when its blob is there, else fetched into memory.
std::string smallFile(HubConnection& hub, const std::string& repo, const std::string& commit, const PlannedFile& file)
{
    const fs::path blob = fs::path(repoFolder(hub.settings().cacheFolder, repo)) / "blobs" / file.etag();
    std::string text;
    if (protocol::isBlobName(file.etag()) && readSmallFile(blob.string(), text, protocol::kMaxJsonBytes) &&
        text.size() == file.size)
        return text;
    if (file.size > protocol::kMaxJsonBytes)
        throw HubError(HubErrorCode::Protocol, "larger than QueryLens reads (" + formatSize(file.size) + ")", file.path);
    return hub.getText(hub.resolveUrl(repo, commit, file.path), repo, file.path, /*followAbsolute=*/true);
}

const PlannedFile* findFile(const std::vector<PlannedFile>& files, const std::string& path)
{
    const auto it = std::find_if(files.begin(), files.end(), [&](const PlannedFile& f) { return f.path == path; });
    return it == files.end() ? nullptr : &*it;
}

std::uint64_t sizeOnDisk(const fs::path& path)
{
    std::error_code error;
    const auto size = fs::file_size(path, error);
    return error ? 0 : size;
}

}  // namespace

DownloadPlan planDownload(const HubSettings& settings, const RepoRef& ref, const PlanOptions& options)
{
    if (!isValidRepoId(ref.repo))
        throw HubError(HubErrorCode::RepoNotFound, "not a repository id (expected org/name)", ref.repo);
    if (settings.offline) {
        const auto cached = cachedSnapshotFolder(settings.cacheFolder, settings.stateFolder, ref);
        throw HubError(HubErrorCode::Offline,
                       "HF_HUB_OFFLINE is set, so the Hub is not asked" +
                           (cached ? "; the cached snapshot is " + *cached : "; it is not in the cache (" +
                                                                                 settings.cacheFolder + ")"),
                       ref.text());
    }
    HubConnection hub(settings);
    DownloadPlan plan;
    plan.ref = ref;
    const std::string revisionUrl = hub.apiUrl(ref.repo, "revision/" + protocol::percentEncode(ref.revision, false));
    // The Hub's errors name the repository themselves: no file prefix for them.
    plan.commit = protocol::parseRevisionCommit(hub.getText(revisionUrl, ref.text(), ""), revisionUrl);

    auto selection = protocol::selectFiles(listTree(hub, ref.repo, plan.commit), options.include);

    if (const PlannedFile* config = findFile(selection.files, "config.json")) {
        const std::string text = smallFile(hub, ref.repo, plan.commit, *config);
        const auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (json.is_object() && json.contains("model_type") && json["model_type"].is_string())
            plan.modelType = json["model_type"].get<std::string>();
    }
    if (plan.modelType != "blip-2" && !options.force)
        throw HubError(HubErrorCode::NotBlip2,
                       (plan.modelType.empty() ? std::string("has no config.json with a model_type")
                                               : "is a '" + plan.modelType + "' model") +
                           ", not BLIP-2 (model_type blip-2), which is what QueryLens runs; download it anyway with "
                           "--force",
                       ref.text());

    std::optional<std::vector<std::string>> shards;
    if (const PlannedFile* index = findFile(selection.files, "model.safetensors.index.json"))
        shards = protocol::parseIndexShards(smallFile(hub, ref.repo, plan.commit, *index), index->path);
    protocol::applyWeightRule(selection, shards, options.include);

    // Small files first (a snapshot is recognisable early, and config.json is read first),
    // then the weights in shard order.
    std::stable_sort(selection.files.begin(), selection.files.end(), [](const PlannedFile& a, const PlannedFile& b) {
        const bool aWeights = endsWith(a.path, ".safetensors");
        const bool bWeights = endsWith(b.path, ".safetensors");
        return aWeights != bWeights ? bWeights : a.path < b.path;
    });
    plan.files = std::move(selection.files);
    plan.skipped = std::move(selection.skipped);

    const fs::path repo = repoFolder(settings.cacheFolder, ref.repo);
    plan.snapshotFolder = (repo / "snapshots" / plan.commit).string();
    for (const auto& file : plan.files) {
        plan.totalBytes += file.size;
        if (!protocol::isBlobName(file.etag()))
            throw HubError(HubErrorCode::Protocol, "the file's id cannot name a blob", file.path);
        const fs::path blob = repo / "blobs" / file.etag();
        std::error_code error;
        if (fs::is_regular_file(blob, error) && sizeOnDisk(blob) == file.size)
            plan.cachedBytes += file.size;
        else
            plan.partialBytes += std::min(file.size, sizeOnDisk(blob.string() + ".incomplete"));
    }
    return plan;
}

}  // namespace querylens::hub
