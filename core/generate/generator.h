#pragma once
// The decoding loop over a language model: greedy, multinomial sampling, or beam search, with
// the logits processors of DecodingOptions, streaming, cancellation and timings.

#include "model/language_model.h"
#include "querylens/decoding_options.h"
#include "querylens/generation.h"
#include "text/tokenizer.h"

#include <functional>
#include <vector>

namespace querylens::generate {

struct GenerationContext {
    const model::LanguageModel* model = nullptr;
    model::LanguageModelState* state = nullptr;
    const text::Tokenizer* tokenizer = nullptr;
    at::Tensor queries;               // [1, Q, hidden]: the soft prompt (ablated queries removed)
    std::vector<int> queryIndices;    // which queries `queries` holds
    std::vector<int> promptIds;       // the text prompt's ids (with the tokenizer's specials)
    std::vector<int> eosIds;
    int padId = 0;
    // What Hugging Face's input_ids start with during generation, seen by the repetition and
    // n-gram processors: nothing for OPT (its prompt goes in as embeddings); the decoder start
    // token for T5.
    std::vector<int> historyPrefix;
    // Checked before every step; true stops generation with StopReason::Cancelled.
    std::function<bool()> cancelRequested;
};

// Throws Error naming the option when a value is out of range or the combination is not one
// Hugging Face's generate() accepts.
void validate(const DecodingOptions& options);

GenerationResult generate(const GenerationContext& context, const DecodingOptions& options,
                          const TokenCallback& onToken = {}, const ProgressCallback& prefillProgress = {});

}  // namespace querylens::generate
