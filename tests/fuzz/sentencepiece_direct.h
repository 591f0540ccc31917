#pragma once
// A SentencePiece tokenizer made in this process from the plugin's own factory (its code is
// linked into these executables, which have no libtorch: see sentencepiece_backend.h), so
// that the model file and the text take the program's input path (size limit, the checks of
// sentencepiece_model_check.h, the library's parser) without dlopen.

#include "text/sentencepiece/sentencepiece_backend.h"
#include "text/sentencepiece/sentencepiece_tokenizer.h"

#include <memory>
#include <string>

namespace fuzzsupport {

inline std::unique_ptr<querylens::text::SentencePieceTokenizer> sentencePieceFromFile(const std::string& path)
{
    return querylens::text::SentencePieceTokenizer::fromModelFile(path, querylens_sentencepiece_create);
}

}  // namespace fuzzsupport
