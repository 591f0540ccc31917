#include "querylens/session_store.h"

#include "io/atomic_file.h"
#include "io/user_folders.h"
#include "querylens/error.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace querylens {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxNameLength = 100;

std::string readWholeFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(std::string("cannot read the file: ") + std::strerror(errno), path);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad())
        throw Error("the file could not be read to its end", path);
    return text.str();
}

bool nameCharacter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

std::string lockPath(const SessionStore& store, const std::string& name)
{
    return (fs::path(store.folder()) / ("." + name + ".lock")).string();
}

}  // namespace

std::string sessionNameProblem(const std::string& name)
{
    if (name.empty())
        return "a session name cannot be empty";
    if (name.size() > kMaxNameLength)
        return "a session name has at most " + std::to_string(kMaxNameLength) + " characters";
    if (name.front() == '-' || name.front() == '.')
        return "a session name cannot start with '" + std::string(1, name.front()) + "'";
    for (char c : name)
        if (!nameCharacter(c))
            return "a session name holds only letters, digits, '.', '_' and '-' (not '" + std::string(1, c) + "')";
    return {};
}

std::string SessionStore::defaultFolder()
{
    return io::querylensUserPath(io::UserFolder::Data, "sessions", "QUERYLENS_SESSIONS_DIR");
}

SessionStore::SessionStore(std::string folder) : folder_(std::move(folder)) {}

std::string SessionStore::pathOf(const std::string& name) const
{
    if (const std::string problem = sessionNameProblem(name); !problem.empty())
        throw Error(problem + ": \"" + name + "\"");
    return (fs::path(folder_) / (name + ".json")).string();
}

bool SessionStore::exists(const std::string& name) const
{
    return sessionNameProblem(name).empty() && fs::exists(pathOf(name));
}

std::string SessionStore::imageFolder() const { return (fs::path(folder_) / "images").string(); }

std::vector<SessionSummary> SessionStore::list() const
{
    std::vector<SessionSummary> sessions;
    std::error_code error;
    if (!fs::is_directory(folder_, error))
        return sessions;
    for (const auto& entry : fs::directory_iterator(folder_, error)) {
        const fs::path path = entry.path();
        if (!entry.is_regular_file(error) || path.extension() != ".json" || !sessionNameProblem(path.stem().string()).empty())
            continue;
        SessionSummary summary;
        summary.name = path.stem().string();
        summary.path = path.string();
        try {
            const Conversation c = load(summary.name);
            summary.title = c.title;
            summary.created = c.created;
            summary.updated = c.updated;
            summary.imagePath = c.image.path;
            summary.model = c.model.name;
            summary.turns = int(c.turns().size());
            for (const Turn& t : c.turns())
                summary.interrupted += t.state == TurnState::InProgress || t.state == TurnState::Interrupted;
        } catch (const Error& e) {
            summary.problem = (e.key().empty() ? "" : "'" + e.key() + "': ") + e.message();
        }
        sessions.push_back(std::move(summary));
    }
    std::stable_sort(sessions.begin(), sessions.end(), [](const SessionSummary& a, const SessionSummary& b) {
        return a.updated != b.updated ? a.updated > b.updated : a.name < b.name;
    });
    return sessions;
}

Conversation SessionStore::load(const std::string& name) const
{
    const std::string path = pathOf(name);
    if (!fs::exists(path))
        throw Error("there is no session named \"" + name + "\" (sessions are in " + folder_ + ")", path);
    Conversation c;
    try {
        c = sessionFromJson(readWholeFile(path), path);
    } catch (const Error& e) {
        // Say where the last good version is; never touch either file.
        if (fs::exists(path + ".bak"))
            throw Error(e.message() + " (the previous save is " + path + ".bak)", e.file(), e.key());
        throw;
    }
    c.name = name;
    return c;
}

void SessionStore::save(const Conversation& conversation) const
{
    const std::string path = pathOf(conversation.name);
    std::error_code error;
    fs::create_directories(folder_, error);
    if (error)
        throw Error("cannot create the sessions folder: " + error.message(), folder_);
    io::writeFileAtomically(path, sessionToJson(conversation), /*keepBackup=*/true);
}

void SessionStore::remove(const std::string& name) const
{
    const std::string path = pathOf(name);
    if (!fs::exists(path))
        throw Error("there is no session named \"" + name + "\"", path);
    const auto lock = SessionLock::tryAcquire(*this, name);
    if (!lock)
        throw Error("the session is open in another QueryLens; close it there first", path);
    std::error_code error;
    if (!fs::remove(path, error))
        throw Error("cannot delete the file: " + error.message(), path);
    fs::remove(path + ".bak", error);
    fs::remove(lockPath(*this, name), error);
}

std::string SessionStore::uniqueName(const std::string& hint) const
{
    std::string base;
    for (char c : hint)
        base += nameCharacter(c) ? c : '-';
    while (!base.empty() && (base.front() == '-' || base.front() == '.'))
        base.erase(0, 1);
    base = base.substr(0, kMaxNameLength - 4);
    if (base.empty())
        base = "session";
    std::string name = base;
    for (int n = 2; exists(name); ++n)
        name = base + "-" + std::to_string(n);
    return name;
}

std::string SessionStore::importFile(const std::string& path, const std::string& name) const
{
    Conversation c = sessionFromJson(readWholeFile(path), path);
    if (name.empty()) {
        c.name = uniqueName(fs::path(path).stem().string());
    } else {
        pathOf(name);  // checks the name
        if (exists(name))
            throw Error("a session named \"" + name + "\" exists already; choose another name", pathOf(name));
        c.name = name;
    }
    save(c);
    return c.name;
}

std::unique_ptr<SessionLock> SessionLock::tryAcquire(const SessionStore& store, const std::string& name)
{
    store.pathOf(name);  // checks the name
    std::error_code error;
    fs::create_directories(store.folder(), error);
    const std::string path = lockPath(store, name);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        throw Error(std::string("cannot open the lock file: ") + std::strerror(errno), path);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return nullptr;
    }
    return std::unique_ptr<SessionLock>(new SessionLock(fd));
}

SessionLock::~SessionLock()
{
    if (fd_ >= 0)
        ::close(fd_);  // releases the lock
}

}  // namespace querylens
