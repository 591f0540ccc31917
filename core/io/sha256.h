#pragma once
// SHA-256 of a file's bytes, as `sha256sum` prints it: how sessions recognise their image.

#include <string>

namespace querylens::io {

// 64 lower-case hex digits. Throws Error naming the path when the file cannot be read.
std::string sha256OfFile(const std::string& path);
std::string sha256OfBytes(const std::string& bytes);

}  // namespace querylens::io
