#pragma once
// A read-only memory map of a whole file. Weights are used straight from the map when
// their dtype matches the precision asked for, so a checkpoint is never copied twice.

#include <cstddef>
#include <string>

namespace querylens::io {

class MappedFile {
public:
    // Throws Error naming the path when the file cannot be opened or mapped.
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const std::byte* data() const { return data_; }
    std::size_t size() const { return size_; }
    const std::string& path() const { return path_; }

    // Tells the kernel that [offset, offset + length) will not be read again (the bytes were
    // converted to another precision), so those pages can leave the resident set.
    void dropPages(std::size_t offset, std::size_t length) const;
    // Reads [offset, offset + length) into memory now, so that weights used in place are resident
    // when loading ends (and loading's progress is the disk's) rather than on the first caption.
    void prefault(std::size_t offset, std::size_t length) const;

private:
    std::string path_;
    std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace querylens::io
