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

// The new tokens the context has room for: OPT's learned positions end at maxPositions.
// Sets `limitedByContext` when that, not the option, is the limit.
int tokenBudget(const GenerationContext& context, const DecodingOptions& options, bool& limitedByContext);

// The processors of HF's generate() that apply to every strategy, in its order.
void applyProcessors(at::Tensor& scores, const Histories& histories, int generated, const DecodingOptions& options,
                     const std::vector<int>& eosIds);

bool isEos(const std::vector<int>& eosIds, int id);

// Text of ids without special tokens, trimmed of surrounding spaces (as batch_decode().strip()).
std::string finalText(const text::Tokenizer& tokenizer, const std::vector<int>& ids);

GenerationResult sampleOrGreedy(const GenerationContext& context, const DecodingOptions& options,
                                const TokenCallback& onToken, const ProgressCallback& prefillProgress);
GenerationResult beamSearch(const GenerationContext& context, const DecodingOptions& options,
                            const TokenCallback& onToken, const ProgressCallback& prefillProgress);

}  // namespace querylens::generate
