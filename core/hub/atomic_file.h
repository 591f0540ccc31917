#pragma once
// Small files that other processes read while we write them (refs, QueryLens's download notes):
// written to a temporary file beside the target, fsync()ed, renamed over it, and the folder
// fsync()ed, so a reader sees the old content or the new one, never a torn one.

#include <string>

namespace querylens::hub {

// Throws querylens::Error naming `path` when any step fails.
void writeFileAtomically(const std::string& path, const std::string& content);

// The file's content, or nullopt-like empty with `ok` false when it cannot be read; at most
// `limit` bytes (a ref or a note is tiny: a larger file is not ours).
bool readSmallFile(const std::string& path, std::string& content, std::size_t limit = 1 << 20);

// An environment variable's value, "" when unset (huggingface_hub treats both alike).
std::string environmentValue(const char* name);

// fsync() of a folder, so that a rename inside it survives a crash. Errors are ignored (some
// file systems refuse it; the rename itself already happened).
void syncFolder(const std::string& folder);

}  // namespace querylens::hub
