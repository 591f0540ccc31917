#pragma once
// The steps that reshape next-token scores before a token is chosen, each a small function on
// scores [B, vocab] as Hugging Face's LogitsProcessor / LogitsWarper of the same name does.
// `histories[r]` is what Hugging Face calls input_ids for row r: the generated ids (OPT, whose
// prompt goes in as embeddings) or the decoder ids including its start token (T5).

#include <ATen/ATen.h>

#include <vector>

namespace querylens::generate {

using Histories = std::vector<std::vector<int>>;

// RepetitionPenaltyLogitsProcessor: scores of tokens already in the history are divided by
// `penalty` when positive and multiplied by it when negative.
void applyRepetitionPenalty(at::Tensor& scores, const Histories& histories, double penalty);

// NoRepeatNGramLogitsProcessor: forbids any token that would repeat an n-gram of size `n`.
void applyNoRepeatNgram(at::Tensor& scores, const Histories& histories, int n);

// MinNewTokensLengthLogitsProcessor: forbids EOS until `minNewTokens` tokens were generated.
void applyMinNewTokens(at::Tensor& scores, int generated, int minNewTokens, const std::vector<int>& eosIds);

// The sampling warpers, in Hugging Face's order: temperature, then top-k, then top-p. Removed
// tokens get -inf. `minTokensToKeep` is 1 for sampling.
void applyTemperature(at::Tensor& scores, double temperature);
void applyTopK(at::Tensor& scores, int topK, int minTokensToKeep = 1);
void applyTopP(at::Tensor& scores, double topP, int minTokensToKeep = 1);

}  // namespace querylens::generate
