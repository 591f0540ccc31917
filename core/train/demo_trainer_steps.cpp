// Each stage's step of the demo trainer: its batch, its losses, and their gradients, computed in
// shards where the rows allow (sharded_backward.h). The stages around them are demo_trainer.cpp.

#include "train/demo_trainer.h"

#include "train/scene_random.h"
#include "train/sharded_backward.h"

#include <ATen/ATen.h>

#include <cmath>

namespace querylens::train {

namespace {

constexpr double kItcTemperature = 0.07;  // BLIP-2's initial `temp`, kept fixed here

std::vector<std::int64_t> wide(const std::vector<int>& ids) { return {ids.begin(), ids.end()}; }

// Cross-entropy of logits [B, T, V] against targets [B, T], weighted by weights [B, T] (0 leaves
// a position out) and divided by `normaliser`: by default the weights' sum, the weighted mean. A
// shard of a batch passes the batch's sum, so that the shards' losses add up to the batch's.
at::Tensor maskedCrossEntropy(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& weights,
                              const at::Tensor& normaliser = {})
{
    const at::Tensor losses = at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}), {},
                                                     at::Reduction::None)
                                  .view(targets.sizes());
    const at::Tensor w = weights.to(at::kFloat);
    return (losses * w).sum() / (normaliser.defined() ? normaliser : w.sum()).clamp_min(1.0);
}

// Which next-token predictions of a padded batch the loss scores, [B, T - 1]: those of each
// row's target tokens (the text to predict), none of the prompts or the padding. Prediction t
// is of token t + 1.
at::Tensor scoredPositions(const PaddedIds& batch, const std::vector<std::vector<TokenSpan>>& targets)
{
    at::Tensor weights = at::zeros({batch.ids.size(0), batch.ids.size(1) - 1}, at::kFloat);
    auto w = weights.accessor<float, 2>();
    for (std::size_t i = 0; i < targets.size(); ++i)
        for (const TokenSpan& span : targets[i])
            for (std::size_t t = std::max<std::size_t>(span.begin, 1); t < span.end; ++t)
                w[std::int64_t(i)][std::int64_t(t - 1)] = 1;
    return weights;
}

// Objects cover a small part of the picture: their patches weigh 4x the background's in the
// ViT's patch heads. colour: [B, P], 0 for the background.
at::Tensor patchWeights(const at::Tensor& colour) { return 1.0 + 3.0 * colour.gt(0).to(at::kFloat); }

constexpr std::int64_t kMaxObjects = demo::kMaxObjects;

// [B, objects, P] of 0/1: which patches each object owns, from the patch labels [B, P] (0: none).
at::Tensor objectMembership(const at::Tensor& object)
{
    return at::one_hot(object, kMaxObjects + 1).narrow(-1, 1, kMaxObjects).transpose(1, 2).to(at::kFloat);
}

// Captions that are the same string are all positives of each other in ITC (a batch often
// holds "a small red circle" twice); [B, B] of 0/1.
at::Tensor sameCaption(const std::vector<demo::Scene>& scenes)
{
    const auto b = std::int64_t(scenes.size());
    at::Tensor same = at::zeros({b, b});
    auto a = same.accessor<float, 2>();
    for (std::int64_t i = 0; i < b; ++i)
        for (std::int64_t j = 0; j < b; ++j)
            a[i][j] = scenes[std::size_t(i)].caption == scenes[std::size_t(j)].caption ? 1.0f : 0.0f;
    return same;
}

// One ITM negative per row among the rows whose caption differs: BLIP's hard-negative mining
// draws it in proportion to softmax(similarity); here half of that mass is spread evenly over
// the other rows. With hard negatives alone (captions that differ in one word, once ITC works)
// the ITM loss never left the prior's ln 3 - 2/3 ln 2 = 0.637 in 400 steps: the head needs easy
// pairs to start from.
at::Tensor hardNegatives(const at::Tensor& similarity, const at::Tensor& same, at::Generator& generator)
{
    const at::Tensor other = 1 - same;
    const at::Tensor hard = at::softmax(similarity, 1) * other;
    const at::Tensor weights = 0.5 * hard / hard.sum(1, true).clamp_min(1e-12) +
                               0.5 * other / other.sum(1, true).clamp_min(1.0) + 1e-6 * other;
    return at::multinomial(weights, 1, false, generator).squeeze(1);
}

}  // namespace

std::map<std::string, at::Tensor> DemoTrainer::visionGradients(int shards)
{
    // Each image is its own row here too, so the batch runs in shards like stage 2's: a step took
    // 0.31 s on one thread of a Zen 5 and 0.32 s on two. The losses' divisors are the batch's.
    const at::Tensor rows = batchIndices(options_.visionBatch);
    const at::Tensor patchLabels = pool_.colour.index_select(0, rows);
    const at::Tensor membership = objectMembership(pool_.object.index_select(0, rows));
    VisionNormalisers batch;
    batch.patches = patchWeights(patchLabels).sum();
    batch.positions = at::scalar_tensor(double(patchLabels.numel()));
    batch.objects = membership.sum(-1).gt(0).sum().to(at::kFloat);
    return backwardInShards(shards, rows.size(0), [&](const Shard& shard) {
        return visionLosses({rows.narrow(0, shard.first, shard.count), membership.narrow(0, shard.first, shard.count)},
                            batch);
    });
}

std::map<std::string, at::Tensor> DemoTrainer::visionLosses(const VisionRows& shard, const VisionNormalisers& batch)
{
    const DemoGeometry& g = options_.geometry;
    const at::Tensor& rows = shard.rows;
    const at::Tensor colour = pool_.colour.index_select(0, rows), shape = pool_.shape.index_select(0, rows);
    const at::Tensor size = pool_.size.index_select(0, rows);
    const at::Tensor hidden = visionForward(parameters_, g, pixelValues(pool_, rows));
    const at::Tensor patches = hidden.narrow(1, 1, g.grid() * g.grid());  // CLS left out

    const at::Tensor weights = patchWeights(colour);
    auto head = [&](const std::string& name, const at::Tensor& input) {
        return at::linear(input, parameters_[name + ".weight"], parameters_[name + ".bias"]);
    };
    std::map<std::string, at::Tensor> losses;
    losses["patch_colour"] = maskedCrossEntropy(head("head.patch_colour", patches), colour, weights, batch.patches);
    losses["patch_shape"] = maskedCrossEntropy(head("head.patch_shape", patches), shape, weights, batch.patches);
    losses["patch_size"] = maskedCrossEntropy(head("head.patch_size", patches), size, weights, batch.patches);
    const std::int64_t b = patches.size(0);
    const at::Tensor ones = at::ones({b, patches.size(1)});
    losses["patch_position"] =
        0.5 * (maskedCrossEntropy(head("head.patch_row", patches), pool_.row.unsqueeze(0).expand({b, -1}), ones, batch.positions) +
               maskedCrossEntropy(head("head.patch_column", patches), pool_.column.unsqueeze(0).expand({b, -1}), ones,
                                  batch.positions));
    // Per object, the mean of its patches' outputs: a shape is known from its outline, which
    // only some of its patches see, and the Q-Former reads an object by pooling its patches too.
    // Per-patch shape labels alone left the ViT near chance on shapes (37 % of patches).
    const at::Tensor& member = shard.membership;  // [B, objects, P]
    const at::Tensor count = member.sum(-1);      // [B, objects]
    const at::Tensor pooled = at::bmm(member, patches) / count.clamp_min(1.0).unsqueeze(-1);  // [B, objects, H]
    at::Tensor objectShape = at::zeros({b, kMaxObjects}, at::kLong), objectSize = at::zeros({b, kMaxObjects}, at::kLong);
    const std::vector<demo::Scene> scenes = pooledScenes(rows);
    for (std::int64_t i = 0; i < b; ++i)
        for (std::size_t k = 0; k < scenes[std::size_t(i)].objects.size() && k < std::size_t(kMaxObjects); ++k) {
            objectShape[i][std::int64_t(k)] = int(scenes[std::size_t(i)].objects[k].shape);
            objectSize[i][std::int64_t(k)] = int(scenes[std::size_t(i)].objects[k].size);
        }
    const at::Tensor present = count.gt(0);
    losses["object_shape"] = maskedCrossEntropy(head("head.object_shape", pooled), objectShape, present, batch.objects);
    losses["object_size"] = maskedCrossEntropy(head("head.object_size", pooled), objectSize, present, batch.objects);
    losses["total"] = losses["patch_colour"] + losses["patch_shape"] + losses["patch_size"] + 0.2 * losses["patch_position"] +
                      losses["object_shape"] + 0.5 * losses["object_size"];
    return losses;
}

std::map<std::string, at::Tensor> DemoTrainer::languageGradients(int step, int shards)
{
    const DemoGeometry& g = options_.geometry;
    demo::SceneRandom choice(options_.seed + kChoiceSeedOffset, std::uint64_t(step) * 2 + 1);
    demo::SceneOptions layoutOnly;
    layoutOnly.draw = false;
    std::vector<std::vector<std::int64_t>> rows;
    std::vector<std::vector<TokenSpan>> targets;
    for (int i = 0; i < options_.textBatch; ++i) {
        const demo::Scene scene = demo::generateScene(options_.seed + kTextSeedOffset, 10000 + step * options_.textBatch + i, layoutOnly);
        // The context occupies the 32 positions the soft prompt will: the caption (or, one time
        // in ten, nothing), filled up with <pad>. After BOS comes the text to predict, which the
        // context often determines: the caption again, or an answer about the same scene.
        std::vector<std::int64_t> row;
        if (!choice.chance(0.1))
            row = wide(bpe_->encode(scene.caption, false));
        row.resize(std::size_t(g.queries), kOptPad);
        row.push_back(kOptBos);
        // sceneTexts: the caption, then one "Question: q Answer: a" per question.
        const std::vector<std::string> texts = sceneTexts(scene);
        std::size_t text = 0;
        if (!choice.chance(0.4))
            text = 1 + std::size_t(choice.below(int(scene.questions.size())));
        const std::size_t begin = row.size();
        for (int id : bpe_->encode(texts[text], false))
            row.push_back(id);
        row.push_back(newline_);
        targets.push_back({{begin, row.size()}});
        rows.push_back(row);
    }
    const PaddedIds batch = padRows(rows, kOptPad);
    const std::int64_t l = batch.ids.size(1);
    const at::Tensor weights = scoredPositions(batch, targets);
    const at::Tensor scoredTokens = weights.sum();
    // Rows are independent, as in stage 2: a shard per core, each loss its share of the batch's.
    return backwardInShards(shards, std::int64_t(rows.size()), [&](const Shard& shard) {
        const at::Tensor ids = batch.ids.narrow(0, shard.first, shard.count);
        const at::Tensor logits = optForward(parameters_, g, {}, ids);
        ShardLosses losses;
        losses["lm"] = maskedCrossEntropy(logits.narrow(1, 0, l - 1), ids.narrow(1, 1, l - 1),
                                          weights.narrow(0, shard.first, shard.count), scoredTokens);
        losses["total"] = losses["lm"];
        return losses;
    });
}

at::Tensor DemoTrainer::entropyPenalty(const std::vector<at::Tensor>& crossProbs) const
{
    // Mean normalised entropy of every query's cross-attention (1: uniform, 0: one token).
    at::Tensor sum = at::zeros({});
    for (const at::Tensor& p : crossProbs)
        sum = sum - (p * at::log(p + 1e-9)).sum(-1).mean() / std::log(double(p.size(-1)));
    return sum / double(crossProbs.size());
}

std::map<std::string, at::Tensor> DemoTrainer::representationGradients(int shards)
{
    const DemoGeometry& g = options_.geometry;
    const int b = options_.stage1Batch;
    const at::Tensor picked = batchIndices(b);
    const at::Tensor image = frozenImageFeatures(picked);
    const std::vector<demo::Scene> scenes = pooledScenes(picked);
    std::vector<std::vector<std::int64_t>> captions;
    for (const auto& s : scenes)
        captions.push_back(wordPiece_.encode(s.caption));
    const PaddedIds text = padRows(captions, wordPiece_.pad());
    const at::Tensor same = sameCaption(scenes);
    auto normalised = [](const at::Tensor& features) { return features / features.norm(2, -1, true).clamp_min(1e-12); };

    // Every row is its own image and caption, as in stage 2, but ITC compares each image with
    // every caption of the batch, so the step runs in shards (sharded_backward.h) in two phases:
    // first the uni-modal passes, shard by shard; then ITC on the whole batch's embeddings, whose
    // gradient each shard carries back through its own passes together with its ITM and ITG losses.
    const auto count = static_cast<std::size_t>(shardCount(shards, b));
    std::vector<QFormerPass> queryPasses(count);
    std::vector<at::Tensor> imageParts(count), textParts(count);
    inShards(shards, b, [&](const Shard& shard) {
        // ITC's uni-modal masks: queries see queries, text sees text.
        const auto i = std::size_t(shard.index);
        queryPasses[i] = qformerForward(parameters_, g, QFormerMask::QueriesOnly, image.narrow(0, shard.first, shard.count));
        imageParts[i] = normalised(at::linear(queryPasses[i].hidden, parameters_["vision_projection.weight"],
                                              parameters_["vision_projection.bias"]));  // [B, Q, E]
        const QFormerPass texts = qformerForward(parameters_, g, QFormerMask::TextOnly, {},
                                                 text.ids.narrow(0, shard.first, shard.count),
                                                 text.mask.narrow(0, shard.first, shard.count));
        textParts[i] = normalised(at::linear(texts.hidden.select(1, 0), parameters_["text_projection.weight"],
                                             parameters_["text_projection.bias"]));  // [B, E]
    });

    // ITC, the best query per pair, and its gradient with respect to the embeddings.
    const at::Tensor imageEmbeds = at::cat(imageParts).detach().requires_grad_();
    const at::Tensor textEmbeds = at::cat(textParts).detach().requires_grad_();
    const at::Tensor similarity = std::get<0>(at::matmul(imageEmbeds, textEmbeds.t()).max(1)) / kItcTemperature;  // [B, B]
    const at::Tensor targets = same / same.sum(1, true);
    const at::Tensor itc = -0.5 * ((at::log_softmax(similarity, 1) * targets).sum(1).mean() +
                                   (at::log_softmax(similarity.t(), 1) * targets).sum(1).mean());
    itc.backward();

    // ITM: the bi-directional mask; each image with its caption, a hard negative caption, and
    // each caption with a hard negative image.
    at::Tensor negativeText, negativeImage;
    {
        at::NoGradGuard sampling;
        negativeText = hardNegatives(similarity.detach(), same, negatives_);
        negativeImage = hardNegatives(similarity.detach().t(), same, negatives_);
    }
    const std::int64_t l = text.ids.size(1);
    const at::Tensor captionWords = text.mask.narrow(1, 1, l - 1).sum().to(at::kFloat);
    // Stage 1's objective from its parts: the three of the paper and the entropy regulariser.
    auto objective = [this](const at::Tensor& contrastive, const at::Tensor& matching, const at::Tensor& grounded,
                            const at::Tensor& entropy) {
        const at::Tensor sum = contrastive + matching + grounded;
        return options_.entropyWeight > 0 ? sum + options_.entropyWeight * entropy : sum;
    };
    ShardLosses losses = backwardInShards(shards, b, [&](const Shard& shard) {
        const auto i = std::size_t(shard.index);
        auto rows = [&](const at::Tensor& t) { return t.narrow(0, shard.first, shard.count); };
        ShardLosses part;
        const at::Tensor itcThroughPasses = (imageParts[i] * rows(imageEmbeds.grad())).sum() +
                                            (textParts[i] * rows(textEmbeds.grad())).sum();

        const at::Tensor mine = rows(image), ids = rows(text.ids), mask = rows(text.mask);
        const at::Tensor otherText = rows(negativeText);
        const at::Tensor itmImages = at::cat({mine, mine, image.index_select(0, rows(negativeImage))});
        const at::Tensor itmIds = at::cat({ids, text.ids.index_select(0, otherText), ids});
        const at::Tensor itmMask = at::cat({mask, text.mask.index_select(0, otherText), mask});
        const QFormerPass matching = qformerForward(parameters_, g, QFormerMask::Bidirectional, itmImages, itmIds, itmMask);
        const at::Tensor itmLogits = at::linear(matching.hidden.narrow(1, 0, g.queries), parameters_["itm_head.weight"],
                                                parameters_["itm_head.bias"])
                                         .mean(1);  // [3 rows, 2]
        const at::Tensor itmLabels = at::cat({at::ones({shard.count}, at::kLong), at::zeros({2 * shard.count}, at::kLong)});
        part["itm"] = at::cross_entropy_loss(itmLogits, itmLabels, {}, at::Reduction::Sum) / double(3 * b);

        // ITG: the multimodal causal mask; [DEC] replaces [CLS] as the first text token.
        at::Tensor decoderIds = ids.clone();
        decoderIds.select(1, 0).fill_(wordPiece_.dec());
        const QFormerPass grounded = qformerForward(parameters_, g, QFormerMask::MultimodalCausal, mine, decoderIds, mask);
        const at::Tensor textRows = grounded.hidden.narrow(1, g.queries, l);
        const at::Tensor transformed = at::layer_norm(
            at::gelu(at::linear(textRows, parameters_["head.itg.transform.weight"], parameters_["head.itg.transform.bias"])),
            {g.qformerHidden}, parameters_["head.itg.norm.weight"], parameters_["head.itg.norm.bias"], 1e-12);
        const at::Tensor wordLogits = at::linear(transformed, parameters_["embeddings.word_embeddings.weight"],
                                                 parameters_["head.itg.bias"]);
        part["itg"] = maskedCrossEntropy(wordLogits.narrow(1, 0, l - 1), decoderIds.narrow(1, 1, l - 1),
                                         mask.narrow(1, 1, l - 1), captionWords);

        const at::Tensor entropy = entropyPenalty(queryPasses[i].crossProbs) * (double(shard.count) / b);
        part["cross_attention_entropy"] = entropy.detach();
        part["total"] = objective(itcThroughPasses, part["itm"], part["itg"], entropy);
        return part;
    });
    // The shards' "total" carried ITC by its gradient, not its value: the objective is logged.
    losses["itc"] = itc.detach();
    losses["total"] = objective(losses["itc"], losses["itm"], losses["itg"], losses["cross_attention_entropy"]);
    return losses;
}

std::map<std::string, at::Tensor> DemoTrainer::generationGradients(int step, int shards)
{
    const DemoGeometry& g = options_.geometry;
    const int b = options_.stage2Batch;
    const at::Tensor picked = batchIndices(b);
    const at::Tensor image = frozenImageFeatures(picked);
    const std::vector<demo::Scene> scenes = pooledScenes(picked);
    demo::SceneRandom choice(options_.seed + kChoiceSeedOffset, std::uint64_t(step) * 2);
    const GenerationRows rows = generationRows(scenes, options_.generationMix, *bpe_, newline_,
                                               std::size_t(g.optPositions - g.queries), choice);
    const PaddedIds batch = padRows(rows.ids, kOptPad);
    const at::Tensor labels = padRows(rows.labels, kOptPad).ids;
    const std::int64_t l = batch.ids.size(1);
    const at::Tensor weights = scoredPositions(batch, rows.targets);
    const at::Tensor scoredTokens = weights.sum();

    // Rows are independent in this stage (a language-model loss per row): one shard per core
    // (sharded_backward.h). A step is compute on small products, not dispatch: its time grows
    // with the batch (0.065 / 0.113 / 0.222 s at 24 / 48 / 96 rows on 2 cores of a Zen 5, about
    // 3.6 GFLOP at 24 rows), and two shards use both cores better than one shard on two intra-op
    // threads (0.067 s against 0.104 s). Each shard's loss is its share of the batch's mean over
    // scored tokens.
    return backwardInShards(shards, b, [&](const Shard& shard) {
        const QFormerPass queries =
            qformerForward(parameters_, g, QFormerMask::QueriesOnly, image.narrow(0, shard.first, shard.count));
        const at::Tensor ids = batch.ids.narrow(0, shard.first, shard.count);
        const at::Tensor logits = optForward(parameters_, g, projectQueries(parameters_, queries.hidden), ids);
        ShardLosses losses;
        losses["lm"] = maskedCrossEntropy(logits.narrow(1, g.queries, l - 1),
                                          labels.narrow(0, shard.first, shard.count).narrow(1, 1, l - 1),
                                          weights.narrow(0, shard.first, shard.count), scoredTokens);
        losses["cross_attention_entropy"] = entropyPenalty(queries.crossProbs).detach() * (double(shard.count) / b);
        losses["total"] = losses["lm"];
        return losses;
    });
}

}  // namespace querylens::train
