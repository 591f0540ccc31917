#pragma once
// Small reads of the cache and the environment that every part of the Hub code shares. (Writes
// of small files go through io::writeFileAtomically.)

#include <cstddef>
#include <string>

namespace querylens::hub {

// Reads a whole small file into `content`; false when it cannot be read or is longer than
// `limit` bytes (a ref or a note is tiny: a larger file is not ours).
bool readSmallFile(const std::string& path, std::string& content, std::size_t limit = 1 << 20);

// An environment variable's value, "" when unset (huggingface_hub treats both alike).
std::string environmentValue(const char* name);

// fsync() of a folder, so that a rename inside it survives a crash. Errors are ignored (some
// file systems refuse it; the rename itself already happened).
void syncFolder(const std::string& folder);

}  // namespace querylens::hub
