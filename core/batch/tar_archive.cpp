#include "batch/tar_archive.h"

#include "querylens/error.h"

#include <archive.h>
#include <archive_entry.h>

namespace querylens::batch {

TarReader::TarReader(const std::string& path) : path_(path), archive_(archive_read_new())
{
    if (!archive_)
        throw Error("cannot start reading the archive (out of memory)", path);
    archive_read_support_filter_all(archive_);
    archive_read_support_format_tar(archive_);
    if (archive_read_open_filename(archive_, path.c_str(), 1 << 20) != ARCHIVE_OK) {
        const std::string message = archive_error_string(archive_) ? archive_error_string(archive_) : "unknown error";
        archive_read_free(archive_);
        archive_ = nullptr;
        throw Error("cannot be read as a tar archive: " + message, path);
    }
}

TarReader::~TarReader()
{
    if (archive_)
        archive_read_free(archive_);
}

void TarReader::fail(const std::string& what) const
{
    const char* detail = archive_error_string(archive_);
    throw Error(what + (detail ? std::string(": ") + detail : std::string()), path_);
}

bool TarReader::next()
{
    archive_entry* entry = nullptr;
    while (true) {
        const int status = archive_read_next_header(archive_, &entry);
        if (status == ARCHIVE_EOF)
            return false;
        if (status < ARCHIVE_WARN)
            fail(name_.empty() ? "damaged tar archive" : "damaged tar archive after member " + name_);
        if (archive_entry_filetype(entry) != AE_IFREG)
            continue;
        const char* name = archive_entry_pathname(entry);
        name_ = name ? name : "";
        size_ = archive_entry_size(entry);
        return true;
    }
}

std::string TarReader::read(std::int64_t limit)
{
    if (size_ > limit)
        throw Error(name_ + " is " + std::to_string(size_ >> 20) + " MB, more than an image may be (" +
                        std::to_string(limit >> 20) + " MB)",
                    path_);
    std::string data(std::size_t(size_), '\0');
    std::int64_t done = 0;
    while (done < size_) {
        const la_ssize_t got = archive_read_data(archive_, data.data() + done, std::size_t(size_ - done));
        if (got < 0)
            fail("cannot read member " + name_);
        if (got == 0)
            break;
        done += got;
    }
    if (done != size_)
        throw Error("member " + name_ + " is cut short (" + std::to_string(done) + " of " + std::to_string(size_) +
                        " bytes): the archive is truncated",
                    path_);
    return data;
}

}  // namespace querylens::batch
