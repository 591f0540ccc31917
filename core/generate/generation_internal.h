#pragma once
// Pieces shared by the two decoding loops (sampling_search.cpp, beam_search.cpp).

#include "generate/generator.h"
#include "generate/logits_processors.h"

#include <chrono>

namespace querylens::generate {

using Clock = std::chrono::steady_clock;

inline double millisecondsSince(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The new tokens an input has room for: OPT's learned positions end at maxPositions.
// Sets `limitedByContext` when that, not the option, is the limit.
int tokenBudget(const model::LanguageModel& model, const BatchInput& input, const DecodingOptions& options,
                bool& limitedByContext);

// Runs the inputs' prompts: prefill() for one input (which can reuse the state's cached
// prefix), prefillBatch() for several. Returns logits [inputs, vocab].
model::StepOutput prefillInputs(const BatchContext& context, const ProgressCallback& progress);

// Which rows of the language model's state belong to which input while a batch decodes: the
// active inputs in row order, each with the same number of rows (1, its samples or its beams).
class ActiveInputs {
public:
    ActiveInputs(std::size_t inputs, int rowsPerInput);
    const std::vector<std::size_t>& inputs() const { return inputs_; }
    bool empty() const { return inputs_.empty(); }
    int rowsPerInput() const { return rowsPerInput_; }
    std::int64_t firstRow(std::size_t slot) const { return std::int64_t(slot) * rowsPerInput_; }
    // Drops the inputs whose `finished` flag is set; returns the rows that stay (undefined when
    // every row stays), for LanguageModelState::selectRows.
    at::Tensor retain(const std::vector<bool>& finished);

private:
    std::vector<std::size_t> inputs_;
    int rowsPerInput_;
};

// The processors of HF's generate() that apply to every strategy, in its order.
void applyProcessors(at::Tensor& scores, const Histories& histories, int generated, const DecodingOptions& options,
                     const std::vector<int>& eosIds);

bool isEos(const std::vector<int>& eosIds, int id);

// Text of ids without special tokens, trimmed of surrounding spaces (as batch_decode().strip()).
std::string finalText(const text::Tokenizer& tokenizer, const std::vector<int>& ids);

// The decoding loops over a batch. `onToken` streams input 0 (a batch of one: a session).
std::vector<GenerationResult> sampleOrGreedy(const BatchContext& context, const DecodingOptions& options,
                                             const TokenCallback& onToken, const ProgressCallback& prefillProgress);
std::vector<GenerationResult> beamSearch(const BatchContext& context, const DecodingOptions& options,
                                         const TokenCallback& onToken, const ProgressCallback& prefillProgress);

}  // namespace querylens::generate
