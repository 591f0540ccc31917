#pragma once
// What is kept of each generated token for the window's charts: its probability under the
// model, the most probable alternatives, and where its position looked among the queries.

#include "querylens/generation.h"
#include "text/tokenizer.h"

#include <ATen/ATen.h>

namespace querylens::generate {

// logits [vocab] (the model's raw logits for this step), queryAttention [Q] or undefined.
// The probability is the softmax of the raw logits: the model's own belief, before any
// penalty or sampling warper changed the scores.
GeneratedToken describeToken(int id, const at::Tensor& logits, const at::Tensor& queryAttention,
                             const text::Tokenizer& tokenizer, int alternatives);

}  // namespace querylens::generate
