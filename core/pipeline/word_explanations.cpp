#include "querylens/word_explanations.h"

#include "model/kernels/openblas_core.h"
#include "pipeline/attention_gradients.h"
#include "pipeline/model_impl.h"
#include "querylens/error.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

namespace querylens {

using explain::camOf;
using explain::floatsOf;

std::vector<WordExplanation> explainWords(const Model& model, const ImageEncoding& image, const GenerationResult& result,
                                          const std::vector<std::vector<int>>& words, const ProgressCallback& progress)
{
    const Model::Impl& impl = model.impl();
    if (!impl.info.canGenerate)
        throw Error(capabilitySummary(impl.info));
    if (result.sequences.empty())
        throw Error("nothing was generated: there is no word to explain");
    const GeneratedSequence& sequence = result.sequences.front();
    const std::vector<int>& ids = sequence.ids;
    std::size_t tokenCount = 0;
    for (const auto& word : words)
        for (int t : word) {
            if (t < 0 || std::size_t(t) >= ids.size())
                throw Error("token " + std::to_string(t) + " is not among the " + std::to_string(ids.size()) +
                            " generated tokens");
            ++tokenCount;
        }
    const model::Blip2Model& blip2 = *impl.blip2;
    const model::LanguageModel& lm = blip2.languageModel();
    const bool encoderDecoder = lm.isEncoderDecoder();
    if (!encoderDecoder && result.promptIds.empty())
        throw Error("the generation result has no prompt ids: explain a result of this program's own generation");
    std::vector<int> queryIndices = result.queryIndices;
    if (queryIndices.empty())
        for (int q = 0; q < image.queryCount(); ++q)
            queryIndices.push_back(q);

    // A normal (not inference) pass with autograd, float32: the encoding's tensors are cloned
    // out of inference mode; the query tokens are the leaf every Q-Former and language-model
    // attention hangs from.
    const c10::InferenceMode noInference(false);
    const at::AutoGradMode gradients(true);
    explain::TrackedTensors tracked;
    const at::Tensor vision = image.tensors().visionHidden.clone();
    const at::Tensor queryTokens = blip2.queryTokens().detach().to(at::kFloat).clone().requires_grad_(true);
    const model::QFormerOutput qformer = blip2.qformer()(queryTokens, vision);
    for (const auto& t : qformer.selfAttentions)
        tracked.track(t);
    for (const auto& t : qformer.crossAttentions)
        tracked.track(t);
    const at::Tensor index =
        at::tensor(std::vector<std::int64_t>(queryIndices.begin(), queryIndices.end()), at::kLong).to(vision.device());
    const at::Tensor softPrompt = blip2.project(qformer.lastHiddenState).index_select(1, index);  // [1, Q', hidden]
    tracked.track(softPrompt);
    const std::int64_t kept = softPrompt.size(1);

    // Teacher forcing: every generated token but the last goes in, so that position row(k)
    // predicts token k.
    model::LanguageModelAttentions attentions;
    const std::vector<int> fed(ids.begin(), ids.end() - 1);
    at::Tensor logits;
    std::int64_t firstRow = 0;
    if (encoderDecoder) {
        std::vector<int> decoder{impl.historyPrefix.empty() ? 0 : impl.historyPrefix.front()};
        decoder.insert(decoder.end(), fed.begin(), fed.end());
        logits = lm.forwardLogits(softPrompt, result.promptIds, decoder, &attentions);  // [1, n, vocab]
    } else {
        std::vector<int> input = result.promptIds;
        input.insert(input.end(), fed.begin(), fed.end());
        logits = lm.forwardLogits(softPrompt, input, {}, &attentions);  // [1, Q' + prompt + n - 1, vocab]
        firstRow = kept + std::int64_t(result.promptIds.size()) - 1;
    }
    for (const auto* list : {&attentions.self, &attentions.encoderSelf, &attentions.cross})
        for (const auto& t : *list)
            tracked.track(t);
    const at::Tensor logProbabilities = at::log_softmax(logits.detach(), -1);
    const QueryMaps meanMaps = selectMaps(image.crossAttention(), image.selfAttention(), MapSelection{});
    // The attention the explorer shows: OPT's self-attention, T5's decoder cross-attention.
    const std::vector<at::Tensor>& toQueries = encoderDecoder ? attentions.cross : attentions.self;

    std::vector<WordExplanation> explanations;
    std::size_t done = 0;
    for (const auto& word : words) {
        WordExplanation out;
        out.tokens = word;
        out.queryIndices = queryIndices;
        out.crossAttentionLayers = qformer.crossAttentionLayers;
        for (int k : word) {
            if (progress && !progress(double(done) / double(std::max<std::size_t>(1, tokenCount)), "gradient maps"))
                throw Cancelled();
            const std::int64_t row = firstRow + k;
            const at::Tensor target = logits[0][row][ids[std::size_t(k)]];
            tracked.clearGradients();
            target.backward({}, /*retain_graph=*/true);

            TokenCams cams;
            std::size_t cross = 0;
            for (std::size_t l = 0; l < qformer.selfAttentions.size(); ++l) {
                QFormerLayerCam layer{camOf(qformer.selfAttentions[l]), std::nullopt};
                if (cross < qformer.crossAttentionLayers.size() && qformer.crossAttentionLayers[cross] == int(l))
                    layer.cross = camOf(qformer.crossAttentions[cross++]);
                cams.qformer.push_back(std::move(layer));
            }
            for (const auto& t : attentions.self)
                cams.lmSelf.push_back(camOf(t));
            for (const auto& t : attentions.encoderSelf)
                cams.lmEncoderSelf.push_back(camOf(t));
            for (const auto& t : attentions.cross)
                cams.lmCross.push_back(camOf(t));
            cams.targetRow = int(row);
            // [layers, H, kept] -> mean over layers and heads
            std::vector<at::Tensor> rows;
            for (const auto& t : toQueries)
                rows.push_back(t.detach()[0].select(1, row).narrow(-1, 0, kept));
            cams.attentionToQueries = floatsOf(at::stack(rows).mean(at::IntArrayRef{0, 1}));
            cams.inputTimesGradient = inputTimesGradient(floatsOf(softPrompt[0]), floatsOf(softPrompt.grad()[0]), int(kept));
            cams.logit = target.item<double>();
            cams.logProbability = logProbabilities[0][row][ids[std::size_t(k)]].item<double>();
            addTokenToWord(out, cams, encoderDecoder, meanMaps);
            if (std::size_t(k) < sequence.tokens.size())
                out.text += sequence.tokens[std::size_t(k)].text;
            ++done;
        }
        // Leading and trailing spaces of the tokens' text are not part of the word.
        const auto first = out.text.find_first_not_of(' ');
        out.text = first == std::string::npos ? std::string() : out.text.substr(first, out.text.find_last_not_of(' ') - first + 1);
        explanations.push_back(std::move(out));
    }
    return explanations;
}

std::string gradientMapSpeedWarning() { return model::kernels::forcedOpenBlasWarning(); }

}  // namespace querylens
