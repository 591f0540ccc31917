#pragma once
// QueryLens's note of a download in progress: which repository, revision, commit and files, so
// that `querylens models`, the window and a later run know what is unfinished and how big it
// is. Notes live in the state folder, not in the shared cache (which then holds exactly what
// huggingface_hub writes). One JSON file per (cache, repository, revision); written atomically
// when a download starts, removed when it completes.

#include <cstdint>
#include <string>
#include <vector>

namespace querylens::hub {

struct DownloadNote {
    std::string cacheFolder;
    std::string repo;
    std::string revision;
    std::string commit;
    std::vector<std::string> include;
    struct File {
        std::string path;
        std::uint64_t size = 0;
        std::string etag;
    };
    std::vector<File> files;
    std::string notePath;  // where it was read from
};

std::string downloadNotePath(const std::string& stateFolder, const std::string& cacheFolder, const std::string& repo,
                             const std::string& revision);
void writeDownloadNote(const std::string& stateFolder, const DownloadNote& note);
void removeDownloadNote(const std::string& stateFolder, const std::string& cacheFolder, const std::string& repo,
                        const std::string& revision);
// Every readable note about `cacheFolder` (unreadable ones are skipped: they are only hints).
std::vector<DownloadNote> readDownloadNotes(const std::string& stateFolder, const std::string& cacheFolder);

}  // namespace querylens::hub
