#pragma once
// What generation gives back: text, ids, per-token probabilities with alternatives, where each
// token looked among the 32 queries, and timings.

#include <functional>
#include <string>
#include <vector>

namespace querylens {

struct TokenAlternative {
    int id = 0;
    std::string text;
    float probability = 0;
};

struct GeneratedToken {
    int id = 0;
    std::string text;          // the token as a person reads it (tokenizer's tokenText)
    float probability = 0;     // the model's probability of this token (softmax of its logits)
    std::vector<TokenAlternative> alternatives;  // the most probable tokens at this step, best first
    // The language model's attention from this token's position to the soft-prompt positions,
    // mean over layers and heads, one value per query that was in the input (see
    // GeneratedSequence::queryIndices). Empty when no query was in the input.
    std::vector<float> queryAttention;
};

struct GeneratedSequence {
    std::string text;          // decoded, special tokens left out, leading/trailing spaces trimmed
    std::vector<int> ids;      // the generated ids only (not the prompt), EOS included if produced
    std::vector<GeneratedToken> tokens;
    double score = 0;          // beam search: length-penalised log probability; else sum of log p
};

enum class StopReason { EndOfSequence, MaxNewTokens, ContextFull, Cancelled };

struct GenerationTimings {
    double prefillMs = 0;      // running the prompt (and the image's soft prompt)
    double firstTokenMs = 0;   // from the call to the first token
    double totalMs = 0;
    double tokensPerSecond = 0;  // generated tokens after the first, per second of decoding
};

struct GenerationResult {
    std::vector<GeneratedSequence> sequences;  // best first; at least one
    StopReason stopReason = StopReason::MaxNewTokens;
    GenerationTimings timings;
    int promptTokens = 0;        // text tokens in the prompt
    int reusedPositions = 0;     // positions taken from the cache of an earlier turn
    std::vector<int> queryIndices;  // which queries were in the input (all but the ablated ones)
    std::vector<int> promptIds;     // the text ids the language model was given before the generated ones
                                    // (OPT: after the queries; T5: the encoder's), for explanations
    std::string notice;          // e.g. "the two oldest turns were left out to fit the context"
};

// Called once per generated token (greedy and sampling; beam search calls it once per token of
// the final best sequence at the end). `textDelta` is the new text, always whole UTF-8
// characters. Returning false stops generation: the result then has StopReason::Cancelled.
using TokenCallback = std::function<bool(const GeneratedToken& token, const std::string& textDelta)>;

const char* stopReasonName(StopReason reason);

}  // namespace querylens
