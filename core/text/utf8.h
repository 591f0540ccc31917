#pragma once
// UTF-8 as tokenizers meet it: byte strings that may be cut mid-character or hold invalid bytes.

#include <cstdint>
#include <string>

namespace querylens::text {

// One step of decoding: the code point at `bytes[pos]` and its length in bytes. An invalid or
// truncated sequence decodes as one "character" of `length` bytes with `valid` false: length
// is the maximal subpart (Unicode's rule, as Python's errors="replace" uses it).
struct Utf8Step {
    std::uint32_t codepoint = 0;
    int length = 1;
    bool valid = true;
};
Utf8Step decodeUtf8(const std::string& bytes, std::size_t pos);

void appendUtf8(std::string& out, std::uint32_t codepoint);

// `bytes` with every invalid sequence replaced by U+FFFD, exactly as Python's
// bytes.decode("utf-8", errors="replace") does.
std::string repairUtf8(const std::string& bytes);

// Length of the longest prefix of `bytes` that does not end inside a character that more
// bytes could still complete (for streaming text token by token).
std::size_t completeUtf8Prefix(const std::string& bytes);

}  // namespace querylens::text
