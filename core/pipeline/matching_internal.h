#pragma once
// What matching, localisation and search share inside the pipeline: the matching heads of a
// loaded model (or the Error that says it has none), and texts as padded id batches.

#include "model/image_text_matching.h"
#include "querylens/model.h"
#include "text/wordpiece_tokenizer.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace querylens::matching {

// Throws Error (capabilitySummary) when the model has no matching heads.
const model::ImageTextHeads& heads(const Model& model);

// [CLS] pieces [SEP], truncated to what the Q-Former and the processor accept.
text::WordPieceEncoding tokenize(const Model& model, const std::string& text);

struct TextBatch {
    at::Tensor ids;   // [T, L] int64, right-padded with [PAD]
    at::Tensor mask;  // [T, L] int64: 1 token, 0 padding
};
TextBatch batch(const Model& model, const std::vector<text::WordPieceEncoding>& texts);

}  // namespace querylens::matching
