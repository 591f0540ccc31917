#include "pipeline/tokenizer_loader.h"

#include "querylens/error.h"
#include "text/bpe_tokenizer.h"
#include "text/sentencepiece/sentencepiece_tokenizer.h"

namespace querylens {

std::unique_ptr<text::Tokenizer> loadTokenizer(const std::string& folder, const std::string& textModelType)
{
    if (textModelType == "t5")
        return text::SentencePieceTokenizer::fromFolder(folder);
    return text::BpeTokenizer::fromFolder(folder, text::BpeConventions{});
}

}  // namespace querylens
