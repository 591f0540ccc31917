// Any bytes through the tiny-itm fixture's WordPiece tokenizer (BERT's basic tokenisation with
// ICU, then greedy longest-match pieces): see fuzz_wordpiece_files.cpp for what is checked.

#include "fixture_files.h"
#include "fuzz_support.h"
#include "text/wordpiece_tokenizer.h"
#include "tokenizer_checks.h"

QUERYLENS_FUZZ_TARGET(wordpiece_text)
{
    using querylens::text::WordPieceTokenizer;
    static const auto tokenizer = WordPieceTokenizer::fromFolder(fuzzfixtures::path("tiny-itm"));
    const std::string text(reinterpret_cast<const char*>(data), size);
    fuzzsupport::checkEncoding(*tokenizer, text);
    const auto encoding = tokenizer->encodeText(text, true, 512);
    FUZZ_CHECK(encoding.pieces.size() <= 512, "longer than 512");
    FUZZ_CHECK(encoding.pieces.front().id == tokenizer->clsId(), "[CLS] is not first");
    FUZZ_CHECK(encoding.pieces.back().id == tokenizer->sepId(), "[SEP] is not last");
    for (const auto& piece : encoding.pieces)
        FUZZ_CHECK(piece.word >= -1 && piece.word < int(encoding.words.size()), "piece of no word");
    return 0;
}
