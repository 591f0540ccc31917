#include "io/mapped_file.h"

#include "querylens/error.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace querylens::io {

MappedFile::MappedFile(const std::string& path) : path_(path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(std::string("cannot open: ") + std::strerror(errno), path);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error("not a regular file", path);
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
        void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            const int err = errno;
            ::close(fd);
            throw Error(std::string("cannot map into memory: ") + std::strerror(err), path);
        }
        data_ = static_cast<std::byte*>(p);
    }
    ::close(fd);  // the mapping keeps the file alive
}

MappedFile::~MappedFile()
{
    if (data_)
        ::munmap(data_, size_);
}

void MappedFile::dropPages(std::size_t offset, std::size_t length) const
{
    if (!data_ || length == 0)
        return;
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    // Only whole pages inside the range: a page shared with a neighbouring tensor may still be needed.
    const std::size_t begin = (offset + page - 1) / page * page;
    const std::size_t end = (offset + length) / page * page;
    if (end > begin)
        ::madvise(data_ + begin, end - begin, MADV_DONTNEED);
}

}  // namespace querylens::io

namespace querylens::io {

void MappedFile::prefault(std::size_t offset, std::size_t length) const
{
    if (!data_ || length == 0 || offset >= size_)
        return;
    length = std::min(length, size_ - offset);
#ifdef MADV_POPULATE_READ
    const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t begin = offset / page * page;
    if (::madvise(data_ + begin, offset + length - begin, MADV_POPULATE_READ) == 0)
        return;
#endif
    // Kernels before 5.14: touch one byte per page.
    volatile std::uint8_t sink = 0;
    for (std::size_t i = 0; i < length; i += 4096)
        sink = sink ^ std::uint8_t(data_[offset + i]);
    (void)sink;
}

}  // namespace querylens::io
