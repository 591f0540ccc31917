#pragma once
// What a loaded Model holds, shared by the pipeline's source files.

#include "model/blip2.h"
#include "querylens/image_encoding.h"
#include "querylens/model.h"
#include "text/tokenizer.h"
#include "text/wordpiece_tokenizer.h"
#include "image/image_preprocessor.h"

#include <ATen/ATen.h>

#include <memory>
#include <vector>

namespace querylens {

struct Model::Impl {
    std::unique_ptr<model::Blip2Model> blip2;
    std::unique_ptr<text::Tokenizer> tokenizer;      // the language model's, or the Q-Former's WordPiece
    const text::WordPieceTokenizer* wordPiece = nullptr;  // matching models: `tokenizer` as WordPiece
    int maxTextTokens = 0;                          // matching models: ids a text may have, specials included
    image::PreprocessorConfig preprocessor;
    ModelInfo info;
    std::vector<int> eosIds;
    int padId = 0;
    std::vector<int> historyPrefix;  // see generate::GenerationContext::historyPrefix
    std::string captionPrompt;
};

struct ImageEncoding::Tensors {
    at::Tensor pixelValues;   // [1, 3, size, size]: the preprocessed image (faithfulness curves perturb it)
    at::Tensor visionHidden;  // [1, tokens, vision hidden]: what the Q-Former cross-attends to
    at::Tensor queryOutputs;  // [1, Q, qformer hidden]
    at::Tensor softPrompt;    // [1, Q, language hidden]: language_projection(queryOutputs); undefined for matching models
    at::Tensor imageEmbeds;   // [1, Q, D]: matching models' ITC embeddings (unit rows); else undefined
};

}  // namespace querylens
