#pragma once
// What the language model needs of a tokenizer. Implementations: byte-level BPE (OPT,
// bpe_tokenizer.h) and SentencePiece (T5, sentencepiece/sentencepiece_tokenizer.h).

#include <optional>
#include <string>
#include <vector>

namespace querylens::text {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;

    // Token ids of `text`. With addSpecialTokens, the model's conventions apply exactly as the
    // Hugging Face tokenizer of the checkpoint applies them (OPT prepends </s> as BOS; T5
    // appends </s>).
    virtual std::vector<int> encode(const std::string& text, bool addSpecialTokens = true) const = 0;

    // The text of `ids` as valid UTF-8: byte sequences that are not UTF-8 become U+FFFD, as
    // Python's bytes.decode(errors="replace") does. Special tokens are left out when skipSpecialTokens.
    virtual std::string decode(const std::vector<int>& ids, bool skipSpecialTokens = true) const = 0;

    // The raw bytes of `ids` before any UTF-8 repair (for streaming: a character may span tokens).
    virtual std::string decodeBytes(const std::vector<int>& ids, bool skipSpecialTokens = true) const = 0;

    // One token as a person should see it in a chart or a list ("Ġcat" shows as " cat").
    virtual std::string tokenText(int id) const = 0;

    virtual int vocabSize() const = 0;
    virtual bool isSpecial(int id) const = 0;
    virtual std::optional<int> bosId() const = 0;
    virtual std::optional<int> eosId() const = 0;
    virtual std::optional<int> padId() const = 0;
};

}  // namespace querylens::text
