// Beam search as Hugging Face's _beam_search with BeamSearchScorer (transformers 4.35 to 4.45):
// scores are log-softmax plus the processors, 2 x beams candidates per step (more with several
// EOS ids), a finished hypothesis is scored sum(log p) / generated_length^length_penalty where
// the length counts its EOS, and the search ends when no open beam can beat the worst kept one.
// A batch runs each input's search on its own rows (BeamSearchScorer's batch dimension); an
// input whose search has ended leaves the batch.

#include "generate/generation_internal.h"
#include "generate/text_stream.h"
#include "generate/token_report.h"

#include <algorithm>
#include <cmath>

namespace querylens::generate {
namespace {

struct Hypothesis {
    double score = 0;
    std::vector<int> ids;
    std::vector<GeneratedToken> tokens;
};

// BeamHypotheses: the `numBeams` best finished hypotheses.
class FinishedHypotheses {
public:
    FinishedHypotheses(int numBeams, double lengthPenalty, bool earlyStopping)
        : numBeams_(std::size_t(numBeams)), lengthPenalty_(lengthPenalty), earlyStopping_(earlyStopping)
    {
    }

    void add(Hypothesis hypothesis, double sumLogProbs, int generatedLength)
    {
        const double score = sumLogProbs / std::pow(double(std::max(generatedLength, 1)), lengthPenalty_);
        if (hypotheses_.size() < numBeams_ || score > worst_) {
            hypothesis.score = score;
            hypotheses_.push_back(std::move(hypothesis));
            if (hypotheses_.size() > numBeams_) {
                const auto worstIt = std::min_element(hypotheses_.begin(), hypotheses_.end(),
                                                      [](const auto& a, const auto& b) { return a.score < b.score; });
                hypotheses_.erase(worstIt);
            }
            worst_ = std::min_element(hypotheses_.begin(), hypotheses_.end(),
                                      [](const auto& a, const auto& b) { return a.score < b.score; })->score;
        }
    }

    // is_done with early_stopping True/False: can an open beam still beat the worst kept one?
    bool isDone(double bestSumLogProbs, int generatedLength) const
    {
        if (hypotheses_.size() < numBeams_)
            return false;
        if (earlyStopping_)
            return true;
        return worst_ >= bestSumLogProbs / std::pow(double(std::max(generatedLength, 1)), lengthPenalty_);
    }

    std::vector<Hypothesis> best(std::size_t count)
    {
        std::stable_sort(hypotheses_.begin(), hypotheses_.end(),
                         [](const auto& a, const auto& b) { return a.score > b.score; });
        hypotheses_.resize(std::min(count, hypotheses_.size()));
        return hypotheses_;
    }

private:
    std::size_t numBeams_;
    double lengthPenalty_;
    bool earlyStopping_;
    double worst_ = 1e9;
    std::vector<Hypothesis> hypotheses_;
};

// One input's search: its open beams (its rows of the batch) and its finished hypotheses.
struct BeamRun {
    BeamRun(int beams, const DecodingOptions& options, const std::vector<int>& historyPrefix)
        : beamScores(std::size_t(beams), -1e9), openBeams(std::size_t(beams)),
          histories(std::size_t(beams), historyPrefix), finished(beams, options.lengthPenalty, options.earlyStopping)
    {
        // Only the first beam is live at the start, so the first step does not pick one token B times.
        beamScores[0] = 0;
    }

    std::vector<double> beamScores;
    std::vector<Hypothesis> openBeams;
    Histories histories;
    FinishedHypotheses finished;
    GenerationResult result;
    int budget = 0;
    bool done = false;  // no open beam can beat the finished hypotheses
};

// The beams' next rows after one step: which row each continues and with which token.
struct Continuations {
    std::vector<std::int64_t> parents;  // rows of the batch before the step
    std::vector<std::int64_t> tokens;
};

// One step of one input's search on its rows [first, first + beams) of `scores` (log
// probabilities after the processors) and `out` (the raw logits, for the token reports).
void advance(BeamRun& run, const at::Tensor& scores, const model::StepOutput& out, std::int64_t first, int step,
             const BatchContext& context, const DecodingOptions& options, Continuations& next)
{
    const int beams = options.numBeams;
    const at::Tensor logits = out.logits.narrow(0, first, beams);
    const at::Tensor queryAttention = out.queryAttention.defined() ? out.queryAttention.narrow(0, first, beams) : at::Tensor();
    auto describe = [&](int token, std::int64_t parent) {
        return describeToken(token, logits[parent], queryAttention.defined() ? queryAttention[parent] : at::Tensor(),
                             *context.tokenizer, options.topAlternatives);
    };

    const at::Tensor own = scores.narrow(0, first, beams) +
                           at::tensor(run.beamScores, at::kDouble).to(scores.device(), at::kFloat).unsqueeze(1);
    const std::int64_t vocab = own.size(1);
    const std::int64_t candidates = std::int64_t(std::max<std::size_t>(2, 1 + context.eosIds.size())) * beams;
    const auto [topScores, topIndices] = own.view({1, -1}).topk(std::min(candidates, own.numel()), 1);
    const at::Tensor bestScores = topScores[0].to(at::kCPU, at::kDouble).contiguous();
    const at::Tensor bestIndices = topIndices[0].to(at::kCPU).contiguous();

    std::vector<std::int64_t> parents, tokens;
    std::vector<double> nextScores;
    for (std::int64_t rank = 0; rank < bestIndices.size(0) && std::int64_t(parents.size()) < beams; ++rank) {
        const std::int64_t flat = bestIndices.data_ptr<std::int64_t>()[rank];
        const std::int64_t parent = flat / vocab;
        const int token = int(flat % vocab);
        const double score = bestScores.data_ptr<double>()[rank];
        if (options.stopAtEos && isEos(context.eosIds, token)) {
            if (rank >= beams)
                continue;  // an EOS outside the top `beams` candidates does not finish a beam
            Hypothesis hypothesis = run.openBeams[std::size_t(parent)];
            hypothesis.ids.push_back(token);
            hypothesis.tokens.push_back(describe(token, parent));
            run.finished.add(std::move(hypothesis), score, step + 1);
            continue;
        }
        parents.push_back(parent);
        tokens.push_back(token);
        nextScores.push_back(score);
    }
    run.done = run.finished.isDone(bestScores.max().item<double>(), step + 1);

    std::vector<Hypothesis> nextOpen;
    Histories nextHistories;
    for (std::size_t b = 0; b < parents.size(); ++b) {
        Hypothesis hypothesis = run.openBeams[std::size_t(parents[b])];
        hypothesis.ids.push_back(int(tokens[b]));
        hypothesis.tokens.push_back(describe(int(tokens[b]), parents[b]));
        nextOpen.push_back(std::move(hypothesis));
        nextHistories.push_back(run.histories[std::size_t(parents[b])]);
        nextHistories.back().push_back(int(tokens[b]));
        next.parents.push_back(first + parents[b]);
        next.tokens.push_back(tokens[b]);
    }
    run.openBeams = std::move(nextOpen);
    run.histories = std::move(nextHistories);
    run.beamScores = std::move(nextScores);
}

// The search's outcome: open beams compete with the finished ones on their full length.
void conclude(BeamRun& run, const BatchContext& context, const DecodingOptions& options)
{
    if (!run.done)
        for (std::size_t b = 0; b < run.openBeams.size(); ++b)
            run.finished.add(run.openBeams[b], run.beamScores[b], int(run.openBeams[b].ids.size()));
    for (auto& hypothesis : run.finished.best(std::size_t(options.numReturnSequences))) {
        GeneratedSequence sequence;
        sequence.ids = std::move(hypothesis.ids);
        sequence.tokens = std::move(hypothesis.tokens);
        sequence.score = hypothesis.score;
        sequence.text = finalText(*context.tokenizer, sequence.ids);
        run.result.sequences.push_back(std::move(sequence));
    }
    if (run.result.sequences.empty())
        run.result.sequences.emplace_back();
}

// Beam search has no "current text" until it ends: the best sequence streams at the end.
void streamBest(const GenerationResult& result, const BatchContext& context, const TokenCallback& onToken)
{
    TextStream stream(*context.tokenizer);
    const auto& best = result.sequences.front();
    for (std::size_t i = 0; i < best.tokens.size(); ++i) {
        const bool last = i + 1 == best.tokens.size();
        const std::string delta = isEos(context.eosIds, best.ids[i]) ? stream.finish()
                                                                     : stream.push(best.ids[i]) + (last ? stream.finish() : "");
        if (!onToken(best.tokens[i], delta))
            break;
    }
}

}  // namespace

std::vector<GenerationResult> beamSearch(const BatchContext& context, const DecodingOptions& options,
                                         const TokenCallback& onToken, const ProgressCallback& prefillProgress)
{
    const auto start = Clock::now();
    const model::LanguageModel& model = *context.model;
    model::LanguageModelState& state = *context.state;
    const int beams = options.numBeams;
    const std::size_t count = context.inputs.size();

    std::vector<BeamRun> runs;
    for (std::size_t i = 0; i < count; ++i) {
        runs.emplace_back(beams, options, context.historyPrefix);
        bool limitedByContext = false;
        runs[i].budget = tokenBudget(model, context.inputs[i], options, limitedByContext);
        runs[i].result.stopReason = limitedByContext ? StopReason::ContextFull : StopReason::MaxNewTokens;
    }

    model::StepOutput out = prefillInputs(context, prefillProgress);
    const double prefillMs = millisecondsSince(start);
    // Each input's beams start as copies of its one row: [inputs * beams] rows, input-major.
    const at::Tensor copies = at::arange(std::int64_t(count), at::kLong).repeat_interleave(beams);
    state.selectRows(copies);
    out.logits = out.logits.index_select(0, copies.to(out.logits.device()));
    if (out.queryAttention.defined())
        out.queryAttention = out.queryAttention.index_select(0, copies.to(out.queryAttention.device()));
    for (auto& run : runs) {
        run.result.timings.prefillMs = prefillMs;
        run.result.timings.firstTokenMs = prefillMs;
    }

    ActiveInputs active(count, beams);
    std::vector<bool> ended(count, false);
    std::vector<int> steps(count, 0);
    for (int step = 0; !active.empty(); ++step) {
        if (context.cancelRequested && context.cancelRequested()) {
            for (std::size_t input : active.inputs())
                runs[input].result.stopReason = StopReason::Cancelled;
            break;
        }
        Histories histories;
        for (std::size_t input : active.inputs())
            histories.insert(histories.end(), runs[input].histories.begin(), runs[input].histories.end());
        at::Tensor scores = out.logits.to(at::kFloat).log_softmax(-1);
        applyProcessors(scores, histories, step, options, context.eosIds);

        Continuations next;
        for (std::size_t slot = 0; slot < active.inputs().size(); ++slot) {
            const std::size_t input = active.inputs()[slot];
            BeamRun& run = runs[input];
            Continuations own;
            advance(run, scores, out, active.firstRow(slot), step, context, options, own);
            steps[input] = step + 1;
            if (run.done)
                run.result.stopReason = StopReason::EndOfSequence;
            if (run.done || step + 1 == run.budget) {
                ended[input] = true;
                run.result.timings.totalMs = millisecondsSince(start);
                continue;
            }
            next.parents.insert(next.parents.end(), own.parents.begin(), own.parents.end());
            next.tokens.insert(next.tokens.end(), own.tokens.begin(), own.tokens.end());
        }
        active.retain(ended);
        if (active.empty())
            break;
        // The parents' rows, already in the order of the inputs that go on.
        state.selectRows(at::tensor(next.parents, at::kLong).to(out.logits.device()));
        out = model.step(state, at::tensor(next.tokens, at::kLong).to(out.logits.device()));
    }

    std::vector<GenerationResult> results;
    for (std::size_t i = 0; i < count; ++i) {
        BeamRun& run = runs[i];
        conclude(run, context, options);
        if (run.result.timings.totalMs == 0)
            run.result.timings.totalMs = millisecondsSince(start);
        if (steps[i] > 1)  // tokens after the first (which came with the prefill), per second
            run.result.timings.tokensPerSecond =
                double(steps[i] - 1) / std::max((run.result.timings.totalMs - run.result.timings.prefillMs) / 1000.0, 1e-9);
        results.push_back(std::move(run.result));
    }
    if (onToken && results[0].stopReason != StopReason::Cancelled)
        streamBest(results[0], context, onToken);
    // Leave the state holding one row, so that the next prompt (a session's next turn) can start from it.
    if (count == 1)
        state.selectRows(at::zeros({1}, at::kLong).to(out.logits.device()));
    return results;
}

}  // namespace querylens::generate
