#pragma once
// Files the user keeps are replaced atomically: a kill at any moment leaves either the old
// file or the new one on disk, never a torn mix.

#include <string>

namespace querylens::io {

// Writes `data` to a temporary file beside `path`, flushes it to disk (fsync), and renames it
// over `path`; then syncs the folder so that the rename itself survives a power loss. With
// `keepBackup`, the file being replaced stays as `path + ".bak"` (a hard link made before the
// rename, so `path` exists at every moment). Throws Error naming the path when it cannot.
void writeFileAtomically(const std::string& path, const std::string& data, bool keepBackup = false);

}  // namespace querylens::io
