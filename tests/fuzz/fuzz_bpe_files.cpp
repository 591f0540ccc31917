// The byte-level BPE tokenizer's files from the input (parts: vocab.json, merges.txt,
// added_tokens.json, tokenizer.json, then a text to encode): loading checks them, and a
// tokenizer that loads encodes and decodes any text within its vocabulary.

#include "fuzz_support.h"
#include "querylens/error.h"
#include "text/bpe_tokenizer.h"
#include "tokenizer_checks.h"

QUERYLENS_FUZZ_TARGET(bpe_files)
{
    const auto parts = fuzzsupport::splitParts(data, size, 5);
    static const fuzzsupport::Scratch scratch("bpe_files");
    scratch.clear();
    const char* names[] = {"vocab.json", "merges.txt", "added_tokens.json", "tokenizer.json"};
    for (std::size_t i = 0; i < 4; ++i)
        if (!parts[i].empty())
            scratch.write(names[i], parts[i]);
    try {
        const auto tokenizer = querylens::text::BpeTokenizer::fromFolder(scratch.folder(), {});
        fuzzsupport::checkEncoding(*tokenizer, parts[4]);
    } catch (const querylens::Error&) {
    }
    return 0;
}
