#include "querylens/model.h"

#include "io/json_file.h"
#include "io/process_memory.h"
#include "pipeline/model_impl.h"
#include "pipeline/runtime.h"
#include "pipeline/tokenizer_loader.h"
#include "querylens/checkpoints.h"
#include "querylens/error.h"
#include "querylens/session.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace querylens {

namespace fs = std::filesystem;

const char* precisionName(Precision precision)
{
    switch (precision) {
    case Precision::Float32: return "fp32";
    case Precision::BFloat16: return "bf16";
    case Precision::Int8: return "int8";
    }
    return "fp32";
}

std::optional<Precision> parsePrecision(const std::string& name)
{
    for (Precision p : {Precision::Float32, Precision::BFloat16, Precision::Int8})
        if (name == precisionName(p))
            return p;
    return std::nullopt;
}

namespace {

at::Device chooseDevice(const std::string& name)
{
    if (name == "cpu" || name.empty())
        return at::kCPU;
    if (name.rfind("cuda", 0) == 0) {
        if (!at::hasCUDA())
            throw Error("this libtorch was built without CUDA; use --device cpu", {}, "device");
        return at::Device(name);
    }
    throw Error("unknown device '" + name + "' (cpu or cuda)", {}, "device");
}

model::WeightFormats formatsFor(Precision precision)
{
    switch (precision) {
    case Precision::Float32: return {model::WeightFormat::Float32, model::WeightFormat::Float32};
    case Precision::BFloat16: return {model::WeightFormat::BFloat16, model::WeightFormat::BFloat16};
    case Precision::Int8: return {model::WeightFormat::BFloat16, model::WeightFormat::Int8};
    }
    return {};
}

}  // namespace

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

std::shared_ptr<const Model> Model::load(const LoadOptions& options, const ProgressCallback& progress)
{
    const auto start = std::chrono::steady_clock::now();
    if (!fs::is_directory(options.folder))
        throw Error("is not a folder", options.folder);
    auto impl = std::make_unique<Impl>();
    ModelInfo& info = impl->info;
    info.threads = runtime::setThreadCount(options.threads);
    io::keepFreedMemoryForReuse();
    const at::Device device = chooseDevice(options.device);

    // The tokenizer first: a missing tokenizer file should not cost a 15 GB load to find out.
    const model::Blip2Config config = model::Blip2Config::fromFolder(options.folder);
    if (config.hasLanguageModel()) {
        impl->tokenizer = loadTokenizer(options.folder, config.text_model_type);
    } else {
        auto wordPiece = text::WordPieceTokenizer::fromFolder(options.folder);
        impl->wordPiece = wordPiece.get();
        impl->maxTextTokens = std::min(wordPiece->settings().modelMaxLength, config.qformer_config.max_position_embeddings);
        impl->tokenizer = std::move(wordPiece);
    }
    impl->preprocessor = image::PreprocessorConfig::fromFolder(options.folder, config.vision_config.image_size);

    impl->blip2 = model::Blip2Model::load(options.folder, formatsFor(options.precision), device, progress);
    const model::Blip2Config& c = impl->blip2->config();
    info.architecture = c.hasLanguageModel() ? "Blip2ForConditionalGeneration" : "Blip2ForImageTextRetrieval";
    info.canGenerate = c.hasLanguageModel();
    info.canMatch = impl->blip2->matching() != nullptr;
    if (info.canMatch)
        info.embeddingSize = impl->blip2->matching()->projectionSize();

    if (!c.hasLanguageModel()) {
        // no decoding settings to read
    } else if (c.text_model_type == "opt") {
        impl->eosIds = c.opt.eos_token_id;
        impl->padId = c.opt.pad_token_id;
    } else {
        // T5Config's defaults: </s> = 1 ends the text, <pad> = 0 also starts the decoder.
        const io::ConfigReader text(c.text_config, (fs::path(options.folder) / "config.json").string(), "text_config");
        impl->eosIds = text.getIds("eos_token_id", {1});
        impl->padId = text.getInt("pad_token_id", 0);
        impl->historyPrefix = {text.getInt("decoder_start_token_id", 0)};
    }
    info.name = checkpointDisplayName(options.folder);
    info.folder = fs::absolute(options.folder).string();
    info.languageModel = !c.hasLanguageModel() ? "none" : c.text_model_type == "opt" ? "OPT" : "Flan-T5";
    // The -coco OPT checkpoints were fine-tuned to caption after "a photo of".
    const bool coco = info.name.find("coco") != std::string::npos;
    impl->captionPrompt = coco && c.text_model_type == "opt" ? "a photo of" : "";
    info.precision = options.precision;
    info.device = device.str();
    info.parameters = impl->blip2->parameterCount();
    info.weightBytes = impl->blip2->weightBytes();
    info.imageSize = c.vision_config.image_size;
    info.patchSize = c.vision_config.patch_size;
    info.gridSize = c.vision_config.gridSize();
    info.numQueries = c.num_query_tokens;
    info.qformerLayers = c.qformer_config.num_hidden_layers;
    info.qformerHeads = c.qformer_config.num_attention_heads;
    for (int l = 0; l < c.qformer_config.num_hidden_layers; ++l)
        if (c.qformer_config.hasCrossAttention(l))
            info.crossAttentionLayers.push_back(l);
    if (c.hasLanguageModel()) {
        info.maxPositions = impl->blip2->languageModel().maxPositions();
        info.vocabSize = impl->blip2->languageModel().vocabSize();
    } else {
        info.maxPositions = impl->maxTextTokens;
        info.vocabSize = c.qformer_config.vocab_size;
    }
    info.isDemo = c.querylens_demo && !c.querylens_trained_demo;
    info.isTrainedDemo = c.querylens_trained_demo;
    info.warnings = runtime::environmentWarnings();
    // Which kernel is faster for the image products on this machine: timed once (about a
    // second), then read from the cache file at every later load.
    runtime::KernelMeasurement measurement;
    if (device.is_cpu())
        measurement = runtime::measureKernelChoice(c.vision_config, formatsFor(options.precision).vision, info.warnings);
    info.kernels = runtime::kernelChoices(formatsFor(options.precision), measurement);
    info.loadSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::shared_ptr<const Model>(new Model(std::move(impl)));
}

const ModelInfo& Model::info() const { return impl_->info; }

std::string capabilitySummary(const ModelInfo& info)
{
    if (info.canMatch && !info.canGenerate)
        return info.name + " is an image-text matching model (" + info.architecture +
               "): it can match texts to images, localize a phrase in an image and search a folder by text. It has no "
               "language model, so it cannot caption or chat: open a Blip2ForConditionalGeneration checkpoint (e.g. "
               "Salesforce/blip2-opt-2.7b) for that.";
    return info.name + " (" + info.architecture + ", " + info.languageModel +
           ") captions images, answers questions and chats, and explains its words with attention and gradient maps. "
           "It has no image-text matching head: open a Blip2ForImageTextRetrieval checkpoint (e.g. "
           "Salesforce/blip2-itm-vit-g) to match, localize or search by text.";
}

std::string Model::captionPrompt() const { return impl_->captionPrompt; }

std::vector<int> Model::tokenize(const std::string& text) const { return impl_->tokenizer->encode(text, true); }

std::string Model::tokenText(int id) const { return impl_->tokenizer->tokenText(id); }

std::shared_ptr<const ImageEncoding> Model::encode(const RgbImage& image, const ProgressCallback& progress) const
{
    return encodeBatch({image}, progress).front();
}

std::vector<std::shared_ptr<const ImageEncoding>> Model::encodeBatch(const std::vector<RgbImage>& images,
                                                                     const ProgressCallback& progress) const
{
    for (std::size_t i = 0; i < images.size(); ++i) {
        const RgbImage& image = images[i];
        if (image.empty() || image.pixels.size() != std::size_t(image.width) * std::size_t(image.height) * 3)
            throw Error((images.size() == 1 ? std::string("the image")
                                             : "image " + std::to_string(i + 1) + " of " + std::to_string(images.size())) +
                        " is empty or its pixel buffer does not match its size");
    }
    if (images.empty())
        return {};
    c10::InferenceMode inference;
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t batch = std::int64_t(images.size());
    const std::int64_t height = impl_->preprocessor.height, width = impl_->preprocessor.width;
    // pixel_values [B, 3, H, W], one preprocessed image after another.
    std::vector<float> pixels;
    pixels.reserve(std::size_t(batch * 3 * height * width));
    for (const RgbImage& image : images) {
        const std::vector<float> one = image::preprocess(image, impl_->preprocessor);
        pixels.insert(pixels.end(), one.begin(), one.end());
    }
    const at::Tensor pixelValues = at::from_blob(pixels.data(), {batch, 3, height, width}, at::kFloat);
    const model::ImageFeatures features = impl_->blip2->encode(pixelValues, progress);

    const auto& q = features.qformer;
    const at::Tensor crossAll = at::stack(q.crossAttentions).to(at::kCPU, at::kFloat);  // [L, B, H, Q, T]
    const at::Tensor selfAll = at::stack(q.selfAttentions).to(at::kCPU, at::kFloat);    // [layers, B, H, Q, Q]
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / double(batch);

    std::vector<std::shared_ptr<const ImageEncoding>> encodings;
    for (std::int64_t b = 0; b < batch; ++b) {
        CrossAttentionMaps cross;
        cross.layers = int(q.crossAttentions.size());
        cross.qformerLayers = q.crossAttentionLayers;
        const at::Tensor crossOne = crossAll.select(1, b).contiguous();  // [L, H, Q, T]
        cross.heads = int(crossOne.size(1));
        cross.queries = int(crossOne.size(2));
        cross.tokens = int(crossOne.size(3));
        cross.gridSize = impl_->info.gridSize;
        cross.probabilities.assign(crossOne.data_ptr<float>(), crossOne.data_ptr<float>() + crossOne.numel());

        QuerySelfAttention self;
        const at::Tensor selfOne = selfAll.select(1, b).contiguous();  // [layers, H, Q, Q]
        self.layers = int(selfOne.size(0));
        self.heads = int(selfOne.size(1));
        self.queries = int(selfOne.size(2));
        self.probabilities.assign(selfOne.data_ptr<float>(), selfOne.data_ptr<float>() + selfOne.numel());

        // Each image's rows, [1, ...]; in a batch, copies that own their memory (not views that
        // would keep the whole batch's tensors alive as long as any one encoding).
        auto own = [&](const at::Tensor& t) {
            if (!t.defined())
                return t;
            return batch == 1 ? t : t.narrow(0, b, 1).clone();
        };
        auto tensors = std::make_unique<ImageEncoding::Tensors>();
        tensors->pixelValues = pixelValues.narrow(0, b, 1).clone();  // from_blob: the buffer is local
        tensors->visionHidden = own(features.visionHidden);
        tensors->queryOutputs = own(q.lastHiddenState);
        tensors->softPrompt = own(features.projected);
        if (const model::ImageTextHeads* matching = impl_->blip2->matching())
            tensors->imageEmbeds = matching->imageEmbeds(tensors->queryOutputs);
        const RgbImage& image = images[std::size_t(b)];
        encodings.push_back(std::make_shared<const ImageEncoding>(std::move(tensors), std::move(cross), std::move(self),
                                                                  image.width, image.height, ms));
    }
    return encodings;
}

std::unique_ptr<Session> Model::newSession(std::shared_ptr<const ImageEncoding> image) const
{
    if (!image)
        throw Error("no image: encode one first");
    if (!impl_->info.canGenerate)
        throw Error(capabilitySummary(impl_->info));
    return std::make_unique<Session>(shared_from_this(), std::move(image));
}

}  // namespace querylens
