#pragma once
// What a loaded Model holds, shared by the pipeline's source files.

#include "model/blip2.h"
#include "querylens/image_encoding.h"
#include "querylens/model.h"
#include "text/tokenizer.h"
#include "image/image_preprocessor.h"

#include <ATen/ATen.h>

#include <memory>
#include <vector>

namespace querylens {

struct Model::Impl {
    std::unique_ptr<model::Blip2Model> blip2;
    std::unique_ptr<text::Tokenizer> tokenizer;
    image::PreprocessorConfig preprocessor;
    ModelInfo info;
    std::vector<int> eosIds;
    int padId = 0;
    std::vector<int> historyPrefix;  // see generate::GenerationContext::historyPrefix
    std::string captionPrompt;
};

struct ImageEncoding::Tensors {
    at::Tensor queryOutputs;  // [1, Q, qformer hidden]
    at::Tensor softPrompt;    // [1, Q, language hidden]: language_projection(queryOutputs)
};

}  // namespace querylens
