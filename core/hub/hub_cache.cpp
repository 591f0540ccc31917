#include "querylens/hub_cache.h"

#include "hub/small_files.h"
#include "hub/download_notes.h"
#include "querylens/error.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

namespace querylens::hub {

namespace fs = std::filesystem;

namespace {

std::string environment(const char* name) { return environmentValue(name); }

// os.path.expanduser and os.path.expandvars, as huggingface_hub applies them to its folders:
// a leading ~ is $HOME; $NAME and ${NAME} are replaced when set and left as written otherwise.
std::string expandPath(const std::string& path)
{
    std::string text = path;
    if (!text.empty() && text[0] == '~' && (text.size() == 1 || text[1] == '/'))
        text = environment("HOME") + text.substr(1);
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '$') {
            out += text[i++];
            continue;
        }
        std::size_t start = i + 1;
        const bool braced = start < text.size() && text[start] == '{';
        if (braced)
            ++start;
        std::size_t end = start;
        while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
            ++end;
        const bool closed = !braced || (end < text.size() && text[end] == '}');
        const std::string name = text.substr(start, end - start);
        const char* value = name.empty() || !closed ? nullptr : std::getenv(name.c_str());
        if (!value) {
            out += text[i++];
            continue;
        }
        out += value;
        i = end + (braced ? 1 : 0);
    }
    return out;
}

std::string homeFolder()
{
    const std::string home = environment("HOME");
    return home.empty() ? "." : home;
}

bool isRepoNamePart(const std::string& part)
{
    if (part.empty() || part.size() > 96 || part.find("--") != std::string::npos ||
        part.find("..") != std::string::npos || part.front() == '-' || part.front() == '.' || part.back() == '-' ||
        part.back() == '.')
        return false;
    return std::all_of(part.begin(), part.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
}

// An etag read back from a note or a file name before it becomes part of a path.
bool isPlainEtag(const std::string& etag)
{
    return !etag.empty() && etag.size() <= 128 &&
           std::all_of(etag.begin(), etag.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

std::uint64_t fileSize(const fs::path& path)
{
    std::error_code error;
    const auto size = fs::file_size(path, error);
    return error ? 0 : size;
}

bool snapshotIsUnfinished(const std::vector<DownloadNote>& notes, const std::string& repo, const std::string& commit)
{
    return std::any_of(notes.begin(), notes.end(),
                       [&](const DownloadNote& note) { return note.repo == repo && note.commit == commit; });
}

}  // namespace

bool environmentFlag(const char* name)
{
    std::string value = environment(name);
    std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    return value == "1" || value == "ON" || value == "YES" || value == "TRUE";
}

std::string huggingFaceHome()
{
    const std::string home = environment("HF_HOME");
    if (!home.empty())
        return expandPath(home);
    const std::string xdg = environment("XDG_CACHE_HOME");
    const std::string cache = xdg.empty() ? homeFolder() + "/.cache" : xdg;
    return expandPath((fs::path(cache) / "huggingface").string());
}

std::string defaultCacheFolder()
{
    for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"}) {
        const std::string folder = environment(name);
        if (!folder.empty())
            return expandPath(folder);
    }
    return (fs::path(huggingFaceHome()) / "hub").string();
}

std::string defaultStateFolder()
{
    const std::string xdg = environment("XDG_STATE_HOME");
    const fs::path state = xdg.empty() ? fs::path(homeFolder()) / ".local" / "state" : fs::path(xdg);
    return (state / "querylens" / "downloads").string();
}

bool offlineFromEnvironment() { return environmentFlag("HF_HUB_OFFLINE") || environmentFlag("TRANSFORMERS_OFFLINE"); }

std::string RepoRef::text() const { return revision == "main" ? repo : repo + "@" + revision; }

bool isValidRepoId(const std::string& repo)
{
    const auto slash = repo.find('/');
    if (slash == std::string::npos)
        return isRepoNamePart(repo);
    return repo.find('/', slash + 1) == std::string::npos && isRepoNamePart(repo.substr(0, slash)) &&
           isRepoNamePart(repo.substr(slash + 1));
}

std::optional<RepoRef> parseRepoRef(const std::string& text)
{
    RepoRef ref;
    const auto at = text.find('@');
    ref.repo = text.substr(0, at);
    if (at != std::string::npos) {
        ref.revision = text.substr(at + 1);
        // Branch and tag names: anything git allows that cannot escape a path once encoded;
        // control characters and ".." are refused here already.
        if (ref.revision.empty() || ref.revision.size() > 256 || ref.revision.find("..") != std::string::npos ||
            std::any_of(ref.revision.begin(), ref.revision.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x21 || c == '\\' || c == 0x7f; }) ||
            ref.revision.front() == '/' || ref.revision.back() == '/')
            return std::nullopt;
    }
    if (!isValidRepoId(ref.repo))
        return std::nullopt;
    return ref;
}

bool isCommitHash(const std::string& revision)
{
    return revision.size() == 40 && std::all_of(revision.begin(), revision.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string repoFolderName(const std::string& repo)
{
    std::string name = "models--" + repo;
    const auto slash = name.find('/');
    if (slash != std::string::npos)
        name.replace(slash, 1, "--");
    return name;
}

std::string repoFolder(const std::string& cacheFolder, const std::string& repo)
{
    return (fs::path(cacheFolder) / repoFolderName(repo)).string();
}

std::optional<std::string> cachedCommit(const std::string& cacheFolder, const RepoRef& ref)
{
    if (isCommitHash(ref.revision))
        return ref.revision;
    std::string commit;
    if (!readSmallFile((fs::path(repoFolder(cacheFolder, ref.repo)) / "refs" / ref.revision).string(), commit, 256))
        return std::nullopt;
    // huggingface_hub writes no newline; tolerate one written by hand.
    while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back())))
        commit.pop_back();
    if (!isCommitHash(commit))
        return std::nullopt;
    return commit;
}

std::optional<std::string> cachedSnapshotFolder(const std::string& cacheFolder, const std::string& stateFolder,
                                                const RepoRef& ref)
{
    const auto commit = cachedCommit(cacheFolder, ref);
    if (!commit)
        return std::nullopt;
    const fs::path snapshot = fs::path(repoFolder(cacheFolder, ref.repo)) / "snapshots" / *commit;
    std::error_code error;
    if (!fs::exists(snapshot / "config.json", error))
        return std::nullopt;
    if (snapshotIsUnfinished(readDownloadNotes(stateFolder, cacheFolder), ref.repo, *commit))
        return std::nullopt;
    return snapshot.string();
}

std::string resolveModelFolder(const std::string& argument)
{
    std::error_code error;
    if (fs::is_directory(argument, error))
        return argument;
    const auto ref = parseRepoRef(argument);
    if (!ref)
        throw Error("no such folder", argument);
    const std::string cache = defaultCacheFolder();
    const std::string state = defaultStateFolder();
    if (const auto snapshot = cachedSnapshotFolder(cache, state, *ref))
        return *snapshot;
    for (const auto& download : findIncompleteDownloads(cache, state))
        if (download.repo == ref->repo && download.revision == ref->revision)
            throw Error("the download of " + ref->text() + " is unfinished (" + download.describe() +
                            "): resume it with `querylens download " + ref->text() + "`",
                        argument);
    throw Error("no such folder, and " + ref->text() + " is not in the Hugging Face cache (" + cache +
                    "): download it with `querylens download " + ref->text() + "`",
                argument);
}

std::string IncompleteDownload::describe() const
{
    if (totalBytes == 0)
        return "incomplete: " + formatSize(bytesOnDisk) + " of an unknown size";
    // "6.1 of 15.5 GB" when both are in the same unit, as people write it.
    std::string done = formatSize(bytesOnDisk);
    const std::string total = formatSize(totalBytes);
    const auto unit = total.substr(total.find(' '));
    if (done.size() > unit.size() && done.compare(done.size() - unit.size(), unit.size(), unit) == 0)
        done.resize(done.size() - unit.size());
    return "incomplete: " + done + " of " + total;
}

std::vector<IncompleteDownload> findIncompleteDownloads(const std::string& cacheFolder, const std::string& stateFolder)
{
    std::vector<IncompleteDownload> found;
    std::map<std::string, std::set<std::string>> explained;  // repo folder -> etags a note names
    for (const auto& note : readDownloadNotes(stateFolder, cacheFolder)) {
        IncompleteDownload download;
        download.repo = note.repo;
        download.revision = note.revision;
        download.commit = note.commit;
        download.cacheFolder = cacheFolder;
        download.include = note.include;
        const fs::path repo = repoFolder(cacheFolder, note.repo);
        download.snapshotFolder = (repo / "snapshots" / note.commit).string();
        download.fileCount = int(note.files.size());
        for (const auto& file : note.files) {
            download.totalBytes += file.size;
            if (!isPlainEtag(file.etag))
                continue;
            explained[repo.filename().string()].insert(file.etag);
            const fs::path blob = repo / "blobs" / file.etag;
            std::error_code error;
            if (fs::is_regular_file(blob, error)) {
                download.bytesOnDisk += file.size;
                ++download.filesDone;
            } else {
                download.bytesOnDisk += std::min(file.size, fileSize(blob.string() + ".incomplete"));
            }
        }
        found.push_back(std::move(download));
    }
    // Partials that no note explains: left by huggingface_hub or by a QueryLens whose note was lost.
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(cacheFolder, error)) {
        const std::string folder = entry.path().filename().string();
        if (folder.rfind("models--", 0) != 0 || !entry.is_directory())
            continue;
        IncompleteDownload orphan;
        std::error_code inner;
        for (const auto& blob : fs::directory_iterator(entry.path() / "blobs", inner)) {
            if (blob.path().extension() != ".incomplete" || explained[folder].count(blob.path().stem().string()))
                continue;
            orphan.bytesOnDisk += fileSize(blob.path());
            ++orphan.fileCount;
        }
        if (orphan.fileCount == 0)
            continue;
        std::string repo = folder.substr(8);
        const auto split = repo.find("--");
        if (split != std::string::npos)
            repo.replace(split, 2, "/");
        orphan.repo = repo;
        orphan.revision = "main";
        orphan.cacheFolder = cacheFolder;
        found.push_back(std::move(orphan));
    }
    return found;
}

std::string formatSize(std::uint64_t bytes)
{
    const char* units[] = {"bytes", "kB", "MB", "GB", "TB"};
    double value = double(bytes);
    int unit = 0;
    while (value >= 1000 && unit < 4) {
        value /= 1000;
        ++unit;
    }
    char text[32];
    if (unit == 0)
        std::snprintf(text, sizeof text, "%llu bytes", static_cast<unsigned long long>(bytes));
    else
        std::snprintf(text, sizeof text, value < 100 ? "%.1f %s" : "%.0f %s", value, units[unit]);
    return text;
}

}  // namespace querylens::hub
