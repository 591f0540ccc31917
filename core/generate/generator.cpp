#include "generate/generator.h"

#include "generate/generation_internal.h"
#include "querylens/error.h"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace querylens {

const char* stopReasonName(StopReason reason)
{
    switch (reason) {
    case StopReason::EndOfSequence: return "eos";
    case StopReason::MaxNewTokens: return "max_new_tokens";
    case StopReason::ContextFull: return "context_full";
    case StopReason::Cancelled: return "cancelled";
    }
    return "unknown";
}

namespace generate {

void validate(const DecodingOptions& o)
{
    auto require = [](bool ok, const char* option, const std::string& message) {
        if (!ok)
            throw Error(message, {}, option);
    };
    require(o.maxNewTokens >= 1, "max_new_tokens", "must be at least 1");
    require(o.minNewTokens >= 0 && o.minNewTokens <= o.maxNewTokens, "min_new_tokens",
            "must be between 0 and max_new_tokens");
    require(o.numBeams >= 1, "num_beams", "must be at least 1");
    require(!(o.doSample && o.numBeams > 1), "num_beams",
            "beam search with sampling is not supported: choose beams or sampling");
    require(o.numReturnSequences >= 1, "num_return_sequences", "must be at least 1");
    require(o.numBeams == 1 ? (o.doSample || o.numReturnSequences == 1) : o.numReturnSequences <= o.numBeams,
            "num_return_sequences",
            o.numBeams > 1 ? "cannot exceed num_beams" : "greedy decoding returns one sequence: use beams or sampling");
    require(o.temperature > 0, "temperature", "must be greater than 0 (use greedy decoding for a temperature of 0)");
    require(o.topK >= 0, "top_k", "must be 0 (off) or more");
    require(o.topP > 0 && o.topP <= 1, "top_p", "must be in (0, 1]");
    require(o.repetitionPenalty > 0, "repetition_penalty", "must be greater than 0");
    require(o.noRepeatNgramSize >= 0, "no_repeat_ngram_size", "must be 0 (off) or more");
    require(o.topAlternatives >= 0, "top_alternatives", "must be 0 or more");
}

int tokenBudget(const model::LanguageModel& model, const BatchInput& input, const DecodingOptions& options,
                bool& limitedByContext)
{
    limitedByContext = false;
    const std::int64_t used = input.queries.size(1) + std::int64_t(input.promptIds.size());
    const std::int64_t room = model.maxPositions() - used;
    // OPT's one sequence holds the queries, the prompt and the answer; T5's encoder the queries
    // and the prompt, its decoder the answer (which has no limit of its own).
    if (model.isEncoderDecoder() ? room < 0 : room <= 0)
        throw Error("the prompt has " + std::to_string(input.promptIds.size()) + " tokens; with the image's " +
                    std::to_string(input.queries.size(1)) + " positions it does not fit the model's context of " +
                    std::to_string(model.maxPositions()) + " positions");
    if (model.isEncoderDecoder())
        return options.maxNewTokens;
    if (room < options.maxNewTokens) {
        limitedByContext = true;
        return int(room);
    }
    return options.maxNewTokens;
}

model::StepOutput prefillInputs(const BatchContext& context, const ProgressCallback& progress)
{
    const auto& inputs = context.inputs;
    if (inputs.size() == 1)
        return context.model->prefill(*context.state, inputs.front().queries, inputs.front().promptIds, progress);
    std::vector<at::Tensor> queries;
    std::vector<std::vector<int>> ids;
    for (const BatchInput& input : inputs) {
        if (input.queries.size(1) != inputs.front().queries.size(1))
            throw Error("the images of a batch must keep the same number of queries");
        queries.push_back(input.queries);
        ids.push_back(input.promptIds);
    }
    return context.model->prefillBatch(*context.state, at::cat(queries, 0), ids, progress);
}

ActiveInputs::ActiveInputs(std::size_t inputs, int rowsPerInput) : inputs_(inputs), rowsPerInput_(rowsPerInput)
{
    std::iota(inputs_.begin(), inputs_.end(), std::size_t(0));
}

at::Tensor ActiveInputs::retain(const std::vector<bool>& finished)
{
    std::vector<std::size_t> kept;
    std::vector<std::int64_t> rows;
    for (std::size_t slot = 0; slot < inputs_.size(); ++slot) {
        if (finished[inputs_[slot]])
            continue;
        kept.push_back(inputs_[slot]);
        for (int r = 0; r < rowsPerInput_; ++r)
            rows.push_back(firstRow(slot) + r);
    }
    const bool unchanged = kept.size() == inputs_.size();
    inputs_ = std::move(kept);
    if (unchanged)
        return {};
    return at::tensor(rows, at::kLong);
}

void applyProcessors(at::Tensor& scores, const Histories& histories, int generated, const DecodingOptions& options,
                     const std::vector<int>& eosIds)
{
    applyRepetitionPenalty(scores, histories, options.repetitionPenalty);
    applyNoRepeatNgram(scores, histories, options.noRepeatNgramSize);
    applyMinNewTokens(scores, generated, options.minNewTokens, eosIds);
}

bool isEos(const std::vector<int>& eosIds, int id)
{
    return std::find(eosIds.begin(), eosIds.end(), id) != eosIds.end();
}

std::string finalText(const text::Tokenizer& tokenizer, const std::vector<int>& ids)
{
    std::string text = tokenizer.decode(ids, /*skipSpecialTokens=*/true);
    auto notSpace = [](unsigned char c) { return !std::isspace(c); };
    text.erase(text.begin(), std::find_if(text.begin(), text.end(), notSpace));
    text.erase(std::find_if(text.rbegin(), text.rend(), notSpace).base(), text.end());
    return text;
}

GenerationResult generate(const GenerationContext& context, const DecodingOptions& options,
                          const TokenCallback& onToken, const ProgressCallback& prefillProgress)
{
    validate(options);
    BatchContext batch;
    batch.model = context.model;
    batch.state = context.state;
    batch.tokenizer = context.tokenizer;
    batch.inputs = {{context.queries, context.queryIndices, context.promptIds}};
    batch.eosIds = context.eosIds;
    batch.padId = context.padId;
    batch.historyPrefix = context.historyPrefix;
    batch.cancelRequested = context.cancelRequested;
    GenerationResult result = std::move((options.numBeams > 1 ? beamSearch(batch, options, onToken, prefillProgress)
                                                              : sampleOrGreedy(batch, options, onToken, prefillProgress))
                                            .front());
    result.promptTokens = int(context.promptIds.size());
    result.reusedPositions = int(context.state->reusedPositions());
    result.queryIndices = context.queryIndices;
    result.promptIds = context.promptIds;
    return result;
}

std::vector<GenerationResult> generateBatch(const BatchContext& context, const DecodingOptions& options)
{
    validate(options);
    if (context.inputs.empty())
        return {};
    std::vector<GenerationResult> results = options.numBeams > 1 ? beamSearch(context, options, {}, {})
                                                                 : sampleOrGreedy(context, options, {}, {});
    for (std::size_t i = 0; i < results.size(); ++i) {
        results[i].promptTokens = int(context.inputs[i].promptIds.size());
        results[i].queryIndices = context.inputs[i].queryIndices;
    }
    return results;
}

}  // namespace generate
}  // namespace querylens
