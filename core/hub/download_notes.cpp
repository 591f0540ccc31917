#include "hub/download_notes.h"

#include "hub/small_files.h"
#include "io/atomic_file.h"
#include "querylens/hub_cache.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace querylens::hub {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kNoteFormat = "querylens-download/1";

// FNV-1a: a stable short name for the cache folder, so that notes of two caches never collide.
std::string folderDigest(const std::string& text)
{
    std::uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return hex;
}

std::string safeRevision(const std::string& revision)
{
    std::string safe;
    for (const char c : revision)
        safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
    return safe;
}

std::string canonicalFolder(const std::string& folder)
{
    std::error_code error;
    const fs::path absolute = fs::absolute(folder, error);
    return (error ? fs::path(folder) : absolute).lexically_normal().string();
}

}  // namespace

std::string downloadNotePath(const std::string& stateFolder, const std::string& cacheFolder, const std::string& repo,
                             const std::string& revision)
{
    return (fs::path(stateFolder) / (repoFolderName(repo) + "@" + safeRevision(revision) + "." +
                                     folderDigest(canonicalFolder(cacheFolder)) + ".json"))
        .string();
}

void writeDownloadNote(const std::string& stateFolder, const DownloadNote& note)
{
    json files = json::array();
    for (const auto& file : note.files)
        files.push_back({{"path", file.path}, {"size", file.size}, {"etag", file.etag}});
    const json document = {{"format", kNoteFormat},
                           {"cache", canonicalFolder(note.cacheFolder)},
                           {"repo", note.repo},
                           {"revision", note.revision},
                           {"commit", note.commit},
                           {"include", note.include},
                           {"files", files}};
    std::error_code error;
    fs::create_directories(stateFolder, error);
    io::writeFileAtomically(downloadNotePath(stateFolder, note.cacheFolder, note.repo, note.revision), document.dump(1));
}

void removeDownloadNote(const std::string& stateFolder, const std::string& cacheFolder, const std::string& repo,
                        const std::string& revision)
{
    std::error_code error;
    fs::remove(downloadNotePath(stateFolder, cacheFolder, repo, revision), error);
}

std::vector<DownloadNote> readDownloadNotes(const std::string& stateFolder, const std::string& cacheFolder)
{
    std::vector<DownloadNote> notes;
    const std::string cache = canonicalFolder(cacheFolder);
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(stateFolder, error)) {
        if (entry.path().extension() != ".json")
            continue;
        std::string text;
        if (!readSmallFile(entry.path().string(), text, 16 << 20))
            continue;
        const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
        if (!document.is_object() || document.value("format", "") != kNoteFormat || document.value("cache", "") != cache)
            continue;
        try {
            DownloadNote note;
            note.cacheFolder = cacheFolder;
            note.repo = document.at("repo").get<std::string>();
            note.revision = document.at("revision").get<std::string>();
            note.commit = document.at("commit").get<std::string>();
            note.include = document.value("include", std::vector<std::string>{});
            for (const auto& file : document.at("files"))
                note.files.push_back({file.at("path").get<std::string>(), file.at("size").get<std::uint64_t>(),
                                      file.at("etag").get<std::string>()});
            note.notePath = entry.path().string();
            if (isValidRepoId(note.repo) && isCommitHash(note.commit))
                notes.push_back(std::move(note));
        } catch (const json::exception&) {
            // A note we cannot read is not ours to trust; the partials it named are still listed.
        }
    }
    return notes;
}

}  // namespace querylens::hub
