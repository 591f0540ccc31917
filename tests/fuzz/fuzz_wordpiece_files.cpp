// The Q-Former's WordPiece tokenizer files from the input (parts: vocab.txt,
// tokenizer_config.json, special_tokens_map.json, added_tokens.json, then a text): loading
// checks them, and a tokenizer that loads encodes any text into pieces of its vocabulary, each
// piece pointing at a word of the text, truncated to the length asked for.

#include "fuzz_support.h"
#include "querylens/error.h"
#include "text/wordpiece_tokenizer.h"
#include "tokenizer_checks.h"

namespace fuzzsupport {

inline void checkWordPieces(const querylens::text::WordPieceTokenizer& tokenizer, const std::string& text)
{
    checkEncoding(tokenizer, text);
    const int maxLength = text.empty() ? 0 : static_cast<unsigned char>(text[0]) % 40;
    const auto encoding = tokenizer.encodeText(text, true, maxLength);
    if (maxLength > 0)
        FUZZ_CHECK(int(encoding.pieces.size()) <= maxLength, "longer than the maximum length");
    if (!encoding.truncated && !encoding.pieces.empty()) {
        FUZZ_CHECK(encoding.pieces.front().id == tokenizer.clsId(), "[CLS] is not first");
        FUZZ_CHECK(encoding.pieces.back().id == tokenizer.sepId(), "[SEP] is not last");
    }
    for (const auto& piece : encoding.pieces) {
        FUZZ_CHECK(piece.id >= 0 && piece.id < tokenizer.vocabSize(), "piece id out of range");
        FUZZ_CHECK(piece.word >= -1 && piece.word < int(encoding.words.size()), "piece of no word");
    }
}

}  // namespace fuzzsupport

QUERYLENS_FUZZ_TARGET(wordpiece_files)
{
    const auto parts = fuzzsupport::splitParts(data, size, 5);
    static const fuzzsupport::Scratch scratch("wordpiece_files");
    scratch.clear();
    const char* names[] = {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json"};
    for (std::size_t i = 0; i < 4; ++i)
        if (!parts[i].empty())
            scratch.write(names[i], parts[i]);
    try {
        const auto tokenizer = querylens::text::WordPieceTokenizer::fromFolder(scratch.folder());
        fuzzsupport::checkWordPieces(*tokenizer, parts[4]);
    } catch (const querylens::Error&) {
    }
    return 0;
}
