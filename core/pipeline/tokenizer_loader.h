#pragma once
// The tokenizer a checkpoint folder calls for: byte-level BPE for OPT, SentencePiece for T5.

#include "text/tokenizer.h"

#include <memory>
#include <string>

namespace querylens {

// Throws Error naming the folder and the missing or broken file.
std::unique_ptr<text::Tokenizer> loadTokenizer(const std::string& folder, const std::string& textModelType);

}  // namespace querylens
