#include "pipeline/tokenizer_loader.h"

#include "querylens/error.h"
#include "text/bpe_tokenizer.h"

namespace querylens {

std::unique_ptr<text::Tokenizer> loadTokenizer(const std::string& folder, const std::string& textModelType)
{
    if (textModelType == "t5")
        throw Error("Flan-T5 checkpoints need the SentencePiece tokenizer, which this build does not have yet", folder);
    return text::BpeTokenizer::fromFolder(folder, text::BpeConventions{});
}

}  // namespace querylens
