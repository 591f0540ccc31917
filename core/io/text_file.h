#pragma once
// Writing a small file in one go (configs, tokenizer files, CSV exports).

#include <string>

namespace querylens::io {

// Replaces `path` with `text` atomically (see atomic_file.h); throws Error naming the path
// when it cannot be written.
void writeTextFile(const std::string& path, const std::string& text);

}  // namespace querylens::io
