#pragma once
// Trains a GPT-2 style byte-level BPE on a few sentences, for the demo model the program
// writes itself. OPT's layout: <s>=0, <pad>=1, </s>=2, <unk>=3, the 256 byte symbols, then
// one token per merge in merge order.

#include <string>
#include <utility>
#include <vector>

namespace querylens::text {

struct BpeVocabulary {
    std::vector<std::string> tokens;                          // by id
    std::vector<std::pair<std::string, std::string>> merges;  // by priority
};

// Deterministic: the most frequent pair merges first, ties to the smallest pair. Stops at
// `vocabSize` tokens or when no pair occurs twice.
BpeVocabulary trainBpe(const std::vector<std::string>& corpus, int vocabSize);

// vocab.json, merges.txt, special_tokens_map.json and tokenizer_config.json, as Hugging Face
// writes them for OPT. Throws Error naming the file that cannot be written.
void writeBpeTokenizer(const std::string& dir, const BpeVocabulary& vocabulary);

}  // namespace querylens::text
