#pragma once
// GPT-2's pre-tokenizer: the text split into the pieces its regex finds,
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// written out by hand (same alternatives, same order, same backtracking). Bytes that are not
// UTF-8 count as symbols (neither letter, number nor space), so any byte string splits.

#include <string>
#include <vector>

namespace querylens::text {

std::vector<std::string> gpt2Pretokenize(const std::string& text);

}  // namespace querylens::text
