// Beam search as Hugging Face's _beam_search with BeamSearchScorer (transformers 4.35 to 4.45):
// scores are log-softmax plus the processors, 2 x beams candidates per step (more with several
// EOS ids), a finished hypothesis is scored sum(log p) / generated_length^length_penalty where
// the length counts its EOS, and the search ends when no open beam can beat the worst kept one.

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

}  // namespace

GenerationResult beamSearch(const GenerationContext& context, const DecodingOptions& options,
                            const TokenCallback& onToken, const ProgressCallback& prefillProgress)
{
    const auto start = Clock::now();
    const model::LanguageModel& model = *context.model;
    model::LanguageModelState& state = *context.state;
    const int beams = options.numBeams;
    bool limitedByContext = false;
    const int budget = tokenBudget(context, options, limitedByContext);

    GenerationResult result;
    model::StepOutput out = model.prefill(state, context.queries, context.promptIds, prefillProgress);
    result.timings.prefillMs = millisecondsSince(start);
    result.timings.firstTokenMs = result.timings.prefillMs;
    state.selectRows(at::zeros({beams}, at::kLong));
    at::Tensor logits = out.logits.expand({beams, -1}).contiguous();
    at::Tensor queryAttention = out.queryAttention.defined() ? out.queryAttention.expand({beams, -1}) : at::Tensor();

    // Only the first beam is live at the start, so the first step does not pick one token B times.
    std::vector<double> beamScores(std::size_t(beams), -1e9);
    beamScores[0] = 0;
    std::vector<Hypothesis> openBeams(static_cast<std::size_t>(beams));
    Histories histories(std::size_t(beams), context.historyPrefix);
    FinishedHypotheses finished(beams, options.lengthPenalty, options.earlyStopping);
    const std::int64_t vocab = logits.size(1);
    const std::int64_t candidates = std::int64_t(std::max<std::size_t>(2, 1 + context.eosIds.size())) * beams;
    result.stopReason = limitedByContext ? StopReason::ContextFull : StopReason::MaxNewTokens;
    bool done = false;
    int step = 0;

    for (; step < budget; ++step) {
        if (context.cancelRequested && context.cancelRequested()) {
            result.stopReason = StopReason::Cancelled;
            break;
        }
        at::Tensor scores = logits.to(at::kFloat).log_softmax(-1);
        applyProcessors(scores, histories, step, options, context.eosIds);
        scores = scores + at::tensor(beamScores, at::kDouble).to(scores.device(), at::kFloat).unsqueeze(1);
        const auto [topScores, topIndices] = scores.view({1, -1}).topk(std::min(candidates, scores.numel()), 1);
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
                Hypothesis hypothesis = openBeams[std::size_t(parent)];
                hypothesis.ids.push_back(token);
                hypothesis.tokens.push_back(describeToken(token, logits[parent],
                                                          queryAttention.defined() ? queryAttention[parent] : at::Tensor(),
                                                          *context.tokenizer, options.topAlternatives));
                finished.add(std::move(hypothesis), score, step + 1);
                continue;
            }
            parents.push_back(parent);
            tokens.push_back(token);
            nextScores.push_back(score);
        }
        done = finished.isDone(bestScores.max().item<double>(), step + 1);

        std::vector<Hypothesis> nextOpen;
        Histories nextHistories;
        for (std::size_t b = 0; b < parents.size(); ++b) {
            Hypothesis hypothesis = openBeams[std::size_t(parents[b])];
            hypothesis.ids.push_back(int(tokens[b]));
            hypothesis.tokens.push_back(describeToken(int(tokens[b]), logits[parents[b]],
                                                      queryAttention.defined() ? queryAttention[parents[b]] : at::Tensor(),
                                                      *context.tokenizer, options.topAlternatives));
            nextOpen.push_back(std::move(hypothesis));
            nextHistories.push_back(histories[std::size_t(parents[b])]);
            nextHistories.back().push_back(int(tokens[b]));
        }
        openBeams = std::move(nextOpen);
        histories = std::move(nextHistories);
        beamScores = nextScores;
        if (done) {
            result.stopReason = StopReason::EndOfSequence;
            break;
        }
        if (step + 1 == budget)
            break;
        state.selectRows(at::tensor(parents, at::kLong).to(context.queries.device()));
        out = model.step(state, at::tensor(tokens, at::kLong).to(context.queries.device()));
        logits = out.logits;
        queryAttention = out.queryAttention;
    }

    // Beams still open at the end compete with the finished ones on their full length.
    if (!done)
        for (std::size_t b = 0; b < openBeams.size(); ++b)
            finished.add(openBeams[b], beamScores[b], int(openBeams[b].ids.size()));

    for (auto& hypothesis : finished.best(std::size_t(options.numReturnSequences))) {
        GeneratedSequence sequence;
        sequence.ids = std::move(hypothesis.ids);
        sequence.tokens = std::move(hypothesis.tokens);
        sequence.score = hypothesis.score;
        sequence.text = finalText(*context.tokenizer, sequence.ids);
        result.sequences.push_back(std::move(sequence));
    }
    if (result.sequences.empty())
        result.sequences.emplace_back();

    // Beam search has no "current text" until it ends: the best sequence streams at the end.
    if (onToken && result.stopReason != StopReason::Cancelled) {
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
    // Leave the state holding one row, so that the next prompt can start from it.
    state.selectRows(at::zeros({1}, at::kLong).to(context.queries.device()));

    result.timings.totalMs = millisecondsSince(start);
    if (step > 0)
        result.timings.tokensPerSecond = double(step) / std::max((result.timings.totalMs - result.timings.prefillMs) / 1000.0, 1e-9);
    return result;
}

}  // namespace querylens::generate
