#pragma once
// The decoding loop over a language model: greedy, multinomial sampling, or beam search, with
// the logits processors of DecodingOptions, streaming, cancellation and timings; for one input,
// or for a batch of inputs decoded side by side (each giving the tokens it gives alone).

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

// One input of a batch: an image's soft prompt and the prompt that follows it.
struct BatchInput {
    at::Tensor queries;               // [1, Q, hidden]; Q is the same for every input of a batch
    std::vector<int> queryIndices;
    std::vector<int> promptIds;
};

struct BatchContext {
    const model::LanguageModel* model = nullptr;
    model::LanguageModelState* state = nullptr;  // a fresh state: the batch's rows fill it
    const text::Tokenizer* tokenizer = nullptr;
    std::vector<BatchInput> inputs;
    std::vector<int> eosIds;
    int padId = 0;
    std::vector<int> historyPrefix;
    std::function<bool()> cancelRequested;  // stops every input of the batch
};

// Throws Error naming the option when a value is out of range or the combination is not one
// Hugging Face's generate() accepts.
void validate(const DecodingOptions& options);

GenerationResult generate(const GenerationContext& context, const DecodingOptions& options,
                          const TokenCallback& onToken = {}, const ProgressCallback& prefillProgress = {});

// Decodes every input together: one prefill for all (prompts padded), then one model step per
// token for all rows still going (each input's beams or samples; an input leaves the batch when
// it ends). Result i is what generate() gives input i alone: greedy and beam search pick the
// same tokens, sampling draws from the same seeded generator per input. Throws Error when an
// input's prompt does not fit the context (which input: run them alone to find out).
std::vector<GenerationResult> generateBatch(const BatchContext& context, const DecodingOptions& options);

}  // namespace querylens::generate
