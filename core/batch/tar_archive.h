#pragma once
// A tar archive read from start to end, one member at a time, with libarchive: plain or
// compressed (gzip, bzip2, xz, zstd: libarchive recognises the filter), never unpacked.

#include <cstdint>
#include <string>

struct archive;

namespace querylens::batch {

class TarReader {
public:
    // Throws Error naming the file when it cannot be opened as an archive.
    explicit TarReader(const std::string& path);
    ~TarReader();
    TarReader(const TarReader&) = delete;
    TarReader& operator=(const TarReader&) = delete;

    // Moves to the next regular file member (folders, links and the like are passed over);
    // false at the end. Throws Error naming the archive when it is damaged.
    bool next();
    const std::string& name() const { return name_; }
    std::int64_t size() const { return size_; }
    // The current member's bytes. Throws Error for a member larger than `limit` or a damaged one.
    std::string read(std::int64_t limit);

    const std::string& path() const { return path_; }

private:
    [[noreturn]] void fail(const std::string& what) const;

    std::string path_;
    archive* archive_ = nullptr;
    std::string name_;
    std::int64_t size_ = 0;
};

}  // namespace querylens::batch
