// Any bytes through the tiny-opt fixture's byte-level BPE: every byte string encodes, and
// decoding gives back exactly the same bytes (BpeTokenizer's promise), with OPT's BOS in front.

#include "fixture_files.h"
#include "fuzz_support.h"
#include "text/bpe_tokenizer.h"
#include "tokenizer_checks.h"

QUERYLENS_FUZZ_TARGET(bpe_text)
{
    using querylens::text::BpeTokenizer;
    static const auto tokenizer = BpeTokenizer::fromFolder(fuzzfixtures::path("tiny-opt"), {});
    const std::string text(reinterpret_cast<const char*>(data), size);
    const std::vector<int> ids = fuzzsupport::checkEncoding(*tokenizer, text);
    FUZZ_CHECK(!ids.empty() && ids.front() == 2, "OPT's </s> BOS is not first");
    const std::vector<int> plain = tokenizer->encode(text, false);
    FUZZ_CHECK(tokenizer->decodeBytes(plain, false) == text, "decode(encode(text)) differs from the text");
    FUZZ_CHECK(tokenizer->decode(plain, false) == querylens::text::repairUtf8(text), "decode() is not the repaired text");
    return 0;
}
