#pragma once
// Turns a growing list of token ids into text deltas that are always whole UTF-8 characters:
// byte-level BPE can split one character (an emoji, a CJK glyph) across tokens, and a window
// must never show half of one.

#include "text/tokenizer.h"

#include <string>
#include <vector>

namespace querylens::generate {

class TextStream {
public:
    explicit TextStream(const text::Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

    // Adds a token and returns the text that became complete.
    std::string push(int id);
    // The rest, with an unfinished character at the end shown as U+FFFD.
    std::string finish();

private:
    const text::Tokenizer& tokenizer_;
    std::vector<int> ids_;
    std::size_t emitted_ = 0;  // bytes of repaired text already returned
};

}  // namespace querylens::generate
