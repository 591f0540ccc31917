#pragma once
// The Hugging Face Hub client: resolve a repository at a revision to one commit and a plan of
// files, then fetch them into the cache that huggingface_hub shares (see hub_cache.h) with
// resume, verification (sha256 of LFS files, git sha1 of the others) and progress. Plain structs;
// no Qt, no curl in this header. Every call may take seconds to hours: run it off the GUI thread.

#include "querylens/checkpoints.h"
#include "querylens/error.h"
#include "querylens/hub_cache.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace querylens::hub {

struct HubSettings {
    std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT (mirrors)
    std::string cacheFolder;                            // defaultCacheFolder()
    std::string stateFolder;                            // defaultStateFolder()
    std::string token;     // HF_TOKEN, else HUGGING_FACE_HUB_TOKEN, else the file $HF_TOKEN_PATH or $HF_HOME/token
    bool offline = false;  // HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE: no request at all
    bool useSymlinks = true;            // false with HF_HUB_DISABLE_SYMLINKS (or when the file system has none)
    double stallSeconds = 30;           // no byte for this long: the transfer is dropped and resumed
    double connectTimeoutSeconds = 10;
    int maxAttempts = 8;                // tries per request without progress (408, 429, 5xx, network)
    double firstBackoffSeconds = 0.5;   // the back-off doubles from here, jittered by [0.5, 1.5)
    double maxBackoffSeconds = 20;      // cap of the back-off and of Retry-After
    // Free bytes of the file system holding a folder; empty: statvfs. Tests pass their own.
    std::function<std::uint64_t(const std::string& folder)> freeSpace;

    static HubSettings fromEnvironment();
};

// The Hub's errors, each with what to do (see HubError::what()).
enum class HubErrorCode {
    RepoNotFound,      // no such repository, or private without a token that may see it
    GatedRepo,         // gated: log in (401) or ask for access on the repository page (403)
    RevisionNotFound,
    EntryNotFound,     // a file of the plan is not in the commit
    Unauthorized,      // 401/403 without a Hub error code
    NotBlip2,          // config.json's model_type is not blip-2 (download anyway with force)
    Offline,           // HF_HUB_OFFLINE is set and the answer is not in the cache
    Network,           // connection failures, time-outs, 5xx after every retry
    Integrity,         // the bytes did not match their sha256/sha1, twice
    DiskSpace,         // not enough free space before starting, or a write failed (ENOSPC)
    Protocol,          // a response that breaks the protocol (hostile or broken server)
};
const char* hubErrorCodeName(HubErrorCode code);  // "RepoNotFound", ...

class HubError : public Error {
public:
    HubError(HubErrorCode code, const std::string& message, std::string file = {}, int httpStatus = 0);
    HubErrorCode code() const { return code_; }
    int httpStatus() const { return httpStatus_; }

private:
    HubErrorCode code_;
    int httpStatus_;
};

struct PlannedFile {
    std::string path;         // inside the repository, '/'-separated, checked (no "..", absolute, '\\')
    std::uint64_t size = 0;
    std::string gitOid;       // git blob sha1 (the etag of a small file)
    std::string sha256;       // LFS files: lfs.oid (their etag); empty for small files
    bool lfs() const { return !sha256.empty(); }
    std::string etag() const { return lfs() ? sha256 : gitOid; }
};

struct SkippedFile {
    std::string path;
    std::uint64_t size = 0;
    std::string reason;       // "pickle (never downloaded)", "not needed to run BLIP-2", ...
};

struct DownloadPlan {
    RepoRef ref;
    std::string commit;                  // every file comes from this one commit
    std::string modelType;               // config.json's model_type ("" when there is none)
    std::vector<PlannedFile> files;      // small files first, then the weights
    std::vector<SkippedFile> skipped;
    std::uint64_t totalBytes = 0;        // of `files`
    std::uint64_t cachedBytes = 0;       // already complete in the cache
    std::uint64_t partialBytes = 0;      // in *.incomplete partials that a download will resume
    std::string snapshotFolder;          // {cache}/models--org--name/snapshots/{commit}
};

struct PlanOptions {
    std::vector<std::string> include;    // extra glob patterns (fnmatch, as huggingface_hub's allow_patterns)
    bool force = false;                  // accept a repository whose model_type is not blip-2
};

// Resolves `ref` to its commit (GET /api/models/{repo}/revision/{rev}), lists the commit's files
// (GET /api/models/{repo}/tree/{commit}?recursive=true, following Link rel="next"), chooses the
// files BLIP-2 needs and checks the weights against model.safetensors.index.json. Never pickles.
DownloadPlan planDownload(const HubSettings& settings, const RepoRef& ref, const PlanOptions& options = {});

enum class DownloadPhase {
    Waiting,      // for another process that holds the file's lock
    Hashing,      // reading the bytes of a partial before resuming it
    Downloading,
    Verifying,    // comparing the file's digest with the Hub's
    Retrying,     // waiting before the next try (message says why)
};
const char* downloadPhaseName(DownloadPhase phase);

struct DownloadProgress {
    DownloadPhase phase = DownloadPhase::Downloading;
    std::string file;                 // path in the repository
    int fileIndex = 0;                // 0-based among plan.files
    int fileCount = 0;
    std::uint64_t fileBytes = 0;      // of this file, on disk and verified so far
    std::uint64_t fileSize = 0;
    std::uint64_t totalBytes = 0;     // of every planned file, on disk (cached ones included)
    std::uint64_t totalSize = 0;
    double bytesPerSecond = 0;        // recent network rate (0 while not downloading)
    double etaSeconds = -1;           // -1: unknown
    std::string message;              // for Retrying and Waiting: why
};
// Called a few times a second and at every change of file or phase. Returning false stops the
// download: partials stay on disk, resumable, and downloadSnapshot throws querylens::Cancelled.
using DownloadProgressCallback = std::function<bool(const DownloadProgress&)>;

struct DownloadResult {
    std::string snapshotFolder;
    std::string commit;
    std::uint64_t bytesFetched = 0;   // over the network in this run
    int filesFetched = 0;
    int filesCached = 0;              // already complete before this run
    double seconds = 0;
    std::vector<std::string> warnings;  // e.g. symlinks unavailable: files copied into the snapshot
};

// Fetches every file of `plan` into the cache: refuses to start when the remaining bytes do
// not fit on the disk, resumes partials, verifies each file before it becomes a blob (a
// mismatch is discarded and fetched once more, then HubError Integrity), links the snapshot and
// writes refs/{revision} last. Two processes may run it on the same repository at once.
DownloadResult downloadSnapshot(const HubSettings& settings, const DownloadPlan& plan,
                                const DownloadProgressCallback& progress = {});

// Forgets an unfinished download: removes its partials and QueryLens's note (complete blobs
// stay: they may be shared with other snapshots).
void discardDownload(const HubSettings& settings, const RepoRef& ref);

// The tensor names and shapes of the plan's safetensors files, read from their headers with
// ranged requests (a few kB each), to estimate memory before downloading.
// Feed them to estimateWeightMemory() (checkpoints.h).
std::vector<TensorShape> fetchWeightShapes(const HubSettings& settings, const DownloadPlan& plan);

}  // namespace querylens::hub
