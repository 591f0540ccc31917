#pragma once
// A SentencePiece tokenizer made in this process from the plugin's own factory (its code is
// linked into these executables, which have no libtorch: see sentencepiece_backend.h), so
// that the model file and the text take the program's input path without dlopen.

#include "querylens/error.h"
#include "text/sentencepiece/sentencepiece_backend.h"
#include "text/sentencepiece/sentencepiece_tokenizer.h"

#include <memory>
#include <string>

namespace fuzzsupport {

inline std::unique_ptr<querylens::text::SentencePieceTokenizer> sentencePieceFromFile(const std::string& path)
{
    std::string error;
    std::unique_ptr<querylens::text::SentencePieceBackend> backend(querylens_sentencepiece_create(path.c_str(), &error));
    if (!backend)
        throw querylens::Error("not a readable SentencePiece model (" + error + ")", path);
    return querylens::text::SentencePieceTokenizer::fromBackend(std::move(backend));
}

}  // namespace fuzzsupport
