#pragma once
// A conversation about one image: captioning, questions with history, and query ablation.
// The session owns the language model's caches, so a follow-up question runs only its new
// tokens (OPT); it is not thread-safe, and one generation runs at a time.
//
// It keeps the caches of the last few branches (kBranchCaches), so that going back to another
// branch of an edited or regenerated conversation, or regenerating an answer, computes only
// what that branch does not share with one of them. OPT reuses the longest shared prefix of
// tokens; Flan-T5's encoder is bidirectional, so it reuses its encoder output only for an
// identical prompt (a regenerated answer), and its decoder always starts afresh.

#include "querylens/decoding_options.h"
#include "querylens/generation.h"
#include "querylens/image_encoding.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace querylens {

class Model;

struct ChatTurn {
    std::string question;
    std::string answer;
};

using CancelCheck = std::function<bool()>;  // true: stop generating (StopReason::Cancelled)

class Session {
public:
    Session(std::shared_ptr<const Model> model, std::shared_ptr<const ImageEncoding> image);
    ~Session();

    // The caption of the image (with the model's caption prompt).
    GenerationResult caption(const DecodingOptions& options, const TokenCallback& onToken = {},
                             const CancelCheck& cancel = {});
    // Any prompt, as given (the tokenizer adds its special tokens); does not touch the history.
    GenerationResult generate(const std::string& prompt, const DecodingOptions& options,
                              const TokenCallback& onToken = {}, const CancelCheck& cancel = {});
    // A question in the conversation so far: "Question: q1 Answer: a1. Question: q Answer:".
    // Oldest turns are left out when the prompt would not fit the context (the result's notice
    // says so). The turn is remembered unless generation was cancelled.
    GenerationResult ask(const std::string& question, const DecodingOptions& options,
                         const TokenCallback& onToken = {}, const CancelCheck& cancel = {});
    // A question after the given turns (a branch of a conversation kept elsewhere); history()
    // is left alone. The same prompt and fitting as ask().
    GenerationResult answer(const std::vector<ChatTurn>& history, const std::string& question,
                            const DecodingOptions& options, const TokenCallback& onToken = {},
                            const CancelCheck& cancel = {});

    // Caches kept for branches, at most; the least recently used goes first, and while they
    // hold more than kBranchCacheBytes, all but the one in use go.
    static constexpr int kBranchCaches = 4;
    static constexpr std::size_t kBranchCacheBytes = std::size_t(2) << 30;
    int cachedBranches() const;

    const std::vector<ChatTurn>& history() const { return history_; }
    void clearHistory();

    // Queries whose projected vectors are removed from the language model's input.
    void setDisabledQueries(std::vector<int> queries);
    const std::vector<int>& disabledQueries() const { return disabled_; }

    const ImageEncoding& image() const { return *image_; }
    std::shared_ptr<const ImageEncoding> imagePtr() const { return image_; }

private:
    struct State;
    GenerationResult run(const std::string& prompt, const DecodingOptions& options, const TokenCallback& onToken,
                         const CancelCheck& cancel);

    std::shared_ptr<const Model> model_;
    std::shared_ptr<const ImageEncoding> image_;
    std::vector<ChatTurn> history_;
    std::vector<int> disabled_;
    std::unique_ptr<State> state_;
};

}  // namespace querylens
