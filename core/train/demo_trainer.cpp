#include "train/demo_trainer.h"

#include "io/safetensors.h"
#include "querylens/error.h"
#include "text/bpe_trainer.h"
#include "train/scene_random.h"
#include "train/sharded_backward.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>  // AdamW and gradient clipping: the only reason this file needs torch

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

namespace querylens::train {

namespace {

constexpr double kItcTemperature = 0.07;  // BLIP-2's initial `temp`, kept fixed here
// Seeds derived from the training seed for the text-only corpus and the per-step choices.
constexpr std::uint64_t kTextSeedOffset = 1000, kChoiceSeedOffset = 2000, kNegativeSeedOffset = 3000;

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

// A stage step whose losses are one graph: their total's gradients into the parameters.
std::map<std::string, at::Tensor> backpropagated(std::map<std::string, at::Tensor> losses)
{
    losses.at("total").backward();
    return losses;
}

double seconds(std::chrono::steady_clock::time_point since)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// CPU time of this process, all threads: against the wall clock, the share of the cores a
// stage really got on a shared machine.
double processCpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           1e-6 * double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec);
}

}  // namespace

TrainerOptions TrainerOptions::tiny()
{
    TrainerOptions o;
    DemoGeometry& g = o.geometry;
    g.imageSize = 48;
    g.patchSize = 12;
    g.visionHidden = g.qformerHidden = g.optHidden = 32;
    g.visionLayers = g.qformerLayers = g.optLayers = 2;
    g.visionHeads = g.qformerHeads = g.optHeads = 2;
    g.visionMlp = g.qformerIntermediate = g.optFfn = 64;
    g.embedDim = 16;
    o.visionBatch = o.textBatch = o.stage1Batch = o.stage2Batch = 8;
    o.poolSize = 48;
    o.textRate = o.stage1Rate = o.stage2Rate = 3e-3;
    o.visionRate = 3e-3;
    return o;
}

DemoTrainer::DemoTrainer(const TrainerOptions& options, const std::string& tokenizerFolder)
    : options_(options),
      tokenizerFolder_(tokenizerFolder),
      negatives_(at::make_generator<at::CPUGeneratorImpl>(options.seed + kNegativeSeedOffset))
{
    // The language model's tokenizer is trained on the text it will read: captions and
    // question/answer pairs of scenes (layouts only; nothing is drawn).
    std::vector<std::string> corpus;
    demo::SceneOptions layoutOnly;
    layoutOnly.draw = false;
    for (int i = 0; i < 3000; ++i)
        for (const std::string& text : sceneTexts(demo::generateScene(options.seed + kTextSeedOffset, i, layoutOnly)))
            corpus.push_back(text + "\n");
    std::error_code error;
    std::filesystem::create_directories(tokenizerFolder, error);
    if (error)
        throw Error("cannot create the folder: " + error.message(), tokenizerFolder);
    text::writeBpeTokenizer(tokenizerFolder, text::trainBpe(corpus, options.bpeVocabulary));
    bpe_ = text::BpeTokenizer::fromFolder(tokenizerFolder, text::BpeConventions{});
    const std::vector<int> newline = bpe_->encode("\n", false);
    if (newline.size() != 1)
        throw Error("the trained tokenizer has no single token for a newline", tokenizerFolder);
    newline_ = newline.front();

    options_.geometry.textVocab = wordPiece_.size();
    options_.geometry.optVocab = bpe_->vocabSize();
    parameters_ = initialParameters(options_.geometry, options.seed);
}

void DemoTrainer::ensurePool()
{
    if (pool_.count() > 0)
        return;
    const DemoGeometry& g = options_.geometry;
    pool_ = drawPool(options_.seed, options_.poolSize, g.imageSize, g.grid(), {});
}

at::Tensor DemoTrainer::batchIndices(int count)
{
    ensurePool();
    const std::int64_t n = pool_.count();
    std::vector<std::int64_t> rows;
    while (int(rows.size()) < count) {
        if (!order_.defined() || cursor_ >= n) {
            // A Fisher-Yates shuffle from the scene stream: the same order on every machine.
            demo::SceneRandom random(options_.seed + kChoiceSeedOffset, 1000000 + passes_++);
            std::vector<std::int64_t> order(static_cast<std::size_t>(n));
            for (std::int64_t i = 0; i < n; ++i)
                order[std::size_t(i)] = i;
            for (std::int64_t i = n - 1; i > 0; --i)
                std::swap(order[std::size_t(i)], order[std::size_t(random.below(int(i + 1)))]);
            order_ = at::tensor(order, at::kLong);
            cursor_ = 0;
        }
        rows.push_back(order_[cursor_++].item<std::int64_t>());
    }
    return at::tensor(rows, at::kLong);
}

void DemoTrainer::ensureFrozenFeatures()
{
    if (features_.defined())
        return;
    // The vision encoder is frozen from here on: its output for each pooled picture is computed
    // once (as BLIP-2 could cache its frozen ViT's output; there is no augmentation). Before a
    // stage keeps torch to one thread for its shards: these products use every thread.
    ensurePool();
    const DemoGeometry& g = options_.geometry;
    at::NoGradGuard frozen;
    features_ = at::empty({pool_.count(), g.tokens(), g.visionHidden});
    for (std::int64_t first = 0; first < pool_.count(); first += 64) {
        const std::int64_t count = std::min<std::int64_t>(64, pool_.count() - first);
        features_.narrow(0, first, count).copy_(visionForward(parameters_, g, pixelValues(pool_, at::arange(first, first + count, at::kLong))));
    }
}

at::Tensor DemoTrainer::frozenImageFeatures(const at::Tensor& indices)
{
    ensureFrozenFeatures();
    return features_.index_select(0, indices);
}

std::vector<demo::Scene> DemoTrainer::pooledScenes(const at::Tensor& indices) const
{
    std::vector<demo::Scene> scenes;
    for (std::int64_t i = 0; i < indices.size(0); ++i)
        scenes.push_back(pool_.scenes[std::size_t(indices[i].item<std::int64_t>())]);
    return scenes;
}

VisionAccuracy DemoTrainer::visionAccuracy(std::uint64_t seed, int count) const
{
    const DemoGeometry& g = options_.geometry;
    const ScenePool heldOut = drawPool(seed, count, g.imageSize, g.grid(), {});
    at::NoGradGuard measuring;
    auto predict = [&](const at::Tensor& patches, const char* head) {
        return at::linear(patches, parameters_[std::string(head) + ".weight"], parameters_[std::string(head) + ".bias"])
            .argmax(-1);
    };
    std::vector<at::Tensor> colour, shape, size, outputs;
    for (std::int64_t first = 0; first < heldOut.count(); first += 64) {
        const at::Tensor rows = at::arange(first, std::min<std::int64_t>(first + 64, heldOut.count()), at::kLong);
        const at::Tensor patches = visionForward(parameters_, g, pixelValues(heldOut, rows)).narrow(1, 1, g.grid() * g.grid());
        outputs.push_back(patches);
        colour.push_back(predict(patches, "head.patch_colour"));
        shape.push_back(predict(patches, "head.patch_shape"));
        size.push_back(predict(patches, "head.patch_size"));
    }
    const at::Tensor predictedShape = at::cat(shape);  // [N, grid^2]
    const at::Tensor object = heldOut.colour.gt(0);
    VisionAccuracy a;
    a.patches = object.sum().item<std::int64_t>();
    auto share = [&](const std::vector<at::Tensor>& predicted, const at::Tensor& truth) {
        return at::cat(predicted).eq(truth).logical_and(object).sum().item<double>() / double(std::max<std::int64_t>(1, a.patches));
    };
    a.colour = share(colour, heldOut.colour);
    a.shape = share(shape, heldOut.shape);
    a.size = share(size, heldOut.size);
    // An object is the set of patches labelled with its colour and shape in one scene (the
    // generator never repeats a colour-shape pair in a scene).
    const at::Tensor output = at::cat(outputs);  // [N, grid^2, H]
    std::int64_t voted = 0, pooled = 0;
    for (std::int64_t i = 0; i < heldOut.count(); ++i) {
        const auto& objects = heldOut.scenes[std::size_t(i)].objects;
        for (std::size_t k = 0; k < objects.size(); ++k) {
            const at::Tensor mine = heldOut.object[i].eq(1 + std::int64_t(k));
            if (mine.sum().item<std::int64_t>() == 0)
                continue;  // hidden, or smaller than a patch's 30 %
            ++a.objects;
            const at::Tensor votes = at::bincount(predictedShape[i].masked_select(mine), {}, kPatchShapeClasses);
            voted += votes.argmax().item<std::int64_t>() == 1 + int(objects[k].shape);
            const at::Tensor mean = output[i].index({mine}).mean(0);
            pooled += predict(mean, "head.object_shape").item<std::int64_t>() == int(objects[k].shape);
        }
    }
    a.objectShape = double(voted) / double(std::max<std::int64_t>(1, a.objects));
    a.pooledShape = double(pooled) / double(std::max<std::int64_t>(1, a.objects));
    return a;
}

void DemoTrainer::loadParameters(const std::string& checkpointFolder, const std::vector<std::string>& prefixes,
                                 bool required)
{
    const std::string path = (std::filesystem::path(checkpointFolder) / "model.safetensors").string();
    const auto file = io::SafetensorsFile::open(path);
    at::NoGradGuard copying;
    for (const std::string& name : parameters_.names()) {
        if (std::none_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return name.rfind(p, 0) == 0; }))
            continue;
        const io::TensorRecord* record = file->find(name);
        if (!record && !required)
            continue;
        const at::Tensor& target = parameters_[name];
        if (!record || record->dtype != io::DType::F32 || record->shape != target.sizes().vec())
            throw Error("missing, or not float32 of shape " + [&] {
                std::string text;
                for (auto d : target.sizes())
                    text += (text.empty() ? "" : "x") + std::to_string(d);
                return text;
            }(), path, name);
        target.copy_(at::from_blob(const_cast<std::byte*>(file->data(*record)), target.sizes(), at::kFloat));
    }
}

StageResult DemoTrainer::runStage(const std::string& name, int steps, double rate,
                                  const std::vector<std::string>& trainable,
                                  const std::function<std::map<std::string, at::Tensor>(int)>& gradientsOf,
                                  const StageLog& log)
{
    // Everything frozen but this stage's parts, as BLIP-2 freezes its image encoder and LLM.
    parameters_.setTrainable({""}, false);
    parameters_.setTrainable(trainable, true);
    const std::vector<at::Tensor> params = parameters_.select(trainable);
    torch::optim::AdamW optimiser(params, torch::optim::AdamWOptions(rate).weight_decay(options_.weightDecay));

    StageResult result;
    result.name = name;
    result.steps = steps;
    const int window = std::max(1, steps / 25);
    const int warmup = std::max(1, steps / 20);
    std::map<std::string, double> sums;
    int inWindow = 0;
    const auto start = std::chrono::steady_clock::now();
    const double cpuStart = processCpuSeconds();
    for (int step = 0; step < steps; ++step) {
        // Linear warm-up, then cosine decay to a tenth.
        const double progress = double(step - warmup) / std::max(1, steps - warmup);
        const double lr = step < warmup ? rate * (step + 1) / warmup
                                        : rate * (0.1 + 0.9 * 0.5 * (1 + std::cos(3.14159265358979 * progress)));
        for (auto& group : optimiser.param_groups())
            static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        optimiser.zero_grad();
        const std::map<std::string, at::Tensor> losses = gradientsOf(step);
        torch::nn::utils::clip_grad_norm_(params, 1.0);
        optimiser.step();

        for (const auto& [key, value] : losses)
            sums[key] += value.item<double>();
        if (++inWindow == window || step + 1 == steps) {
            LossPoint point;
            point.step = step + 1;
            point.seconds = seconds(start);
            for (const auto& [key, sum] : sums)
                point.losses[key] = sum / inWindow;
            if (result.curve.empty())
                result.first = point.losses;
            result.last = point.losses;
            result.curve.push_back(point);
            sums.clear();
            inWindow = 0;
            if (log && !log(name, point))
                throw Cancelled();
        }
    }
    result.seconds = seconds(start);
    result.cpuSeconds = processCpuSeconds() - cpuStart;
    parameters_.setTrainable({""}, false);
    return result;
}

std::map<std::string, at::Tensor> DemoTrainer::visionGradients(int shards)
{
    // Each image is its own row here too, so the batch runs in shards like stage 2's: a step took
    // 0.31 s on one thread of a Zen 5 and 0.32 s on two. The losses' divisors are the batch's.
    const at::Tensor rows = batchIndices(options_.visionBatch);
    const at::Tensor patchLabels = pool_.colour.index_select(0, rows);
    VisionNormalisers batch;
    batch.patches = patchWeights(patchLabels).sum();
    batch.positions = at::scalar_tensor(double(patchLabels.numel()));
    batch.objects = objectMembership(pool_.object.index_select(0, rows)).sum(-1).gt(0).sum().to(at::kFloat);
    return backwardInShards(shards, rows.size(0),
                            [&](const Shard& shard) { return visionLosses(rows.narrow(0, shard.first, shard.count), batch); });
}

std::map<std::string, at::Tensor> DemoTrainer::visionLosses(const at::Tensor& rows, const VisionNormalisers& batch)
{
    const DemoGeometry& g = options_.geometry;
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
    const at::Tensor member = objectMembership(pool_.object.index_select(0, rows));  // [B, objects, P]
    const at::Tensor count = member.sum(-1);                                           // [B, objects]
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

std::map<std::string, at::Tensor> DemoTrainer::languageLosses(int step)
{
    const DemoGeometry& g = options_.geometry;
    demo::SceneRandom choice(options_.seed + kChoiceSeedOffset, std::uint64_t(step) * 2 + 1);
    demo::SceneOptions layoutOnly;
    layoutOnly.draw = false;
    std::vector<std::vector<std::int64_t>> rows;
    std::vector<std::size_t> targetStart;
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
        targetStart.push_back(row.size());
        for (int id : bpe_->encode(texts[text], false))
            row.push_back(id);
        row.push_back(newline_);
        rows.push_back(row);
    }
    const PaddedIds batch = padRows(rows, kOptPad);
    at::Tensor weights = batch.mask.narrow(1, 1, batch.ids.size(1) - 1).clone();
    for (std::size_t i = 0; i < rows.size(); ++i)
        weights[std::int64_t(i)].narrow(0, 0, std::int64_t(targetStart[i]) - 1).zero_();
    const at::Tensor logits = optForward(parameters_, g, {}, batch.ids);
    std::map<std::string, at::Tensor> losses;
    losses["lm"] = maskedCrossEntropy(logits.narrow(1, 0, logits.size(1) - 1), batch.ids.narrow(1, 1, batch.ids.size(1) - 1),
                                      weights);
    losses["total"] = losses["lm"];
    return losses;
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
        part["total"] = itcThroughPasses + part["itm"] + part["itg"];
        if (options_.entropyWeight > 0)
            part["total"] = part["total"] + options_.entropyWeight * entropy;
        return part;
    });
    // The shards' "total" carried ITC by its gradient, not its value: the objective is logged.
    losses["itc"] = itc.detach();
    losses["total"] = losses["itc"] + losses["itm"] + losses["itg"];
    if (options_.entropyWeight > 0)
        losses["total"] = losses["total"] + options_.entropyWeight * losses["cross_attention_entropy"];
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
    const GenerationRows rows = generationRows(scenes, options_.generationMix, *bpe_, newline_, choice);
    const PaddedIds batch = padRows(rows.ids, kOptPad);
    const std::int64_t l = batch.ids.size(1);
    at::Tensor weights = batch.mask.narrow(1, 1, l - 1).to(at::kFloat, false, /*copy=*/true);
    for (std::size_t i = 0; i < rows.ids.size(); ++i)
        weights[std::int64_t(i)].narrow(0, 0, std::int64_t(rows.targetStart[i]) - 1).zero_();
    const at::Tensor scoredTokens = weights.sum();

    // Rows are independent in this stage (a language-model loss per row): one shard per core
    // (sharded_backward.h). A step of this small model is mostly the dispatch of hundreds of
    // small operations, which a second intra-op thread did not speed up (0.104 s a step on 1
    // thread or 2 of a Zen 5) and a second shard does (0.067 s). Each shard's loss is its share
    // of the batch's mean over scored tokens.
    return backwardInShards(shards, b, [&](const Shard& shard) {
        const QFormerPass queries =
            qformerForward(parameters_, g, QFormerMask::QueriesOnly, image.narrow(0, shard.first, shard.count));
        const at::Tensor ids = batch.ids.narrow(0, shard.first, shard.count);
        const at::Tensor logits = optForward(parameters_, g, projectQueries(parameters_, queries.hidden), ids);
        ShardLosses losses;
        losses["lm"] = maskedCrossEntropy(logits.narrow(1, g.queries, l - 1), ids.narrow(1, 1, l - 1),
                                          weights.narrow(0, shard.first, shard.count), scoredTokens);
        losses["cross_attention_entropy"] = entropyPenalty(queries.crossProbs).detach() * (double(shard.count) / b);
        losses["total"] = losses["lm"];
        return losses;
    });
}

StageResult DemoTrainer::trainVision(int steps, const StageLog& log)
{
    // The shards of each step are this stage's parallelism, one per thread it was given.
    const OneTorchThread serial;
    const int shards = serial.threadsBefore();
    return runStage("stage 0: vision encoder", steps, options_.visionRate, {"vision_model.", "head.patch", "head.object"},
                    [this, shards](int) { return visionGradients(shards); }, log);
}

StageResult DemoTrainer::trainLanguageModel(int steps, const StageLog& log)
{
    return runStage("stage 0: language model", steps, options_.textRate, {"language_model."},
                    [this](int step) { return backpropagated(languageLosses(step)); }, log);
}

namespace {
const std::vector<std::string> kRepresentationParts{"query_tokens", "qformer.",        "embeddings.", "vision_projection",
                                                    "text_projection", "itm_head", "head.itg"};
}  // namespace

StageResult DemoTrainer::trainRepresentation(int steps, const StageLog& log)
{
    return representationStage("stage 1: Q-Former (ITC, ITM, ITG)", steps, options_.stage1Rate, log);
}

StageResult DemoTrainer::trainRepresentationForGeneration(int steps, double rate, const StageLog& log)
{
    return representationStage("stage 1 for stage 2: Q-Former (ITC, ITM, ITG)", steps, rate, log);
}

StageResult DemoTrainer::representationStage(const std::string& name, int steps, double rate, const StageLog& log)
{
    ensureFrozenFeatures();
    // The shards of each step are this stage's parallelism, one per thread it was given.
    const OneTorchThread serial;
    const int shards = serial.threadsBefore();
    return runStage(name, steps, rate, kRepresentationParts, [this, shards](int) { return representationGradients(shards); },
                    log);
}

std::map<std::string, at::Tensor> DemoTrainer::representationSnapshot() const
{
    return parameters_.snapshot(kRepresentationParts);
}

StageResult DemoTrainer::trainGeneration(int steps, const StageLog& log)
{
    std::vector<std::string> trainable{"query_tokens", "qformer.", "language_projection"};
    if (options_.tuneLanguageModel)
        trainable.push_back("language_model.");
    ensureFrozenFeatures();
    // The shards of each step are this stage's parallelism, one per thread it was given.
    const OneTorchThread serial;
    const int shards = serial.threadsBefore();
    return runStage(options_.tuneLanguageModel ? "stage 2: Q-Former + projection, OPT fine-tuned"
                                               : "stage 2: Q-Former + projection into the frozen OPT",
                    steps, options_.stage2Rate, trainable,
                    [this, shards](int step) { return generationGradients(step, shards); }, log);
}

at::Tensor DemoTrainer::generationLogits(const at::Tensor& pixels, const std::vector<std::int64_t>& ids) const
{
    at::NoGradGuard inference;
    const DemoGeometry& g = options_.geometry;
    const QFormerPass queries = qformerForward(parameters_, g, QFormerMask::QueriesOnly, visionForward(parameters_, g, pixels));
    return optForward(parameters_, g, projectQueries(parameters_, queries.hidden),
                      at::tensor(ids, at::kLong).unsqueeze(0).expand({pixels.size(0), -1}));
}

}  // namespace querylens::train
