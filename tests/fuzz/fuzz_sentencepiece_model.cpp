// A spiece.model from the input (parts: the model file, then a text): libsentencepiece either
// refuses it with a message or gives a tokenizer that encodes the text within its pieces.

#include "fuzz_support.h"
#include "querylens/error.h"
#include "sentencepiece_direct.h"
#include "tokenizer_checks.h"

QUERYLENS_FUZZ_TARGET(sentencepiece_model)
{
    static const fuzzsupport::Scratch scratch("sentencepiece_model");
    const auto parts = fuzzsupport::splitParts(data, size, 2);
    const std::string path = scratch.write("spiece.model", parts[0]);
    try {
        const auto tokenizer = fuzzsupport::sentencePieceFromFile(path);
        fuzzsupport::checkEncoding(*tokenizer, parts[1]);
    } catch (const querylens::Error&) {
    }
    return 0;
}
