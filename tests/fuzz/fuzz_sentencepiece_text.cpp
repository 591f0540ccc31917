// Any bytes through the tiny-t5 fixture's SentencePiece model: ids within the pieces, T5's
// </s> appended, decoded text valid UTF-8, arbitrary ids (past the pieces too) decoded safely.

#include "fixture_files.h"
#include "fuzz_support.h"
#include "sentencepiece_direct.h"
#include "tokenizer_checks.h"

QUERYLENS_FUZZ_TARGET(sentencepiece_text)
{
    static const auto tokenizer = fuzzsupport::sentencePieceFromFile(fuzzfixtures::path("tiny-t5/spiece.model"));
    const std::string text(reinterpret_cast<const char*>(data), size);
    const std::vector<int> ids = fuzzsupport::checkEncoding(*tokenizer, text);
    FUZZ_CHECK(!ids.empty() && ids.back() == 1, "T5's </s> is not last");
    return 0;
}
