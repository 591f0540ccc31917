#pragma once
// Conversations on disk: one JSON file per session in the user's data folder, written
// atomically (temporary file, fsync, rename; the previous version kept as NAME.json.bak), read
// with errors that name the file and never overwrite a file they could not read. Markdown and
// JSON export, JSON import, listing and deleting. The window and the command line share it.
//
// The file (format "querylens-session/1"):
//   { "format", "title", "created", "updated",
//     "image": {"path", "sha256", "width", "height"},
//     "model": {"name", "folder", "language_model", "precision"},
//     "settings": {decoding options, Hugging Face's generate() names},
//     "chosen": [[parent, child], ...]     the branch the user chose at each fork
//     "turns": [{"id", "parent", "question", "answer", "state", "error", "created", "model",
//                "settings", "report": {"sequences": [{"text", "ids", "score", "tokens": [{"id",
//                "text", "probability", "top": [{"id", "text", "probability"}], "query_attention"}]}],
//                "stop_reason", "prompt_tokens", "reused_positions", "query_indices", "notice",
//                "timings_ms": {"prefill", "first_token", "total"}, "tokens_per_s"}}] }

#include "querylens/conversation.h"

#include <memory>
#include <string>
#include <vector>

namespace querylens {

inline constexpr int kSessionFormatVersion = 1;

// A session as a list shows it; `problem` is set (and the rest mostly empty) when the file
// cannot be read: it stays on disk untouched.
struct SessionSummary {
    std::string name;
    std::string path;
    std::string title;
    std::string created;
    std::string updated;
    std::string imagePath;
    std::string model;
    int turns = 0;
    int interrupted = 0;  // turns left in progress or interrupted
    std::string problem;
};

// Serialisation (exposed for export, import and tests). fromJson throws Error naming `file`
// and the key: not JSON, not a session file, a format from a newer QueryLens, a broken tree.
std::string sessionToJson(const Conversation& conversation);
Conversation sessionFromJson(const std::string& text, const std::string& file);
// The branch on screen as Markdown: image, model, each question and answer with its figures,
// and the other versions of each turn, so that nothing shown is left out.
std::string sessionToMarkdown(const Conversation& conversation);

// A session name is a file name: letters, digits, '.', '_', '-' (not first), at most 100.
// Returns an empty string when valid, else why not.
std::string sessionNameProblem(const std::string& name);

class SessionStore {
public:
    // $QUERYLENS_SESSIONS_DIR, else $XDG_DATA_HOME/querylens/sessions, else
    // ~/.local/share/querylens/sessions.
    static std::string defaultFolder();
    explicit SessionStore(std::string folder = defaultFolder());

    const std::string& folder() const { return folder_; }
    std::string pathOf(const std::string& name) const;  // throws Error for an invalid name
    bool exists(const std::string& name) const;

    // Every *.json in the folder, most recently updated first.
    std::vector<SessionSummary> list() const;
    // As stored: turns left InProgress stay so (see SessionLock for who may mark them).
    Conversation load(const std::string& name) const;
    // Creates the folder when needed; the conversation's name picks the file.
    void save(const Conversation& conversation) const;
    // Removes the session, its backup and its lock file. Throws Error when it does not exist.
    void remove(const std::string& name) const;

    // A free name made from `hint` (e.g. "20261205-143012-kitchen"); "-2", "-3"... when taken.
    std::string uniqueName(const std::string& hint) const;
    // Reads a session JSON file (an export) and stores it under `name` (empty: a free name from
    // the file's name). Returns the name. The file is checked as load() checks.
    std::string importFile(const std::string& path, const std::string& name = {}) const;

    // Where pasted images are kept so that their sessions can be reopened: images/SHA256.png.
    std::string imageFolder() const;

private:
    std::string folder_;
};

// Who is writing a session: an exclusive advisory lock (flock) on its lock file, held while a
// process has it open for writing and released by the kernel when the process ends, however it
// ends. A turn left InProgress in a session nobody holds was cut off by a crash or a kill.
class SessionLock {
public:
    // Null when another process holds it.
    static std::unique_ptr<SessionLock> tryAcquire(const SessionStore& store, const std::string& name);
    ~SessionLock();
    SessionLock(const SessionLock&) = delete;
    SessionLock& operator=(const SessionLock&) = delete;

private:
    explicit SessionLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace querylens
