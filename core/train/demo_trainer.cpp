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

StageResult DemoTrainer::runShardedStage(const std::string& name, int steps, double rate,
                                         const std::vector<std::string>& trainable,
                                         const std::function<std::map<std::string, at::Tensor>(int, int)>& gradientsOf,
                                         const StageLog& log)
{
    // The shards of each step are this stage's parallelism, one per thread it was given.
    const OneTorchThread serial;
    const int shards = serial.threadsBefore();
    return runStage(name, steps, rate, trainable, [&gradientsOf, shards](int step) { return gradientsOf(step, shards); },
                    log);
}

StageResult DemoTrainer::trainVision(int steps, const StageLog& log)
{
    return runShardedStage("stage 0: vision encoder", steps, options_.visionRate, {"vision_model.", "head.patch", "head.object"},
                           [this](int, int shards) { return visionGradients(shards); }, log);
}

StageResult DemoTrainer::trainLanguageModel(int steps, const StageLog& log)
{
    return runShardedStage("stage 0: language model", steps, options_.textRate, {"language_model."},
                           [this](int step, int shards) { return languageGradients(step, shards); }, log);
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
    return runShardedStage(name, steps, rate, kRepresentationParts,
                           [this](int, int shards) { return representationGradients(shards); }, log);
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
    return runShardedStage(options_.tuneLanguageModel ? "stage 2: Q-Former + projection, OPT fine-tuned"
                                                      : "stage 2: Q-Former + projection into the frozen OPT",
                           steps, options_.stage2Rate, trainable,
                           [this](int step, int shards) { return generationGradients(step, shards); }, log);
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
