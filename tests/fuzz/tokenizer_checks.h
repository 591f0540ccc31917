#pragma once
// Properties every tokenizer keeps on any text: ids in range, decoded text valid UTF-8, and
// token texts for every id (including ones past the vocabulary) without failing.

#include "fuzz_support.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

#include <string>
#include <vector>

namespace fuzzsupport {

inline bool validUtf8(const std::string& text)
{
    for (std::size_t pos = 0; pos < text.size();) {
        const auto step = querylens::text::decodeUtf8(text, pos);
        if (!step.valid)
            return false;
        pos += std::size_t(step.length);
    }
    return true;
}

// Ids made from the input bytes (two bytes each, some beyond the vocabulary or negative), as a
// resized embedding table or a hostile session file can produce them.
inline std::vector<int> idsFromBytes(const std::string& bytes, int vocabSize)
{
    std::vector<int> ids;
    for (std::size_t i = 0; i + 1 < bytes.size() && ids.size() < 256; i += 2) {
        const int raw = (static_cast<unsigned char>(bytes[i]) << 8) | static_cast<unsigned char>(bytes[i + 1]);
        ids.push_back(raw % (vocabSize + 8) - 4);
    }
    return ids;
}

inline std::vector<int> checkEncoding(const querylens::text::Tokenizer& tokenizer, const std::string& text)
{
    const int vocab = tokenizer.vocabSize();
    std::vector<int> ids = tokenizer.encode(text, true);
    for (int id : ids)
        FUZZ_CHECK(id >= 0 && id < vocab, "id " + std::to_string(id) + " of a vocabulary of " + std::to_string(vocab));
    FUZZ_CHECK(validUtf8(tokenizer.decode(ids, true)), "decode() is not UTF-8");
    FUZZ_CHECK(validUtf8(tokenizer.decode(ids, false)), "decode() is not UTF-8");
    for (int id : ids)
        tokenizer.tokenText(id);
    const std::vector<int> arbitrary = idsFromBytes(text, vocab);
    FUZZ_CHECK(validUtf8(tokenizer.decode(arbitrary, false)), "decode() of arbitrary ids is not UTF-8");
    tokenizer.decodeBytes(arbitrary, true);
    for (int id : arbitrary) {
        tokenizer.tokenText(id);
        tokenizer.isSpecial(id);
    }
    return ids;
}

}  // namespace fuzzsupport
