// Greedy decoding and multinomial sampling (Hugging Face's _greedy_search and _sample): one
// token per row per step; finished rows are fed the pad token until every row is done.

#include "generate/generation_internal.h"
#include "generate/text_stream.h"
#include "generate/token_report.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace querylens::generate {

GenerationResult sampleOrGreedy(const GenerationContext& context, const DecodingOptions& options,
                                const TokenCallback& onToken, const ProgressCallback& prefillProgress)
{
    const auto start = Clock::now();
    const model::LanguageModel& model = *context.model;
    model::LanguageModelState& state = *context.state;
    const int rows = options.doSample ? options.numReturnSequences : 1;
    bool limitedByContext = false;
    const int budget = tokenBudget(context, options, limitedByContext);

    GenerationResult result;
    model::StepOutput out = model.prefill(state, context.queries, context.promptIds, prefillProgress);
    result.timings.prefillMs = millisecondsSince(start);
    if (rows > 1) {
        // Every sample starts from the same prompt: copy the one cached row.
        state.selectRows(at::zeros({rows}, at::kLong));
        out.logits = out.logits.expand({rows, -1}).contiguous();
        if (out.queryAttention.defined())
            out.queryAttention = out.queryAttention.expand({rows, -1}).contiguous();
    }

    // Seeded like torch.manual_seed(seed), so a seed gives the same draws as PyTorch's.
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    Histories histories(std::size_t(rows), context.historyPrefix);
    result.sequences.resize(std::size_t(rows));
    std::vector<bool> finished(std::size_t(rows), false);
    TextStream stream(*context.tokenizer);
    result.stopReason = limitedByContext ? StopReason::ContextFull : StopReason::MaxNewTokens;
    Clock::time_point firstToken{};

    for (int step = 0; step < budget; ++step) {
        at::Tensor scores = out.logits.to(at::kFloat).clone();  // [rows, vocab]
        applyProcessors(scores, histories, step, options, context.eosIds);
        at::Tensor next;
        if (options.doSample) {
            applyTemperature(scores, options.temperature);
            applyTopK(scores, options.topK);
            applyTopP(scores, options.topP);
            next = at::multinomial(scores.softmax(-1).to(at::kCPU), 1, false, generator).squeeze(1);
        } else {
            next = scores.argmax(-1).to(at::kCPU);
        }

        bool keepGoing = true;
        for (int r = 0; r < rows; ++r) {
            if (finished[std::size_t(r)]) {
                next[r] = context.padId;
                continue;
            }
            const int id = int(next[r].item<std::int64_t>());
            GeneratedToken token = describeToken(id, out.logits[r],
                                                 out.queryAttention.defined() ? out.queryAttention[r] : at::Tensor(),
                                                 *context.tokenizer, options.topAlternatives);
            auto& sequence = result.sequences[std::size_t(r)];
            sequence.score += std::log(std::max(token.probability, 1e-30f));
            sequence.ids.push_back(id);
            histories[std::size_t(r)].push_back(id);
            const bool eos = options.stopAtEos && isEos(context.eosIds, id);
            finished[std::size_t(r)] = eos;
            if (step == 0 && r == 0) {
                firstToken = Clock::now();
                result.timings.firstTokenMs = millisecondsSince(start);
            }
            // The first (or only) sequence streams as it grows; further samples arrive in the result.
            if (r == 0 && onToken && !onToken(token, eos ? stream.finish() : stream.push(id)))
                keepGoing = false;
            sequence.tokens.push_back(std::move(token));
        }
        if (!keepGoing || (context.cancelRequested && context.cancelRequested())) {
            result.stopReason = StopReason::Cancelled;
            break;
        }
        if (std::all_of(finished.begin(), finished.end(), [](bool f) { return f; })) {
            result.stopReason = StopReason::EndOfSequence;
            break;
        }
        if (step + 1 < budget)
            out = model.step(state, next.to(context.queries.device()));
    }

    for (auto& sequence : result.sequences)
        sequence.text = finalText(*context.tokenizer, sequence.ids);
    if (onToken && !finished[0] && result.stopReason != StopReason::Cancelled) {
        const std::string rest = stream.finish();  // an unfinished character at the very end
        if (!rest.empty() && !result.sequences[0].tokens.empty())
            onToken(result.sequences[0].tokens.back(), rest);
    }

    result.timings.totalMs = millisecondsSince(start);
    const std::size_t produced = result.sequences[0].ids.size();
    if (produced > 1) {
        const double decodeSeconds = std::chrono::duration<double>(Clock::now() - firstToken).count();
        result.timings.tokensPerSecond = double(produced - 1) / std::max(decodeSeconds, 1e-9);
    }
    return result;
}

}  // namespace querylens::generate
