#pragma once
// The cache's files on disk, written as huggingface_hub writes them: the per-blob lock, the
// partial (blobs/{etag}.incomplete, appended in order), publishing a verified blob, the
// snapshot's relative symlink (or a moved/copied file where symlinks are unavailable), and refs.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace querylens::hub {

// flock() on .locks/models--org--name/{etag}.lock, held for the object's lifetime. Polls so
// that a waiting download can still be stopped (`stop` true: throws Cancelled); `waiting` is
// called once when another process holds it.
class BlobLock {
public:
    BlobLock(const std::string& path, const std::function<bool()>& stop, const std::function<void()>& waiting);
    ~BlobLock();
    BlobLock(const BlobLock&) = delete;
    BlobLock& operator=(const BlobLock&) = delete;

private:
    int fd_ = -1;
};

// blobs/{etag}.incomplete, opened for appending; size() is the number of valid bytes.
class PartialFile {
public:
    explicit PartialFile(const std::string& path);
    ~PartialFile();
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;

    std::uint64_t size() const { return size_; }
    // Appends; returns 0 on success, else errno (ENOSPC, EDQUOT, EFBIG, EIO...).
    int append(const char* data, std::size_t size);
    void truncate();                  // back to 0 bytes
    void sync();                      // fsync, so that what size() says survives a crash
    // Reads the bytes already there in chunks (to hash them before resuming); `chunk` returns false to stop.
    bool readBack(const std::function<bool(const char*, std::size_t)>& chunk) const;
    // fsync, close and rename to `blobPath` (then fsync the folder).
    void publish(const std::string& blobPath);
    void discard();                   // close and delete
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

// Whether `folder` (the cache) takes symlinks; probed once per folder, as huggingface_hub does.
bool symlinksSupported(const std::string& folder);

// Makes snapshots/{commit}/{path} point at blobs/{etag}: a relative symlink ("../../blobs/…",
// one more "../" per folder of `path`), replaced atomically. Without symlinks, a new blob is
// moved there and an existing one copied (as huggingface_hub does); `warning` then says so.
void linkSnapshotFile(const std::string& repoFolder, const std::string& commit, const std::string& path,
                      const std::string& etag, bool useSymlinks, bool newBlob, std::string* warning);

// refs/{revision} = commit, no newline, atomically and only when it changes.
void writeRef(const std::string& repoFolder, const std::string& revision, const std::string& commit);

// Free bytes for an unprivileged user on the file system holding `folder` (statvfs).
std::uint64_t freeBytes(const std::string& folder);

}  // namespace querylens::hub
