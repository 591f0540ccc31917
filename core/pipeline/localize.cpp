// Text localisation with the image-text matching model: the ITM match logit under autograd.

#include "pipeline/attention_gradients.h"
#include "pipeline/matching_internal.h"
#include "pipeline/model_impl.h"
#include "querylens/error.h"
#include "querylens/matching.h"

#include <c10/core/InferenceMode.h>

namespace querylens {

PhraseLocalization localizeText(const Model& model, const ImageEncoding& image, const std::string& text,
                                const ProgressCallback& progress)
{
    const model::ImageTextHeads& heads = matching::heads(model);
    const model::Blip2Model& blip2 = *model.impl().blip2;
    PhraseLocalization out;
    out.match = matchTexts(model, image, {text}).front();
    if (progress && !progress(0.3, "text localisation"))
        throw Cancelled();

    const text::WordPieceEncoding encoding = matching::tokenize(model, text);
    std::vector<int> wordIndex(encoding.words.size(), -1);
    for (std::size_t i = 0; i < encoding.pieces.size(); ++i) {
        const int w = encoding.pieces[i].word;
        if (w < 0)
            continue;
        if (wordIndex[std::size_t(w)] < 0) {
            wordIndex[std::size_t(w)] = int(out.words.size());
            out.words.push_back(encoding.words[std::size_t(w)]);
            out.wordTokens.emplace_back();
        }
        out.wordTokens[std::size_t(wordIndex[std::size_t(w)])].push_back(int(i));
    }

    // Under autograd from the query tokens (a leaf), out of inference mode.
    const c10::InferenceMode noInference(false);
    const at::AutoGradMode gradients(true);
    const matching::TextBatch batch = matching::batch(model, {encoding});
    const at::Tensor queries = blip2.queryTokens().detach().to(at::kFloat).clone().requires_grad_(true);
    const model::ItmOutput itm =
        heads.matching(blip2.qformer(), queries, batch.ids, batch.mask, image.tensors().visionHidden.clone());
    explain::TrackedTensors tracked;
    for (const auto& t : itm.qformer.selfAttentions)
        tracked.track(t);
    for (const auto& t : itm.qformer.crossAttentions)
        tracked.track(t);
    itm.logits[0][1].backward();
    if (progress && !progress(0.9, "text localisation"))
        throw Cancelled();

    std::vector<FloatMatrix> selfCams, crossCams;
    for (const auto& t : itm.qformer.selfAttentions)
        selfCams.push_back(explain::camOf(t));
    for (const auto& t : itm.qformer.crossAttentions)
        crossCams.push_back(explain::camOf(t));
    out.maps = localizationMaps(selfCams, crossCams, int(queries.size(1)), out.wordTokens);
    out.crossAttentionLayers = itm.qformer.crossAttentionLayers;
    out.gridSize = model.info().gridSize;
    return out;
}

}  // namespace querylens
