#include "querylens/matching.h"

#include "pipeline/matching_internal.h"
#include "pipeline/model_impl.h"
#include "querylens/error.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>

namespace querylens {

namespace matching {

const model::ImageTextHeads& heads(const Model& model)
{
    const Model::Impl& impl = model.impl();
    const model::ImageTextHeads* heads = impl.blip2->matching();
    if (!heads || !impl.wordPiece)
        throw Error(capabilitySummary(impl.info));
    return *heads;
}

text::WordPieceEncoding tokenize(const Model& model, const std::string& text)
{
    heads(model);
    const Model::Impl& impl = model.impl();
    return impl.wordPiece->encodeText(text, /*addSpecialTokens=*/true, impl.maxTextTokens);
}

TextBatch batch(const Model& model, const std::vector<text::WordPieceEncoding>& texts)
{
    const Model::Impl& impl = model.impl();
    std::size_t longest = 0;
    for (const auto& t : texts)
        longest = std::max(longest, t.pieces.size());
    const std::int64_t pad = impl.wordPiece->padId().value_or(impl.blip2->config().qformer_config.pad_token_id);
    // Right-padded to the longest, mask 0 there (the processor's padding=True).
    TextBatch out;
    out.ids = at::full({std::int64_t(texts.size()), std::int64_t(longest)}, pad, at::kLong);
    out.mask = at::zeros({std::int64_t(texts.size()), std::int64_t(longest)}, at::kLong);
    for (std::size_t i = 0; i < texts.size(); ++i)
        for (std::size_t j = 0; j < texts[i].pieces.size(); ++j) {
            out.ids[std::int64_t(i)][std::int64_t(j)] = texts[i].pieces[j].id;
            out.mask[std::int64_t(i)][std::int64_t(j)] = 1;
        }
    const at::Device device = impl.blip2->device();
    out.ids = out.ids.to(device);
    out.mask = out.mask.to(device);
    return out;
}

}  // namespace matching

std::vector<TextMatch> matchTexts(const Model& model, const ImageEncoding& image, const std::vector<std::string>& texts)
{
    const model::ImageTextHeads& heads = matching::heads(model);
    if (texts.empty())
        return {};
    const c10::InferenceMode inference;
    const model::Blip2Model& blip2 = *model.impl().blip2;
    std::vector<text::WordPieceEncoding> encodings;
    for (const auto& text : texts)
        encodings.push_back(matching::tokenize(model, text));
    const matching::TextBatch batch = matching::batch(model, encodings);

    // ITM: one forward of the image (repeated) with every text.
    const model::ItmOutput itm =
        heads.matching(blip2.qformer(), blip2.queryTokens(), batch.ids, batch.mask, image.tensors().visionHidden);
    const at::Tensor itmLogits = itm.logits.to(at::kCPU, at::kFloat).contiguous();  // [T, 2]
    // ITC: the image's query embeddings [Q, D] against the texts' [T, D].
    const at::Tensor textEmbeds = heads.textEmbeds(blip2.qformer(), batch.ids, batch.mask).embeds;
    const at::Tensor similarity = at::matmul(image.tensors().imageEmbeds[0], textEmbeds.t()).to(at::kCPU).contiguous();  // [Q, T]

    std::vector<TextMatch> matches;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        TextMatch m;
        m.text = texts[i];
        m.inputIds = encodings[i].ids();
        for (const auto& piece : encodings[i].pieces)
            m.tokens.push_back(piece.text);
        m.truncated = encodings[i].truncated;
        m.itmLogits = {itmLogits[std::int64_t(i)][0].item<float>(), itmLogits[std::int64_t(i)][1].item<float>()};
        // softmax over the two logits, for the match class
        m.itmProbability = 1.0 / (1.0 + std::exp(double(m.itmLogits[0]) - double(m.itmLogits[1])));
        const at::Tensor column = similarity.select(1, std::int64_t(i)).contiguous();
        m.queryItc.assign(column.data_ptr<float>(), column.data_ptr<float>() + column.numel());
        const auto best = std::max_element(m.queryItc.begin(), m.queryItc.end());
        m.bestQuery = int(best - m.queryItc.begin());
        m.itcSimilarity = *best;
        matches.push_back(std::move(m));
    }
    return matches;
}

ImageEmbedding imageEmbedding(const Model& model, const ImageEncoding& image)
{
    matching::heads(model);
    const at::Tensor embeds = image.tensors().imageEmbeds[0].to(at::kCPU, at::kFloat).contiguous();  // [Q, D]
    ImageEmbedding out;
    out.queries = int(embeds.size(0));
    out.size = int(embeds.size(1));
    out.values.assign(embeds.data_ptr<float>(), embeds.data_ptr<float>() + embeds.numel());
    return out;
}

TextEmbedding textEmbedding(const Model& model, const std::string& text)
{
    const model::ImageTextHeads& heads = matching::heads(model);
    const c10::InferenceMode inference;
    const text::WordPieceEncoding encoding = matching::tokenize(model, text);
    const matching::TextBatch batch = matching::batch(model, {encoding});
    const at::Tensor embeds =
        heads.textEmbeds(model.impl().blip2->qformer(), batch.ids, batch.mask).embeds[0].to(at::kCPU).contiguous();
    TextEmbedding out;
    out.values.assign(embeds.data_ptr<float>(), embeds.data_ptr<float>() + embeds.numel());
    out.inputIds = encoding.ids();
    return out;
}

ItcScore itcScore(const ImageEmbedding& image, const TextEmbedding& text)
{
    if (std::size_t(image.size) != text.values.size())
        throw Error("the image embedding has " + std::to_string(image.size) + " values per query, the text's " +
                    std::to_string(text.values.size()) + ": they come from different models");
    ItcScore score;
    score.similarity = -2;
    for (int q = 0; q < image.queries; ++q) {
        double dot = 0;
        const float* row = image.values.data() + std::size_t(q) * std::size_t(image.size);
        for (int d = 0; d < image.size; ++d)
            dot += double(row[d]) * double(text.values[std::size_t(d)]);
        if (dot > score.similarity) {
            score.similarity = dot;
            score.bestQuery = q;
        }
    }
    return score;
}

}  // namespace querylens
