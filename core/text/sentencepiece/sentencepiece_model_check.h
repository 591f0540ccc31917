#pragma once
// What libsentencepiece (0.1.97, Debian 12) trusts in a spiece.model and must not be handed
// unchecked: its parser accepts any well-formed protobuf, and then
//  - the normalizer's table (precompiled_charsmap: a darts-clone double-array trie followed by
//    NUL-terminated replacement strings) is walked without bounds: a child offset past the
//    trie, a replacement at an offset past the strings (strlen on it: the SEGV the fuzzer
//    found), or more than 32 matches along one input (a stack array of 32) reads wild memory;
//  - a piece with a NUL byte reaches darts-clone as a C string, which throws through Load
//    (a zero-length key) and so ends the process.
// Checked for the normalizer and the denormalizer, before the plugin loads the file.

#include <string>
#include <string_view>

namespace querylens::text {

// Throws Error naming `path` when `bytes` (the whole spiece.model) is not a protobuf, or has
// a piece or a normalization table libsentencepiece would crash on.
void checkSentencePieceModel(std::string_view bytes, const std::string& path);

}  // namespace querylens::text
