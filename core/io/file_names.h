#pragma once
// Limits of file names that input (an index's shard names, a Hub repository's paths) must meet
// before any file system call sees them: past these, the calls fail rather than answer.

#include <cstddef>

namespace querylens::io {

inline constexpr std::size_t kMaxFileNameBytes = 255;  // NAME_MAX of Linux file systems, per path segment

}  // namespace querylens::io
