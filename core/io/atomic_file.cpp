#include "io/atomic_file.h"

#include "querylens/error.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace querylens::io {

namespace fs = std::filesystem;

namespace {

std::string systemError() { return std::strerror(errno); }

// Closes the descriptor and removes the temporary file unless the write was committed.
class TemporaryFile {
public:
    explicit TemporaryFile(std::string path) : path_(std::move(path))
    {
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0 && errno == EEXIST) {
            // Left by a killed process that had our process id: it was never renamed, so it is
            // nobody's file.
            ::unlink(path_.c_str());
            fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        }
    }
    ~TemporaryFile()
    {
        if (fd_ >= 0)
            ::close(fd_);
        if (!committed_)
            ::unlink(path_.c_str());
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;

    int fd() const { return fd_; }
    const std::string& path() const { return path_; }
    bool closeFile()
    {
        const int fd = fd_;
        fd_ = -1;
        return ::close(fd) == 0;
    }
    void commit() { committed_ = true; }

private:
    std::string path_;
    int fd_ = -1;
    bool committed_ = false;
};

void writeAll(int fd, const std::string& data, const std::string& path)
{
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            throw Error("cannot write the file: " + systemError(), path);
        done += std::size_t(n);
    }
}

void syncFolder(const fs::path& folder)
{
    const int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);  // best effort: some file systems refuse fsync on folders
        ::close(fd);
    }
}

}  // namespace

void writeFileAtomically(const std::string& path, const std::string& data, bool keepBackup)
{
    const fs::path target(path);
    // The temporary file must be on the same file system for rename() to be atomic: beside it.
    // Named by process and by call, so that two threads writing the same file (two downloads
    // of one repository note their progress) never share, or remove, each other's temporary.
    static std::atomic<unsigned> calls{0};
    TemporaryFile temporary(path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(calls++));
    if (temporary.fd() < 0) {
        const std::string why = systemError();
        throw Error("cannot create a temporary file beside it (" + why + ")", path);
    }
    writeAll(temporary.fd(), data, path);
    if (::fsync(temporary.fd()) != 0)
        throw Error("cannot flush the file to disk: " + systemError(), path);
    if (!temporary.closeFile())
        throw Error("cannot close the file: " + systemError(), path);

    if (keepBackup && fs::exists(target)) {
        // A second name for the old contents, then renamed over the previous backup: the
        // target keeps existing throughout.
        const std::string backup = path + ".bak";
        const std::string pending = backup + ".tmp-" + std::to_string(::getpid());
        ::unlink(pending.c_str());
        if (::link(path.c_str(), pending.c_str()) == 0 && ::rename(pending.c_str(), backup.c_str()) != 0)
            ::unlink(pending.c_str());
    }
    if (::rename(temporary.path().c_str(), path.c_str()) != 0)
        throw Error("cannot replace the file: " + systemError(), path);
    temporary.commit();
    syncFolder(target.parent_path());
}

}  // namespace querylens::io
