#pragma once
// What generation needs of a language model, whether decoder-only (OPT) or encoder-decoder
// (T5). The model is read-only; all that changes while generating lives in its State.

#include "querylens/error.h"
#include "querylens/progress.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace querylens::model {

struct StepOutput {
    at::Tensor logits;          // [B, vocab] float32, for the next token of each row
    at::Tensor queryAttention;  // [B, Q]: attention of the newest position to the Q soft-prompt
                                // positions, mean over layers and heads (OPT: self-attention;
                                // T5: decoder cross-attention to the encoder's query positions)
};

// Every attention probability tensor of a teacher-forced pass, per layer, as computed (in the
// autograd graph when it runs under autograd): what gradient explanations weight and propagate.
struct LanguageModelAttentions {
    std::vector<at::Tensor> self;         // OPT: decoder self-attention [1, H, N, N] (N = queries + ids);
                                          // T5: decoder self-attention [1, H, D, D]
    std::vector<at::Tensor> encoderSelf;  // T5: encoder self-attention [1, H, E, E] (E = queries + ids)
    std::vector<at::Tensor> cross;        // T5: decoder cross-attention [1, H, D, E]
};

class LanguageModelState {
public:
    virtual ~LanguageModelState() = default;
    // Keeps the rows named by `rows` [B'] in that order (beam search reorders and expands).
    virtual void selectRows(const at::Tensor& rows) = 0;
    virtual std::unique_ptr<LanguageModelState> clone() const = 0;
    virtual std::size_t cacheBytes() const = 0;
    // Positions of the prompt that the last prefill took from the cache instead of computing.
    virtual std::int64_t reusedPositions() const = 0;
    // Positions that a prefill of this input (soft prompt `queries` [1, Q, hidden], then `ids`)
    // would take from this cache, and positions the cache holds now: a session keeping several
    // branches' caches picks the one that saves the most.
    virtual std::int64_t reusablePositions(const at::Tensor& queries, const std::vector<int>& ids) const = 0;
    virtual std::int64_t heldPositions() const = 0;
};

class LanguageModel {
public:
    virtual ~LanguageModel() = default;

    virtual std::unique_ptr<LanguageModelState> newState() const = 0;

    // Runs the input: the soft prompt `queries` [1, Q, hidden], then the token `ids`. A state
    // that already holds a prefix of this same input keeps it and computes only the rest.
    // Returns the logits for the first generated token (batch of 1).
    virtual StepOutput prefill(LanguageModelState& state, const at::Tensor& queries, const std::vector<int>& ids,
                               const ProgressCallback& progress = {}) const = 0;

    // Runs B inputs side by side from scratch (the batch of `querylens batch`): row b is the soft
    // prompt queries[b] ([B, Q, hidden]) followed by ids[b]. Rows of different lengths are padded
    // (OPT on the left, so that every row's newest position is the last column; T5's encoder at
    // the end) and the padding is masked out, so each row gives the tokens prefill() gives it
    // alone. Returns the logits [B, vocab] of each row's first generated token.
    virtual StepOutput prefillBatch(LanguageModelState& state, const at::Tensor& queries,
                                    const std::vector<std::vector<int>>& ids, const ProgressCallback& progress = {}) const = 0;

    // Feeds one token per row, tokens [B] int64, and returns the logits that follow.
    virtual StepOutput step(LanguageModelState& state, const at::Tensor& tokens) const = 0;

    // Teacher-forced logits of every position (parity tests, gradient explanations): OPT
    // [1, Q + ids, vocab]; T5 [1, decoderIds, vocab] (ids go to the encoder, decoderIds to the
    // decoder). `attentions`, when given, receives every layer's attention probabilities.
    virtual at::Tensor forwardLogits(const at::Tensor& queries, const std::vector<int>& ids,
                                     const std::vector<int>& decoderIds,
                                     LanguageModelAttentions* attentions = nullptr) const = 0;

    virtual int hiddenSize() const = 0;
    virtual int vocabSize() const = 0;
    // Positions the model can see at once (OPT's learned positions); T5 has no hard limit.
    virtual std::int64_t maxPositions() const = 0;
    virtual bool isEncoderDecoder() const = 0;
    virtual std::size_t weightBytes() const = 0;
    // Bytes of weights one decoding step reads (a token's cost on a memory-bound CPU): not the
    // tables it looks one row up in, nor T5's encoder or its cross-attention keys and values,
    // which are computed once per prompt.
    virtual std::size_t stepWeightBytes() const = 0;
};

// prefillBatch's first step in every model: one prompt per soft prompt (queries [B, Q, hidden]),
// and the longest prompt's length, to which the others are padded.
inline std::int64_t longestBatchPrompt(const at::Tensor& queries, const std::vector<std::vector<int>>& ids)
{
    if (queries.size(0) != std::int64_t(ids.size()))
        throw Error("a batch of " + std::to_string(queries.size(0)) + " soft prompts with " + std::to_string(ids.size()) +
                    " prompts");
    std::int64_t longest = 0;
    for (const auto& row : ids)
        longest = std::max<std::int64_t>(longest, std::int64_t(row.size()));
    return longest;
}

}  // namespace querylens::model
