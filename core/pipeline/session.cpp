#include "querylens/session.h"

#include "generate/generator.h"
#include "pipeline/model_impl.h"
#include "querylens/error.h"
#include "querylens/prompts.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

namespace querylens {

struct Session::State {
    std::unique_ptr<model::LanguageModelState> languageModel;
};

Session::Session(std::shared_ptr<const Model> model, std::shared_ptr<const ImageEncoding> image)
    : model_(std::move(model)), image_(std::move(image)), state_(std::make_unique<State>())
{
}

Session::~Session() = default;

void Session::clearHistory() { history_.clear(); }

void Session::setDisabledQueries(std::vector<int> queries)
{
    std::sort(queries.begin(), queries.end());
    queries.erase(std::unique(queries.begin(), queries.end()), queries.end());
    for (int q : queries)
        if (q < 0 || q >= image_->queryCount())
            throw Error("query " + std::to_string(q) + " does not exist (the model has " +
                        std::to_string(image_->queryCount()) + ")");
    disabled_ = std::move(queries);
}

GenerationResult Session::caption(const DecodingOptions& options, const TokenCallback& onToken,
                                  const CancelCheck& cancel)
{
    return run(model_->captionPrompt(), options, onToken, cancel);
}

GenerationResult Session::generate(const std::string& prompt, const DecodingOptions& options,
                                   const TokenCallback& onToken, const CancelCheck& cancel)
{
    return run(prompt, options, onToken, cancel);
}

GenerationResult Session::ask(const std::string& question, const DecodingOptions& options,
                              const TokenCallback& onToken, const CancelCheck& cancel)
{
    const ModelInfo& info = model_->info();
    const std::int64_t queries = image_->queryCount() - std::int64_t(disabled_.size());
    // Leave out the oldest turns until the prompt, the image and the answer fit the context.
    std::size_t first = 0;
    std::string prompt = chatPrompt(history_, question, first);
    while (first < history_.size() &&
           queries + std::int64_t(model_->tokenize(prompt).size()) + options.maxNewTokens > info.maxPositions)
        prompt = chatPrompt(history_, question, ++first);

    GenerationResult result = run(prompt, options, onToken, cancel);
    if (first > 0)
        result.notice = "The " + std::to_string(first) + " oldest turn" + (first > 1 ? "s were" : " was") +
                        " left out so that the conversation fits the model's context of " +
                        std::to_string(info.maxPositions) + " positions.";
    if (result.stopReason != StopReason::Cancelled)
        history_.push_back({question, result.sequences.front().text});
    return result;
}

GenerationResult Session::run(const std::string& prompt, const DecodingOptions& options, const TokenCallback& onToken,
                              const CancelCheck& cancel)
{
    c10::InferenceMode inference;
    const Model::Impl& impl = model_->impl();
    const model::LanguageModel& lm = impl.blip2->languageModel();
    if (!state_->languageModel)
        state_->languageModel = lm.newState();

    generate::GenerationContext context;
    context.model = &lm;
    context.state = state_->languageModel.get();
    context.tokenizer = impl.tokenizer.get();
    context.promptIds = impl.tokenizer->encode(prompt, true);
    context.eosIds = impl.eosIds;
    context.padId = impl.padId;
    context.historyPrefix = impl.historyPrefix;
    context.cancelRequested = cancel;

    const at::Tensor& softPrompt = image_->tensors().softPrompt;  // [1, Q, hidden]
    for (int q = 0; q < image_->queryCount(); ++q)
        if (!std::binary_search(disabled_.begin(), disabled_.end(), q))
            context.queryIndices.push_back(q);
    if (disabled_.empty()) {
        context.queries = softPrompt;
    } else {
        const at::Tensor kept = at::tensor(std::vector<std::int64_t>(context.queryIndices.begin(), context.queryIndices.end()),
                                           at::kLong).to(softPrompt.device());
        context.queries = softPrompt.index_select(1, kept);
    }
    return generate::generate(context, options, onToken);
}

}  // namespace querylens
