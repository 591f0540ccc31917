#include "model_bench.h"

#include "bench_timing.h"
#include "model/kernels/matmul.h"

#include <c10/core/InferenceMode.h>

#include <tuple>
#include <vector>

using namespace querylens::model;

namespace {

// A 10-token prompt of ordinary ids (the model's vocabulary is random anyway).
std::vector<int> promptIds(int vocab, int first)
{
    std::vector<int> ids;
    for (int i = 0; i < 10; ++i)
        ids.push_back((first + 37 * i) % vocab);
    return ids;
}

double visionFlop(const VisionConfig& c)
{
    const double t = c.tokenCount(), d = c.hidden_size, mlp = c.intermediate_size;
    const double perLayer = 2 * t * (4 * d * d + 2 * d * mlp) + 4 * t * t * d;
    const double patches = 2 * (t - 1) * d * 3 * c.patch_size * c.patch_size;
    return perLayer * c.num_hidden_layers + patches;
}

// Greedy steps after a prefill; returns the seconds each took.
std::vector<double> decode(const LanguageModel& lm, LanguageModelState& state, StepOutput out, int tokens,
                           std::vector<int>* generated)
{
    std::vector<double> seconds;
    for (int i = 0; i < tokens; ++i) {
        const Stopwatch watch;
        const at::Tensor next = out.logits.argmax(-1);
        if (generated)
            generated->push_back(int(next.item<std::int64_t>()));
        out = lm.step(state, next);
        (void)out.logits.data_ptr<float>();
        seconds.push_back(watch.seconds());
    }
    return seconds;
}

// Median milliseconds of `repeats` encodes of `pixels` (after one to warm up), and their spread.
std::pair<double, double> timeEncode(const Blip2Model& model, const at::Tensor& pixels, int repeats)
{
    std::vector<double> ms;
    for (int r = 0; r < repeats + 1; ++r) {
        const Stopwatch watch;
        const ImageFeatures features = model.encode(pixels);
        (void)features.projected.sum().item<float>();
        if (r > 0)
            ms.push_back(watch.milliseconds());
    }
    return {median(ms), spread(ms)};
}

}  // namespace

std::pair<double, double> timeImageEncode(const Blip2Model& model, int batchSize, int repeats)
{
    c10::InferenceMode inference;
    const int size = model.config().vision_config.image_size;
    return timeEncode(model, at::randn({batchSize, 3, size, size}), repeats);
}

double timeDecode(const Blip2Model& model, int tokens)
{
    c10::InferenceMode inference;
    const int size = model.config().vision_config.image_size;
    const ImageFeatures features = model.encode(at::randn({1, 3, size, size}));
    const LanguageModel& lm = model.languageModel();
    auto state = lm.newState();
    const StepOutput out = lm.prefill(*state, features.projected, promptIds(lm.vocabSize(), 100));
    double total = 0;
    for (double s : decode(lm, *state, out, tokens, nullptr))
        total += s;
    return tokens / total;
}

ModelFigures benchModel(const Blip2Model& model, int repeats, int decodeTokens, int batchSize)
{
    c10::InferenceMode inference;
    ModelFigures f;
    const Blip2Config& c = model.config();
    const LanguageModel& lm = model.languageModel();
    f.weightBytes = model.weightBytes();
    f.languageBytesPerToken = lm.stepWeightBytes();
    f.visionGflop = visionFlop(c.vision_config) / 1e9;
    const int size = c.vision_config.image_size;
    const at::Tensor pixels = at::randn({1, 3, size, size});

    std::vector<double> vision, encode, prefill, first, tokenRates, followup;
    ImageFeatures features;
    for (int r = 0; r < repeats + 1; ++r) {  // the first round warms up
        // One encode, split where the Q-Former starts (its first progress report).
        Stopwatch encodeWatch;
        double visionSeconds = 0;
        features = model.encode(pixels, [&](double, const std::string& stage) {
            if (stage == "Q-Former" && visionSeconds == 0)
                visionSeconds = encodeWatch.seconds();
            return true;
        });
        (void)features.projected.sum().item<float>();
        const double encodeSeconds = encodeWatch.seconds();

        const std::vector<int> prompt = promptIds(lm.vocabSize(), 100 + r);
        auto state = lm.newState();
        Stopwatch firstWatch;
        StepOutput out = lm.prefill(*state, features.projected, prompt);
        (void)out.logits.data_ptr<float>();
        const double firstSeconds = firstWatch.seconds();
        std::vector<int> generated;
        const std::vector<double> steps = decode(lm, *state, out, decodeTokens, &generated);
        double total = 0;
        for (double s : steps)
            total += s;

        // The next chat turn: the earlier prompt and answer, then 10 new tokens.
        std::vector<int> next = prompt;
        next.insert(next.end(), generated.begin(), generated.end());
        const std::vector<int> more = promptIds(lm.vocabSize(), 500 + r);
        next.insert(next.end(), more.begin(), more.end());
        Stopwatch followWatch;
        const StepOutput again = lm.prefill(*state, features.projected, next);
        (void)again.logits.data_ptr<float>();
        const double followSeconds = followWatch.seconds();
        f.followupReused = state->reusedPositions();

        if (r == 0)
            continue;
        vision.push_back(visionSeconds * 1000);
        encode.push_back(encodeSeconds * 1000);
        prefill.push_back(firstSeconds * 1000);
        first.push_back((encodeSeconds + firstSeconds) * 1000);
        tokenRates.push_back(decodeTokens / total);
        followup.push_back(followSeconds * 1000);
    }
    f.visionMs = median(vision);
    f.visionSpread = spread(vision);
    f.encodeMs = median(encode);
    f.encodeSpread = spread(encode);
    f.qformerMs = f.encodeMs - f.visionMs;
    f.prefillMs = median(prefill);
    f.prefillSpread = spread(prefill);
    f.firstTokenMs = median(first);
    f.firstTokenSpread = spread(first);
    f.decodeTokensPerSecond = median(tokenRates);
    f.decodeSpread = spread(tokenRates);
    f.followupFirstTokenMs = median(followup);

    if (batchSize > 1) {
        const auto [ms, batchSpread] = timeEncode(model, at::randn({batchSize, 3, size, size}), repeats);
        f.batchSize = batchSize;
        f.batchImagesPerSecond = batchSize / (ms / 1000);
        f.batchSpread = batchSpread;
    }

    // Before the baseline: at::linear on int8 weights widens each matrix to float32 (a 0.5 GB
    // transient for the output head), which is the baseline's memory, not QueryLens's.
    f.peakRssBytes = statusBytes("VmHWM");

    // Baseline in the same run: the same steps with every product through at::linear.
    querylens::model::kernels::setLibtorchOnly(true);
    std::tie(f.eagerEncodeMs, f.eagerEncodeSpread) = timeEncode(model, pixels, repeats);
    auto state = lm.newState();
    const StepOutput out = lm.prefill(*state, features.projected, promptIds(lm.vocabSize(), 7));
    const int baselineTokens = std::max(4, decodeTokens / 4);
    const std::vector<double> steps = decode(lm, *state, out, baselineTokens, nullptr);
    querylens::model::kernels::setLibtorchOnly(false);
    double total = 0;
    for (std::size_t i = 1; i < steps.size(); ++i)  // the first step warms up
        total += steps[i];
    f.baselineDecodeTokensPerSecond = double(steps.size() - 1) / total;
    return f;
}
