// The scores the faithfulness curves track, on perturbed copies of an encoded image: a
// generated word's teacher-forced log-probability, or a phrase's ITM match logit.

#include "pipeline/matching_internal.h"
#include "pipeline/model_impl.h"
#include "querylens/error.h"
#include "querylens/matching.h"
#include "querylens/word_explanations.h"

#include <c10/core/InferenceMode.h>

#include <cmath>

namespace querylens {

namespace {

// A Gaussian blur (sigma = the patch size, reflected edges) of pixels [1, 3, S, S], separably.
at::Tensor blurred(const at::Tensor& pixels, int patch)
{
    const double sigma = patch;
    const std::int64_t radius = std::min<std::int64_t>(std::int64_t(3 * sigma), pixels.size(-1) - 1);
    const at::Tensor x = at::arange(-radius, radius + 1, pixels.options()).to(at::kFloat);
    at::Tensor kernel = at::exp(-(x * x) / (2 * sigma * sigma));
    kernel = kernel / kernel.sum();
    const at::Tensor horizontal = kernel.view({1, 1, 1, -1}).expand({3, 1, 1, -1}).contiguous();
    const at::Tensor vertical = kernel.view({1, 1, -1, 1}).expand({3, 1, -1, 1}).contiguous();
    at::Tensor out = at::reflection_pad2d(pixels, {radius, radius, 0, 0});
    out = at::conv2d(out, horizontal, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, 3);
    out = at::reflection_pad2d(out, {0, 0, radius, radius});
    return at::conv2d(out, vertical, at::Tensor(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}, 3);
}

at::Tensor baselineImage(const at::Tensor& pixels, PerturbationBaseline baseline, int patch)
{
    // In normalised pixels the normalisation mean is 0: the "mean image".
    return baseline == PerturbationBaseline::Blur ? blurred(pixels, patch) : at::zeros_like(pixels);
}

// [B, 3, S, S]: each mask's patches (1 = baseline) taken from `baseline`, the rest from `pixels`.
at::Tensor perturbedBatch(const at::Tensor& pixels, const at::Tensor& baseline,
                          const std::vector<std::vector<std::uint8_t>>& masks, int grid, int patch)
{
    std::vector<float> values;
    for (const auto& mask : masks)
        values.insert(values.end(), mask.begin(), mask.end());
    const std::int64_t b = std::int64_t(masks.size());
    at::Tensor m = at::tensor(values).view({b, 1, grid, grid}).to(pixels.device());
    m = m.repeat_interleave(patch, 2).repeat_interleave(patch, 3);  // [B, 1, grid*patch, grid*patch]
    const std::int64_t size = pixels.size(-1);
    if (m.size(-1) < size)  // an image not a whole number of patches: the rest is never masked
        m = at::constant_pad_nd(m, {0, size - m.size(-1), 0, size - m.size(-2)});
    return pixels * (1 - m) + baseline * m;
}

struct Perturbation {
    at::Tensor pixels, baseline;
    int grid = 0, patch = 0;
};

Perturbation perturbationOf(const Model& model, const ImageEncoding& image, PerturbationBaseline baseline)
{
    Perturbation p;
    p.grid = model.info().gridSize;
    p.patch = model.info().patchSize;
    p.pixels = image.tensors().pixelValues.to(model.impl().blip2->device());
    p.baseline = baselineImage(p.pixels, baseline, p.patch);
    return p;
}

void checkMap(const std::vector<float>& map, int grid)
{
    if (map.size() != std::size_t(grid) * std::size_t(grid))
        throw Error("the map has " + std::to_string(map.size()) + " values; the model's patch grid has " +
                    std::to_string(grid * grid));
}

}  // namespace

FaithfulnessReport wordFaithfulness(const Model& model, const ImageEncoding& image, const GenerationResult& result,
                                    const std::vector<int>& tokens, const std::vector<float>& map,
                                    const FaithfulnessOptions& options, const ProgressCallback& progress)
{
    const Model::Impl& impl = model.impl();
    if (!impl.info.canGenerate)
        throw Error(capabilitySummary(impl.info));
    checkMap(map, impl.info.gridSize);
    const std::vector<int>& ids = result.sequences.at(0).ids;
    for (int t : tokens)
        if (t < 0 || std::size_t(t) >= ids.size())
            throw Error("token " + std::to_string(t) + " is not among the generated tokens");
    const c10::InferenceMode inference;
    const model::Blip2Model& blip2 = *impl.blip2;
    const model::LanguageModel& lm = blip2.languageModel();
    const Perturbation p = perturbationOf(model, image, options.baseline);
    std::vector<int> queryIndices = result.queryIndices;
    if (queryIndices.empty())
        for (int q = 0; q < image.queryCount(); ++q)
            queryIndices.push_back(q);
    const at::Tensor kept = at::tensor(std::vector<std::int64_t>(queryIndices.begin(), queryIndices.end()), at::kLong)
                                .to(blip2.device());
    // The teacher-forced input, as explainWords builds it.
    const std::vector<int> fed(ids.begin(), ids.end() - 1);
    std::vector<int> input = result.promptIds, decoder;
    std::int64_t firstRow = 0;
    if (lm.isEncoderDecoder()) {
        decoder.push_back(impl.historyPrefix.empty() ? 0 : impl.historyPrefix.front());
        decoder.insert(decoder.end(), fed.begin(), fed.end());
    } else {
        input.insert(input.end(), fed.begin(), fed.end());
        firstRow = std::int64_t(queryIndices.size()) + std::int64_t(result.promptIds.size()) - 1;
    }
    const MaskScorer score = [&](const std::vector<std::vector<std::uint8_t>>& masks) {
        const model::ImageFeatures features = blip2.encode(perturbedBatch(p.pixels, p.baseline, masks, p.grid, p.patch));
        const at::Tensor softPrompts = features.projected.index_select(1, kept);  // [B, Q', hidden]
        std::vector<double> scores;
        for (std::int64_t b = 0; b < softPrompts.size(0); ++b) {
            const at::Tensor logp = at::log_softmax(lm.forwardLogits(softPrompts.narrow(0, b, 1), input, decoder), -1)[0];
            double sum = 0;
            for (int t : tokens)
                sum += logp[firstRow + t][ids[std::size_t(t)]].item<double>();
            scores.push_back(sum);
        }
        return scores;
    };
    return faithfulnessCurves(map, options, "log p(word)", score, progress);
}

FaithfulnessReport phraseFaithfulness(const Model& model, const ImageEncoding& image, const std::string& text,
                                      const std::vector<float>& map, const FaithfulnessOptions& options,
                                      const ProgressCallback& progress)
{
    const model::ImageTextHeads& heads = matching::heads(model);
    checkMap(map, model.info().gridSize);
    const c10::InferenceMode inference;
    const model::Blip2Model& blip2 = *model.impl().blip2;
    const Perturbation p = perturbationOf(model, image, options.baseline);
    const matching::TextBatch batch = matching::batch(model, {matching::tokenize(model, text)});
    const MaskScorer score = [&](const std::vector<std::vector<std::uint8_t>>& masks) {
        const at::Tensor vision = blip2.visionEncoder()(perturbedBatch(p.pixels, p.baseline, masks, p.grid, p.patch));
        const std::int64_t b = vision.size(0);
        const model::ItmOutput itm = heads.matching(blip2.qformer(), blip2.queryTokens(), batch.ids.expand({b, -1}),
                                                    batch.mask.expand({b, -1}), vision);
        const at::Tensor match = itm.logits.select(1, 1).to(at::kCPU, at::kDouble).contiguous();
        return std::vector<double>(match.data_ptr<double>(), match.data_ptr<double>() + match.numel());
    };
    return faithfulnessCurves(map, options, "ITM match logit", score, progress);
}

}  // namespace querylens
