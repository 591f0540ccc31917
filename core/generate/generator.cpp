#include "generate/generator.h"

#include "generate/generation_internal.h"
#include "querylens/error.h"

#include <algorithm>
#include <cctype>

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

int tokenBudget(const GenerationContext& context, const DecodingOptions& options, bool& limitedByContext)
{
    limitedByContext = false;
    if (context.model->isEncoderDecoder())
        return options.maxNewTokens;
    const std::int64_t used = context.queries.size(1) + std::int64_t(context.promptIds.size());
    const std::int64_t room = context.model->maxPositions() - used;
    if (room <= 0)
        throw Error("the prompt has " + std::to_string(context.promptIds.size()) + " tokens; with the image's " +
                    std::to_string(context.queries.size(1)) + " positions it does not fit the model's context of " +
                    std::to_string(context.model->maxPositions()) + " positions");
    if (room < options.maxNewTokens) {
        limitedByContext = true;
        return int(room);
    }
    return options.maxNewTokens;
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
    GenerationResult result = options.numBeams > 1 ? beamSearch(context, options, onToken, prefillProgress)
                                                   : sampleOrGreedy(context, options, onToken, prefillProgress);
    result.promptTokens = int(context.promptIds.size());
    result.reusedPositions = int(context.state->reusedPositions());
    result.queryIndices = context.queryIndices;
    result.promptIds = context.promptIds;
    return result;
}

}  // namespace generate
}  // namespace querylens
