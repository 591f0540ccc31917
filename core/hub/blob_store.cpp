#include "hub/blob_store.h"

#include "hub/small_files.h"
#include "io/atomic_file.h"
#include "querylens/error.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <thread>
#include <unistd.h>

namespace querylens::hub {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int error = errno)
{
    throw Error(what + ": " + std::strerror(error), path);
}

std::string uniqueSuffix()
{
    static thread_local std::mt19937_64 random{std::random_device{}()};
    return ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(random() % 1000000000ULL);
}

}  // namespace

BlobLock::BlobLock(const std::string& path, const std::function<bool()>& stop, const std::function<void()>& waiting)
{
    std::error_code error;
    fs::create_directories(fs::path(path).parent_path(), error);
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0)
        fail("cannot open the lock file", path);
    bool announced = false;
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            const int saved = errno;
            ::close(fd_);
            fail("cannot lock", path, saved);
        }
        if (!announced && waiting) {
            waiting();
            announced = true;
        }
        if (stop && stop()) {
            ::close(fd_);
            throw Cancelled();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

BlobLock::~BlobLock()
{
    // Closing releases the lock. The file stays: deleting it would race with a process that
    // has just opened it and is about to lock the deleted inode.
    if (fd_ >= 0)
        ::close(fd_);
}

PartialFile::PartialFile(const std::string& path) : path_(path)
{
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0)
        fail("cannot open the partial download", path);
    const off_t end = ::lseek(fd_, 0, SEEK_END);
    if (end < 0)
        fail("cannot read the partial download", path);
    size_ = std::uint64_t(end);
}

PartialFile::~PartialFile()
{
    if (fd_ >= 0)
        ::close(fd_);
}

int PartialFile::append(const char* data, std::size_t size)
{
    while (size > 0) {
        const ssize_t n = ::write(fd_, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int error = n < 0 ? errno : EIO;
            // A short write leaves bytes we did not count: cut the file back to what size_ says,
            // so that its size stays the number of valid bytes.
            if (::ftruncate(fd_, off_t(size_)) == 0)
                ::lseek(fd_, off_t(size_), SEEK_SET);
            return error;
        }
        data += n;
        size -= std::size_t(n);
        size_ += std::uint64_t(n);
    }
    return 0;
}

void PartialFile::truncate()
{
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
        fail("cannot truncate the partial download", path_);
    size_ = 0;
}

void PartialFile::sync()
{
    if (fd_ >= 0)
        ::fsync(fd_);
}

bool PartialFile::readBack(const std::function<bool(const char*, std::size_t)>& chunk) const
{
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail("cannot read the partial download", path_);
    std::vector<char> buffer(4 << 20);
    std::uint64_t left = size_;
    while (left > 0) {
        const ssize_t n = ::read(fd, buffer.data(), std::size_t(std::min<std::uint64_t>(left, buffer.size())));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            const int saved = n < 0 ? errno : EIO;
            ::close(fd);
            fail("cannot read the partial download", path_, saved);
        }
        left -= std::uint64_t(n);
        if (!chunk(buffer.data(), std::size_t(n))) {
            ::close(fd);
            return false;
        }
    }
    ::close(fd);
    return true;
}

void PartialFile::publish(const std::string& blobPath)
{
    if (::fsync(fd_) != 0)
        fail("cannot write the downloaded file to disk", path_);
    ::close(fd_);
    fd_ = -1;
    if (::rename(path_.c_str(), blobPath.c_str()) != 0)
        fail("cannot move the verified download into place", blobPath);
    syncFolder(fs::path(blobPath).parent_path().string());
}

void PartialFile::discard()
{
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());
    size_ = 0;
}

bool symlinksSupported(const std::string& folder)
{
    static std::mutex mutex;
    static std::map<std::string, bool> known;
    std::error_code error;
    const std::string key = fs::weakly_canonical(folder, error).string();
    std::lock_guard<std::mutex> lock(mutex);
    if (const auto it = known.find(key); it != known.end())
        return it->second;
    fs::create_directories(folder, error);
    const std::string probe = (fs::path(folder) / ("symlink-probe" + uniqueSuffix())).string();
    const bool supported = ::symlink("symlink-probe-target", probe.c_str()) == 0;
    ::unlink(probe.c_str());
    known[key] = supported;
    return supported;
}

void linkSnapshotFile(const std::string& repoFolder, const std::string& commit, const std::string& path,
                      const std::string& etag, bool useSymlinks, bool newBlob, std::string* warning)
{
    const fs::path blob = fs::path(repoFolder) / "blobs" / etag;
    const fs::path pointer = fs::path(repoFolder) / "snapshots" / commit / path;
    std::error_code error;
    fs::create_directories(pointer.parent_path(), error);
    if (error)
        throw Error("cannot create the snapshot folder: " + error.message(), pointer.parent_path().string());
    const std::string temporary = pointer.string() + uniqueSuffix();
    if (useSymlinks && symlinksSupported(fs::path(repoFolder).parent_path().string())) {
        // As os.path.relpath(blob, dirname(pointer)): "../../blobs/{etag}" for a top-level file.
        const fs::path target = blob.lexically_relative(pointer.parent_path());
        if (::symlink(target.c_str(), temporary.c_str()) != 0)
            fail("cannot create the snapshot link", pointer.string());
        if (::rename(temporary.c_str(), pointer.c_str()) != 0) {
            const int saved = errno;
            ::unlink(temporary.c_str());
            fail("cannot create the snapshot link", pointer.string(), saved);
        }
        return;
    }
    if (warning)
        *warning = "symlinks are not available in " + fs::path(repoFolder).parent_path().string() +
                   " (or HF_HUB_DISABLE_SYMLINKS is set): files are stored in the snapshot folder itself, which "
                   "takes more disk space when several revisions share a file";
    if (newBlob) {
        if (::rename(blob.c_str(), pointer.c_str()) != 0)
            fail("cannot move the file into the snapshot", pointer.string());
    } else {
        fs::copy_file(blob, temporary, fs::copy_options::overwrite_existing, error);
        if (error || ::rename(temporary.c_str(), pointer.c_str()) != 0) {
            ::unlink(temporary.c_str());
            throw Error("cannot copy the file into the snapshot", pointer.string());
        }
    }
    syncFolder(pointer.parent_path().string());
}

void writeRef(const std::string& repoFolder, const std::string& revision, const std::string& commit)
{
    if (revision == commit)
        return;
    const std::string path = (fs::path(repoFolder) / "refs" / revision).string();
    std::string current;
    if (readSmallFile(path, current, 256) && current == commit)
        return;  // unchanged: do not touch a cache the user may only read
    std::error_code error;
    fs::create_directories(fs::path(path).parent_path(), error);  // "refs/pr/1" is nested
    io::writeFileAtomically(path, commit);
}

std::uint64_t freeBytes(const std::string& folder)
{
    struct statvfs stats {};
    if (::statvfs(folder.c_str(), &stats) != 0)
        return UINT64_MAX;  // unknown: do not refuse on a guess
    return std::uint64_t(stats.f_bavail) * std::uint64_t(stats.f_frsize);
}

}  // namespace querylens::hub
