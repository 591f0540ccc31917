#include "querylens/session.h"

#include "generate/generator.h"
#include "pipeline/model_impl.h"
#include "querylens/error.h"
#include "querylens/prompts.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdint>

namespace querylens {

namespace {

// A cache that would lose no more than this many positions past the shared prefix is continued
// in place: that is the end of its last answer (the end-of-sequence token, and the full stop
// the chat prompt writes after a past answer), not another branch worth keeping.
constexpr std::int64_t kContinuationSlack = 4;

}  // namespace

struct Session::State {
    struct Branch {
        std::unique_ptr<model::LanguageModelState> state;
        std::uint64_t lastUse = 0;
    };
    std::vector<Branch> branches;
    std::uint64_t clock = 0;

    // The cache to run `ids` after `queries` in: the one that reuses the most, copied first when
    // running in it would overwrite a branch; or a fresh one.
    std::size_t pick(const model::LanguageModel& lm, const at::Tensor& queries, const std::vector<int>& ids)
    {
        std::size_t best = branches.size();
        std::int64_t bestReuse = 0;
        for (std::size_t i = 0; i < branches.size(); ++i) {
            const std::int64_t reuse = branches[i].state->reusablePositions(queries, ids);
            if (reuse > bestReuse) {
                best = i;
                bestReuse = reuse;
            }
        }
        const bool found = best < branches.size();
        std::size_t slot = best;
        if (!found || branches[best].state->heldPositions() - bestReuse > kContinuationSlack) {
            // Running in the best cache would overwrite another branch: copy it (or start afresh).
            slot = freeSlot(best);
            branches[slot].state = found ? branches[best].state->clone() : lm.newState();
        }
        branches[slot].lastUse = ++clock;
        return trim(slot);
    }

    // A slot for a new branch: a new one while there is room, else the least recently used one
    // other than `keep` (whose cache is about to be copied).
    std::size_t freeSlot(std::size_t keep)
    {
        if (branches.size() < std::size_t(kBranchCaches)) {
            branches.push_back({});
            return branches.size() - 1;
        }
        std::size_t oldest = branches.size();
        for (std::size_t i = 0; i < branches.size(); ++i)
            if (i != keep && (oldest == branches.size() || branches[i].lastUse < branches[oldest].lastUse))
                oldest = i;
        return oldest;
    }

    // Drops the least recently used caches while they hold more than the budget; returns where
    // the one in use is then.
    std::size_t trim(std::size_t inUse)
    {
        auto total = [&] {
            std::size_t bytes = 0;
            for (const auto& b : branches)
                bytes += b.state->cacheBytes();
            return bytes;
        };
        while (branches.size() > 1 && total() > kBranchCacheBytes) {
            std::size_t oldest = inUse == 0 ? 1 : 0;
            for (std::size_t i = 0; i < branches.size(); ++i)
                if (i != inUse && branches[i].lastUse < branches[oldest].lastUse)
                    oldest = i;
            branches.erase(branches.begin() + std::ptrdiff_t(oldest));
            if (oldest < inUse)
                --inUse;
        }
        return inUse;
    }
};

Session::Session(std::shared_ptr<const Model> model, std::shared_ptr<const ImageEncoding> image)
    : model_(std::move(model)), image_(std::move(image)), state_(std::make_unique<State>())
{
}

Session::~Session() = default;

void Session::clearHistory() { history_.clear(); }

int Session::cachedBranches() const { return int(state_->branches.size()); }

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
    GenerationResult result = answer(history_, question, options, onToken, cancel);
    if (result.stopReason != StopReason::Cancelled)
        history_.push_back({question, result.sequences.front().text});
    return result;
}

GenerationResult Session::answer(const std::vector<ChatTurn>& history, const std::string& question,
                                 const DecodingOptions& options, const TokenCallback& onToken, const CancelCheck& cancel)
{
    const ModelInfo& info = model_->info();
    const std::int64_t queries = image_->queryCount() - std::int64_t(disabled_.size());
    // Leave out the oldest turns until the prompt, the image and the answer fit the context.
    std::size_t first = 0;
    std::string prompt = chatPrompt(history, question, first);
    while (first < history.size() &&
           queries + std::int64_t(model_->tokenize(prompt).size()) + options.maxNewTokens > info.maxPositions)
        prompt = chatPrompt(history, question, ++first);

    GenerationResult result = run(prompt, options, onToken, cancel);
    if (first > 0)
        result.notice = "The " + std::to_string(first) + " oldest turn" + (first > 1 ? "s were" : " was") +
                        " left out so that the conversation fits the model's context of " +
                        std::to_string(info.maxPositions) + " positions.";
    return result;
}

GenerationResult Session::run(const std::string& prompt, const DecodingOptions& options, const TokenCallback& onToken,
                              const CancelCheck& cancel)
{
    c10::InferenceMode inference;
    const Model::Impl& impl = model_->impl();
    const model::LanguageModel& lm = impl.blip2->languageModel();

    generate::GenerationContext context;
    context.model = &lm;
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
    const std::size_t slot = state_->pick(lm, context.queries, context.promptIds);
    context.state = state_->branches[slot].state.get();
    try {
        return generate::generate(context, options, onToken);
    } catch (...) {
        // A generation that failed part-way may leave its cache half-written: forget it.
        state_->branches.erase(state_->branches.begin() + std::ptrdiff_t(slot));
        throw;
    }
}

}  // namespace querylens
