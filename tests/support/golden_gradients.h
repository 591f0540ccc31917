#pragma once
// The model under autograd against the reference's gradient goldens
// (<config>/golden_gradients.safetensors): header-only, like golden_tensors.h, so that the
// support library stays free of torch.

#include "golden_tensors.h"

#include "model/blip2.h"

#include <ATen/ATen.h>

#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace testsupport {

// From the golden pixels, with grad mode on: the teacher-forced logits, then for each target
// logit its gradients with respect to the soft prompt and to every Q-Former cross-attention
// probability, compared with the fixtures' tolerances (logits 1e-3; gradients 1e-4 of the
// golden's largest magnitude per target). Returns what differs, or an empty string.
inline std::string compareGoldenGradients(const querylens::model::Blip2Model& model, const std::string& config)
{
    const std::string set = config + "/golden_gradients";
    const at::AutoGradMode gradients(true);
    const at::Tensor pixels = goldenTensor(config, "pixel_values").requires_grad_(true);
    const querylens::model::ImageFeatures features = model.encode(pixels);
    if (!features.projected.requires_grad())
        return "the soft prompt was computed without autograd";
    features.projected.retain_grad();
    std::vector<std::pair<std::string, at::Tensor>> checked = {{"grad_language_projection_output", features.projected}};
    for (std::size_t i = 0; i < features.qformer.crossAttentions.size(); ++i) {
        features.qformer.crossAttentions[i].retain_grad();
        checked.emplace_back("grad_qformer_cross_attentions_L" + std::to_string(features.qformer.crossAttentionLayers[i]),
                             features.qformer.crossAttentions[i]);
    }
    const bool encoderDecoder = model.languageModel().isEncoderDecoder();
    const at::Tensor logits = model.languageModel().forwardLogits(
        features.projected, goldenIdList(set, "input_ids"),
        encoderDecoder ? goldenIdList(set, "decoder_input_ids") : std::vector<int>{});
    std::ostringstream failures;
    const double logitError = (logits - goldenTensor(set, "logits")).abs().max().item<double>();
    if (logitError > 1e-3)
        failures << "logits: max abs diff " << logitError << "; ";

    const auto positions = goldenInts(set, "target_positions");
    const auto targets = goldenInts(set, "target_ids");
    for (std::size_t t = 0; t < targets.size(); ++t) {
        for (auto& entry : checked)
            if (entry.second.grad().defined())
                entry.second.mutable_grad().zero_();
        logits[0][positions[t]][targets[t]].backward({}, /*retain_graph=*/true);
        for (const auto& [name, tensor] : checked) {
            const at::Tensor golden = goldenTensor(set, name)[std::int64_t(t)];
            const at::Tensor grad = tensor.grad().squeeze(0);
            if (grad.sizes() != golden.sizes()) {
                failures << name << ": shape differs; ";
                continue;
            }
            const double worst = (grad - golden).abs().max().item<double>();
            const double bound = 1e-4 * golden.abs().max().item<double>();
            if (worst > bound)
                failures << name << ", target " << t << ": max abs diff " << worst << " > " << bound << "; ";
        }
    }
    if (!pixels.grad().defined() || pixels.grad().abs().sum().item<double>() == 0)
        failures << "no gradient reached the pixels; ";
    return failures.str();
}

}  // namespace testsupport
