#pragma once
// The Hugging Face cache as huggingface_hub lays it out, without the network: where it is (the
// same environment variables, read in one place), the names inside it, which snapshot a
// repository's revision points to, and which downloads were left unfinished. The window, the
// command line and checkpoint discovery all go through here.
//
//   {cache}/models--{org}--{name}/blobs/{etag}              file contents (sha256 for LFS files, git sha1 else)
//   {cache}/models--{org}--{name}/blobs/{etag}.incomplete   a partial, written in order (size = valid bytes)
//   {cache}/models--{org}--{name}/snapshots/{commit}/{path} relative symlinks to ../../blobs/{etag}
//   {cache}/models--{org}--{name}/refs/{revision}           the 40-hex commit, no newline
//   {cache}/models--{org}--{name}/.no_exist/{commit}/{path} "this file is not in that commit"
//   {cache}/.locks/models--{org}--{name}/{etag}.lock        flock()ed while a blob is written

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace querylens::hub {

// $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub (with ~ and $VARS expanded,
// as huggingface_hub does).
std::string defaultCacheFolder();
// $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
std::string huggingFaceHome();
// QueryLens's own notes about unfinished downloads (kept out of the shared cache so that the
// cache holds exactly what huggingface_hub would write): $XDG_STATE_HOME/querylens/downloads,
// else ~/.local/state/querylens/downloads.
std::string defaultStateFolder();
// HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE set to 1/ON/YES/TRUE.
bool offlineFromEnvironment();
// An environment variable's value read as huggingface_hub reads booleans.
bool environmentFlag(const char* name);

// "Salesforce/blip2-opt-2.7b@main" -> repo and revision ("main" when none is given).
struct RepoRef {
    std::string repo;
    std::string revision = "main";
    std::string text() const;  // "repo" or "repo@revision" when not main
};
// A Hub repository id: "name" or "org/name" of letters, digits, '-', '_', '.', no "--" or
// "..", at most 96 characters per part. Returns nullopt for anything else.
std::optional<RepoRef> parseRepoRef(const std::string& text);
bool isValidRepoId(const std::string& repo);
bool isCommitHash(const std::string& revision);  // 40 lower-case hex digits

// "models--Salesforce--blip2-opt-2.7b"
std::string repoFolderName(const std::string& repo);
std::string repoFolder(const std::string& cacheFolder, const std::string& repo);

// The commit a revision points to in the cache (refs/{revision}, or the revision itself when it
// is a commit hash), or nullopt.
std::optional<std::string> cachedCommit(const std::string& cacheFolder, const RepoRef& ref);

// The snapshot folder of `ref` when it is complete in the cache: its commit resolves, the
// folder has config.json, and no download of it is unfinished.
std::optional<std::string> cachedSnapshotFolder(const std::string& cacheFolder, const std::string& stateFolder,
                                                const RepoRef& ref);

// What --model and $QUERYLENS_MODEL accept: an existing folder (returned as is), or a repository
// id "org/name[@revision]" resolved offline to its cached snapshot. Throws querylens::Error
// saying how to download it when it is neither.
std::string resolveModelFolder(const std::string& argument);

// A download that was started and not finished (paused, interrupted, killed).
struct IncompleteDownload {
    std::string repo;
    std::string revision;
    std::string commit;          // empty for partials found without QueryLens's notes
    std::string cacheFolder;
    std::string snapshotFolder;
    std::uint64_t bytesOnDisk = 0;   // complete blobs of the plan plus partials
    std::uint64_t totalBytes = 0;    // 0 when unknown (a partial left by another tool)
    int filesDone = 0;
    int fileCount = 0;
    std::vector<std::string> include;  // the --include patterns it was started with
    std::string describe() const;    // "incomplete: 6.1 of 15.5 GB"
};
// Unfinished downloads into `cacheFolder`: those QueryLens noted in `stateFolder`, and
// *.incomplete partials in the cache that no note explains.
std::vector<IncompleteDownload> findIncompleteDownloads(const std::string& cacheFolder, const std::string& stateFolder);

// "6.1 GB", "512 MB", "12 kB" (powers of 1000, as the Hub shows sizes).
std::string formatSize(std::uint64_t bytes);

}  // namespace querylens::hub
