#pragma once
// Text for many images at once: the images' prompts run through the language model side by
// side (one prefill for all, prompts padded; one step per token for every row still going), so
// that the weights are read once per step for the whole batch instead of once per image. Each
// image gets exactly the tokens it gets alone (greedy and beam search; sampling draws from the
// same seeded generator per image).

#include "querylens/decoding_options.h"
#include "querylens/generation.h"
#include "querylens/image_encoding.h"
#include "querylens/session.h"

#include <memory>
#include <string>
#include <vector>

namespace querylens {

class Model;

struct BatchPrompt {
    std::shared_ptr<const ImageEncoding> image;
    std::string prompt;  // as Session::generate takes it (the tokenizer adds its special tokens)
};

// Result i equals model.newSession(prompts[i].image)->generate(prompts[i].prompt, options),
// timings aside. Throws Error when a prompt does not fit the context or an option is invalid
// (run the prompts alone to find which); `cancel` stops every prompt (StopReason::Cancelled).
std::vector<GenerationResult> generateBatch(const Model& model, const std::vector<BatchPrompt>& prompts,
                                            const DecodingOptions& options, const CancelCheck& cancel = {});

}  // namespace querylens
