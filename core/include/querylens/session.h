#pragma once
// A conversation about one image: captioning, questions with history, and query ablation.
// The session owns the language model's caches, so a follow-up question runs only its new
// tokens (OPT); it is not thread-safe, and one generation runs at a time.

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
