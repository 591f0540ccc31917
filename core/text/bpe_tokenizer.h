#pragma once
// GPT-2 byte-level BPE, as OPT (and so BLIP-2 OPT) uses it: vocab.json + merges.txt, or the
// same inside tokenizer.json; added tokens (added_tokens.json, e.g. the late-2024 "<image>")
// are matched whole before pre-tokenisation. Every byte string encodes (byte-level), and
// decode(encode(s)) == s for any s.

#include "text/tokenizer.h"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace querylens::text {

struct BpeConventions {
    bool prependBos = true;  // OPT: "</s>" (id 2) goes before the text as BOS
};

class BpeTokenizer : public Tokenizer {
public:
    // Throws Error naming the file and the problem (missing vocab.json, bad JSON, a merge of
    // unknown symbols, ...).
    static std::unique_ptr<BpeTokenizer> fromFolder(const std::string& dir, BpeConventions conventions);
    // From parts in memory (the trainer and tests); `source` is named in errors.
    BpeTokenizer(std::unordered_map<std::string, int> vocab, const std::vector<std::pair<std::string, std::string>>& merges,
                 std::map<std::string, int> addedTokens, BpeConventions conventions, const std::string& source);

    std::vector<int> encode(const std::string& text, bool addSpecialTokens = true) const override;
    std::string decode(const std::vector<int>& ids, bool skipSpecialTokens = true) const override;
    std::string decodeBytes(const std::vector<int>& ids, bool skipSpecialTokens = true) const override;
    std::string tokenText(int id) const override;
    int vocabSize() const override { return int(idToToken_.size()); }
    bool isSpecial(int id) const override;
    std::optional<int> bosId() const override { return bos_; }
    std::optional<int> eosId() const override { return eos_; }
    std::optional<int> padId() const override { return pad_; }

private:
    void encodeWord(const std::string& word, std::vector<int>& out) const;
    std::vector<int> bpe(const std::string& word) const;  // one pre-tokenised word's bytes
    static std::uint64_t pairKey(int a, int b) { return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b); }
    std::optional<int> find(const std::string& token) const;

    std::unordered_map<std::string, int> vocab_;
    std::vector<std::string> idToToken_;                    // by id; "" where no token has the id
    std::unordered_map<std::uint64_t, std::pair<int, int>> mergeRanks_;  // pairKey(a, b) -> {rank, id of ab}
    std::array<int, 256> byteIds_{};                                      // the id of each byte's symbol
    std::vector<std::pair<std::string, int>> addedTokens_;  // longest first
    std::vector<bool> special_;
    BpeConventions conventions_;
    std::optional<int> bos_, eos_, pad_, unk_;
    mutable std::mutex cacheMutex_;
    mutable std::unordered_map<std::string, std::vector<int>> cache_;
};

// GPT-2's reversible map of the 256 byte values to printable characters (as UTF-8 strings).
const std::vector<std::string>& byteToSymbol();

}  // namespace querylens::text
