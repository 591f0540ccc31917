// Greedy decoding and multinomial sampling (Hugging Face's _greedy_search and _sample): one
// token per row per step; finished rows of an input are fed the pad token until every row of
// that input is done, and then the input leaves the batch.

#include "generate/generation_internal.h"
#include "generate/text_stream.h"
#include "generate/token_report.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace querylens::generate {

namespace {

// What one input of the batch accumulates while it decodes.
struct InputRun {
    GenerationResult result;
    std::vector<bool> finished;  // per row (sample)
    Histories histories;         // per row
    at::Generator generator;     // each input draws as it would alone
    int budget = 0;
    Clock::time_point firstToken{};
};

void finishTimings(InputRun& run, Clock::time_point start)
{
    GenerationResult& result = run.result;
    result.timings.totalMs = millisecondsSince(start);
    const std::size_t produced = result.sequences[0].ids.size();
    if (produced > 1) {
        const double decodeSeconds = std::chrono::duration<double>(Clock::now() - run.firstToken).count();
        result.timings.tokensPerSecond = double(produced - 1) / std::max(decodeSeconds, 1e-9);
    }
}

}  // namespace

std::vector<GenerationResult> sampleOrGreedy(const BatchContext& context, const DecodingOptions& options,
                                             const TokenCallback& onToken, const ProgressCallback& prefillProgress)
{
    const auto start = Clock::now();
    const model::LanguageModel& model = *context.model;
    model::LanguageModelState& state = *context.state;
    const int rows = options.doSample ? options.numReturnSequences : 1;
    const std::size_t count = context.inputs.size();

    std::vector<InputRun> runs(count);
    for (std::size_t i = 0; i < count; ++i) {
        bool limitedByContext = false;
        runs[i].budget = tokenBudget(model, context.inputs[i], options, limitedByContext);
        runs[i].result.stopReason = limitedByContext ? StopReason::ContextFull : StopReason::MaxNewTokens;
        runs[i].result.sequences.resize(std::size_t(rows));
        runs[i].finished.assign(std::size_t(rows), false);
        runs[i].histories.assign(std::size_t(rows), context.historyPrefix);
        // Seeded like torch.manual_seed(seed), so a seed gives the same draws as PyTorch's.
        runs[i].generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    }

    model::StepOutput out = prefillInputs(context, prefillProgress);
    const double prefillMs = millisecondsSince(start);
    for (auto& run : runs)
        run.result.timings.prefillMs = prefillMs;
    if (rows > 1) {
        // Every sample of an input starts from the same prompt: copy its one cached row.
        const at::Tensor copies = at::arange(std::int64_t(count), at::kLong).repeat_interleave(rows);
        state.selectRows(copies);
        out.logits = out.logits.index_select(0, copies.to(out.logits.device()));
        if (out.queryAttention.defined())
            out.queryAttention = out.queryAttention.index_select(0, copies.to(out.queryAttention.device()));
    }

    TextStream stream(*context.tokenizer);  // input 0's text, when it streams
    ActiveInputs active(count, rows);
    std::vector<bool> ended(count, false);
    for (int step = 0; !active.empty(); ++step) {
        Histories histories;
        for (std::size_t input : active.inputs())
            histories.insert(histories.end(), runs[input].histories.begin(), runs[input].histories.end());
        at::Tensor scores = out.logits.to(at::kFloat).clone();  // [rows of active inputs, vocab]
        applyProcessors(scores, histories, step, options, context.eosIds);
        at::Tensor next;
        if (options.doSample) {
            applyTemperature(scores, options.temperature);
            applyTopK(scores, options.topK);
            applyTopP(scores, options.topP);
            const at::Tensor probabilities = scores.softmax(-1).to(at::kCPU);
            next = at::empty({probabilities.size(0)}, at::kLong);
            for (std::size_t slot = 0; slot < active.inputs().size(); ++slot)
                next.narrow(0, active.firstRow(slot), rows)
                    .copy_(at::multinomial(probabilities.narrow(0, active.firstRow(slot), rows), 1, false,
                                           runs[active.inputs()[slot]].generator)
                               .squeeze(1));
        } else {
            next = scores.argmax(-1).to(at::kCPU);
        }

        bool keepGoing = true;
        for (std::size_t slot = 0; slot < active.inputs().size(); ++slot) {
            const std::size_t input = active.inputs()[slot];
            InputRun& run = runs[input];
            for (int r = 0; r < rows; ++r) {
                const std::int64_t row = active.firstRow(slot) + r;
                if (run.finished[std::size_t(r)]) {
                    next[row] = context.padId;
                    continue;
                }
                const int id = int(next[row].item<std::int64_t>());
                GeneratedToken token = describeToken(id, out.logits[row],
                                                     out.queryAttention.defined() ? out.queryAttention[row] : at::Tensor(),
                                                     *context.tokenizer, options.topAlternatives);
                auto& sequence = run.result.sequences[std::size_t(r)];
                sequence.score += std::log(std::max(token.probability, 1e-30f));
                sequence.ids.push_back(id);
                run.histories[std::size_t(r)].push_back(id);
                const bool eos = options.stopAtEos && isEos(context.eosIds, id);
                run.finished[std::size_t(r)] = eos;
                if (step == 0 && r == 0) {
                    run.firstToken = Clock::now();
                    run.result.timings.firstTokenMs = millisecondsSince(start);
                }
                // Input 0's first (or only) sequence streams as it grows; the rest arrive in the result.
                if (input == 0 && r == 0 && onToken && !onToken(token, eos ? stream.finish() : stream.push(id)))
                    keepGoing = false;
                sequence.tokens.push_back(std::move(token));
            }
        }
        const bool cancelled = !keepGoing || (context.cancelRequested && context.cancelRequested());
        for (std::size_t input : active.inputs()) {
            InputRun& run = runs[input];
            const bool allFinished = std::all_of(run.finished.begin(), run.finished.end(), [](bool f) { return f; });
            if (cancelled)
                run.result.stopReason = StopReason::Cancelled;
            else if (allFinished)
                run.result.stopReason = StopReason::EndOfSequence;
            else if (step + 1 < run.budget)
                continue;
            ended[input] = true;
            finishTimings(run, start);
        }
        const at::Tensor kept = active.retain(ended);
        if (active.empty())
            break;
        if (kept.defined()) {
            state.selectRows(kept.to(out.logits.device()));
            next = next.index_select(0, kept);
        }
        out = model.step(state, next.to(out.logits.device()));
    }

    std::vector<GenerationResult> results;
    for (auto& run : runs) {
        for (auto& sequence : run.result.sequences)
            sequence.text = finalText(*context.tokenizer, sequence.ids);
        results.push_back(std::move(run.result));
    }
    if (onToken && !runs[0].finished[0] && results[0].stopReason != StopReason::Cancelled) {
        const std::string rest = stream.finish();  // an unfinished character at the very end
        if (!rest.empty() && !results[0].sequences[0].tokens.empty())
            onToken(results[0].sequences[0].tokens.back(), rest);
    }
    return results;
}

}  // namespace querylens::generate
