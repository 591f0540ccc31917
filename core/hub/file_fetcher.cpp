#include "hub/file_fetcher.h"

#include "hub/blob_store.h"
#include "io/digest.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace querylens::hub {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxCdnRefreshes = 5;  // new signed URLs in a row without a byte in between
constexpr int kMaxRedirectHops = 5;

std::uint64_t regularFileSize(const fs::path& path)
{
    std::error_code error;
    if (!fs::is_regular_file(path, error))  // follows a snapshot's symlink to its blob
        return UINT64_MAX;
    const auto size = fs::file_size(path, error);
    return error ? UINT64_MAX : size;
}

void startDigest(io::Digest& digest, const PlannedFile& file)
{
    digest.reset();
    if (!file.lfs()) {
        const std::string header = protocol::gitBlobHeader(file.size);
        digest.update(header.data(), header.size());
    }
}

std::string describeBytes(std::uint64_t bytes) { return formatSize(bytes); }

}  // namespace

FileFetcher::FileFetcher(HubConnection& hub, const DownloadPlan& plan, ProgressTracker& progress)
    : hub_(hub), plan_(plan), progress_(progress), repoFolder_(repoFolder(hub.settings().cacheFolder, plan.ref.repo))
{
}

void FileFetcher::link(const PlannedFile& file, bool newBlob)
{
    std::string warning;
    linkSnapshotFile(repoFolder_, plan_.commit, file.path, file.etag(), hub_.settings().useSymlinks, newBlob, &warning);
    if (!warning.empty() && warnings_.empty())
        warnings_.push_back(warning);  // said once per download
}

bool FileFetcher::fetch(int index)
{
    const PlannedFile& file = plan_.files[std::size_t(index)];
    const fs::path blob = fs::path(repoFolder_) / "blobs" / file.etag();
    const fs::path pointer = fs::path(repoFolder_) / "snapshots" / plan_.commit / file.path;
    progress_.startFile(index);

    if (regularFileSize(pointer) == file.size) {  // the snapshot has it (a link to its blob, or the file)
        progress_.finishFile();
        return false;
    }
    if (regularFileSize(blob) == file.size) {  // another revision brought the same bytes
        link(file, /*newBlob=*/false);
        progress_.finishFile();
        return false;
    }

    FileMetadata metadata = hub_.head(plan_.ref.repo, plan_.commit, file.path);
    if (metadata.commit != plan_.commit)
        throw HubError(HubErrorCode::Protocol,
                       "the Hub answered for commit " + metadata.commit + " while the plan is of " + plan_.commit,
                       file.path);
    if (metadata.etag != file.etag())
        throw HubError(HubErrorCode::Protocol,
                       "the Hub's ETag (" + metadata.etag.substr(0, 80) + ") differs from its file list's id (" +
                           file.etag() + ")",
                       file.path);
    if (metadata.size && *metadata.size != file.size)
        throw HubError(HubErrorCode::Protocol,
                       "the Hub gives its size as " + std::to_string(*metadata.size) + " bytes, its file list as " +
                           std::to_string(file.size),
                       file.path);

    fs::create_directories(blob.parent_path());
    const std::string lockPath =
        (fs::path(hub_.settings().cacheFolder) / ".locks" / repoFolderName(plan_.ref.repo) / (file.etag() + ".lock"))
            .string();
    BlobLock lock(
        lockPath, [this] { return progress_.stopRequested() || hub_.stopRequested(); },
        [this] { progress_.setPhase(DownloadPhase::Waiting, "another download of this file is running; waiting for it"); });
    if (regularFileSize(pointer) == file.size) {  // the other process finished it while we waited
        progress_.finishFile();
        return false;
    }
    if (regularFileSize(blob) == file.size) {
        link(file, false);
        progress_.finishFile();
        return false;
    }

    io::Digest digest(file.lfs() ? io::Digest::Kind::Sha256 : io::Digest::Kind::Sha1);
    for (int round = 0;; ++round) {
        PartialFile partial(blob.string() + ".incomplete");
        if (partial.size() > file.size)
            partial.truncate();  // not ours, or from a different file: start over
        hashExisting(file, partial, digest);
        if (partial.size() < file.size)
            transfer(file, partial, digest, metadata);

        progress_.setPhase(DownloadPhase::Verifying);
        const std::string expected = file.lfs() ? file.sha256 : file.gitOid;
        const std::string actual = digest.hexDigest();
        if (actual == expected) {
            partial.publish(blob.string());
            link(file, /*newBlob=*/true);
            progress_.finishFile();
            return true;
        }
        // Wrong bytes never become a blob. Once more from the start; then it is the server's fault.
        partial.discard();
        progress_.setFileBytes(0);
        if (round >= 1)
            throw HubError(HubErrorCode::Integrity,
                           std::string("the downloaded bytes do not match the Hub's ") +
                               (file.lfs() ? "sha256" : "git sha1") + " (expected " + expected + ", got " + actual +
                               ") twice; the partial was deleted. The server or the network corrupts data: try again "
                               "later or another HF_ENDPOINT",
                           file.path);
        progress_.setPhase(DownloadPhase::Retrying, "the bytes did not match their digest; downloading the file again");
    }
}

void FileFetcher::hashExisting(const PlannedFile& file, PartialFile& partial, io::Digest& digest)
{
    startDigest(digest, file);
    progress_.setFileBytes(0);
    if (partial.size() == 0)
        return;
    // Resuming: the digest must cover the bytes already on disk, read back (not trusted).
    progress_.setPhase(DownloadPhase::Hashing, "checking the " + describeBytes(partial.size()) + " already downloaded");
    std::uint64_t hashed = 0;
    const bool complete = partial.readBack([&](const char* data, std::size_t size) {
        digest.update(data, size);
        hashed += size;
        progress_.setFileBytes(hashed);
        return !progress_.stopRequested() && !hub_.stopRequested();
    });
    if (!complete)
        throw Cancelled();
}

void FileFetcher::transfer(const PlannedFile& file, PartialFile& partial, io::Digest& digest, FileMetadata& metadata)
{
    progress_.setPhase(DownloadPhase::Downloading);
    int failures = 0;       // in a row without a byte written
    int cdnRefreshes = 0;
    bool restartedAfter416 = false;
    std::string location = metadata.location;
    int hops = 0;
    while (partial.size() < file.size) {
        if (progress_.stopRequested() || hub_.stopRequested()) {
            partial.sync();
            throw Cancelled();
        }
        const std::uint64_t start = partial.size();
        bool accepted = false;
        bool badRange = false;
        bool overflow = false;
        int diskError = 0;
        HttpRequest request;
        request.url = location;
        request.bearerToken = hub_.tokenFor(location);  // never to the CDN
        request.rangeStart = start;                     // always, bytes=0- too
        const HttpResponse response = hub_.http().perform(
            request,
            [&](int status, const protocol::Headers& headers) {
                if (status == 206) {
                    const auto range = protocol::parseContentRange(headers.get("Content-Range").value_or(""));
                    if (!range || range->first != start || (range->total && *range->total != file.size)) {
                        badRange = true;
                        return HttpClient::BodyTarget::Discard;
                    }
                    accepted = true;
                    return HttpClient::BodyTarget::Sink;
                }
                if (status == 200) {
                    // The server ignored the range and sends the whole file: start over with it.
                    if (partial.size() > 0) {
                        partial.truncate();
                        startDigest(digest, file);
                        progress_.setFileBytes(0);
                    }
                    accepted = true;
                    return HttpClient::BodyTarget::Sink;
                }
                if (status >= 300 && status <= 399)
                    return HttpClient::BodyTarget::Discard;
                return HttpClient::BodyTarget::Memory;  // an error message, bounded
            },
            [&](const char* data, std::size_t size) {
                if (partial.size() + size > file.size) {
                    overflow = true;
                    return false;
                }
                if ((diskError = partial.append(data, size)) != 0)
                    return false;
                digest.update(data, size);
                progress_.addNetworkBytes(size);
                progress_.setFileBytes(partial.size());
                return !progress_.stopRequested() && !hub_.stopRequested();
            },
            [&] {
                progress_.setFileBytes(partial.size());  // reports even while no byte arrives
                return progress_.stopRequested() || hub_.stopRequested();
            },
            protocol::kMaxErrorBodyBytes);

        if (diskError) {
            partial.sync();
            throw HubError(HubErrorCode::DiskSpace,
                           std::string("cannot write the download: ") + std::strerror(diskError) + "; the " +
                               describeBytes(partial.size()) +
                               " already downloaded are kept: free some space and run the download again to resume",
                           partial.path());
        }
        if (progress_.stopRequested() || hub_.stopRequested()) {
            partial.sync();
            throw Cancelled();
        }
        if (overflow)
            throw HubError(HubErrorCode::Protocol, "the server sent more bytes than the file's size", file.path);
        if (response.headersTooLarge)
            throw HubError(HubErrorCode::Protocol, "the server sent more than 64 kB of headers", file.path);
        if (partial.size() > start) {
            failures = 0;
            cdnRefreshes = 0;
        }
        if (accepted && response.networkError.empty() && partial.size() == file.size)
            break;
        if (badRange)
            throw HubError(HubErrorCode::Protocol,
                           "the server answered a request for bytes " + std::to_string(start) +
                               "- with a different Content-Range (" +
                               response.headers.get("Content-Range").value_or("none").substr(0, 80) + ")",
                           file.path);
        if (accepted || !response.networkError.empty()) {
            // Cut mid-body, stalled, or refused to connect: resume from what is on disk.
            if (++failures >= hub_.settings().maxAttempts)
                throw HubError(HubErrorCode::Network,
                               "the download keeps failing (" +
                                   (response.stalled ? std::string("no data arrived for ") +
                                                           std::to_string(int(hub_.settings().stallSeconds)) + " s"
                                                     : response.networkError.empty() ? std::string("connection closed early")
                                                                                     : response.networkError) +
                                   "); the " + describeBytes(partial.size()) +
                                   " already downloaded are kept: run the download again to resume",
                               file.path);
            partial.sync();
            const std::string why = response.stalled ? "no data for " + std::to_string(int(hub_.settings().stallSeconds)) + " s"
                                                     : "connection lost at " + describeBytes(partial.size());
            progress_.setPhase(DownloadPhase::Retrying, why);
            hub_.backOff(failures, std::nullopt, why);
            progress_.setPhase(DownloadPhase::Downloading);
            continue;
        }
        const int status = response.status;
        if (status == 416) {
            // Nothing left to send from `start`: either the partial is complete (verify it) or it
            // is not what the server has (start over, once).
            if (partial.size() >= file.size)
                break;
            if (restartedAfter416)
                throw HubError(HubErrorCode::Protocol, "the server refuses every byte range (HTTP 416)", file.path, 416);
            restartedAfter416 = true;
            partial.truncate();
            startDigest(digest, file);
            progress_.setFileBytes(0);
            continue;
        }
        if (status >= 300 && status <= 399) {
            // A CDN may redirect once more (to a signed URL); the token stays behind.
            const auto target = response.headers.get("Location");
            const auto next = target ? HttpClient::resolve(location, *target) : std::nullopt;
            if (!next || ++hops > kMaxRedirectHops)
                throw HubError(HubErrorCode::Protocol, "a redirect without a usable target, or too many", file.path, status);
            location = *next;
            continue;
        }
        if (status == 403 && HttpClient::origin(location) != HttpClient::origin(hub_.settings().endpoint)) {
            // The CDN's signed URL expired (it does after a while, or the download was paused):
            // ask the Hub for a fresh one and resume.
            if (++cdnRefreshes > kMaxCdnRefreshes)
                throw HubError(HubErrorCode::Unauthorized, "the download server keeps refusing access (HTTP 403)",
                               file.path, 403);
            progress_.setPhase(DownloadPhase::Retrying, "the download link expired; asking the Hub for a new one");
            metadata = hub_.head(plan_.ref.repo, plan_.commit, file.path);
            location = metadata.location;
            hops = 0;
            progress_.setPhase(DownloadPhase::Downloading);
            continue;
        }
        if (protocol::isRetryableStatus(status)) {
            if (++failures >= hub_.settings().maxAttempts)
                throw protocol::errorForResponse(status, response.headers, plan_.ref.repo, file.path,
                                                 !request.bearerToken.empty());
            const auto retryAfter = response.headers.get("Retry-After");
            const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
            const std::string why = "HTTP " + std::to_string(status);
            progress_.setPhase(DownloadPhase::Retrying, why);
            hub_.backOff(failures, retryAfter ? protocol::parseRetryAfter(*retryAfter, now) : std::nullopt, why);
            progress_.setPhase(DownloadPhase::Downloading);
            continue;
        }
        throw protocol::errorForResponse(status, response.headers, plan_.ref.repo, file.path, !request.bearerToken.empty());
    }
    partial.sync();
}

}  // namespace querylens::hub
