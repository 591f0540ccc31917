#pragma once
// Unicode character classes for the GPT-2 pre-tokenizer, as sorted code point ranges
// (generated into unicode_tables.cpp by tools/generate_unicode_tables.py).

#include <cstddef>
#include <cstdint>

namespace querylens::text {

struct CodepointRange {
    std::uint32_t first;
    std::uint32_t last;
};

namespace tables {
extern const CodepointRange kLetters[];   // \p{L}: categories Lu Ll Lt Lm Lo
extern const std::size_t kLettersCount;
extern const CodepointRange kNumbers[];   // \p{N}: Nd Nl No
extern const std::size_t kNumbersCount;
extern const CodepointRange kSpaces[];    // \s: White_Space
extern const std::size_t kSpacesCount;
}  // namespace tables

bool isLetter(std::uint32_t codepoint);
bool isNumber(std::uint32_t codepoint);
bool isSpace(std::uint32_t codepoint);

}  // namespace querylens::text
