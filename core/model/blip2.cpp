#include "model/blip2.h"

#include "io/json_file.h"
#include "io/weight_archive.h"
#include "model/progress_check.h"
#include "querylens/error.h"

#include <algorithm>
#include <filesystem>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace querylens::model {

namespace fs = std::filesystem;


Blip2Config Blip2Config::fromFolder(const std::string& dir)
{
    const std::string path = (fs::path(dir) / "config.json").string();
    if (!fs::exists(path))
        throw Error("no config.json: not a Hugging Face checkpoint folder", dir);
    const nlohmann::json root = io::readJsonFile(path);
    Blip2Config c = fromJson(root, path);
    // A config without "architectures" (older exports) is told apart by its weights (the
    // safetensors headers only): matching heads and no language model.
    if (!root.contains("architectures") && c.hasLanguageModel()) {
        const io::WeightArchive archive = io::WeightArchive::openFolder(dir);
        const auto names = archive.names();
        const bool languageWeights = std::any_of(names.begin(), names.end(), [](const std::string& n) {
            return n.rfind("language_model.", 0) == 0;
        });
        if (!languageWeights && archive.find("itm_head.weight")) {
            c.architecture = Blip2Architecture::ImageTextRetrieval;
            c.text_model_type.clear();
        }
    }

    // processor_config.json of the late-2024 layout repeats num_query_tokens for the processor.
    const fs::path processorPath = fs::path(dir) / "processor_config.json";
    if (fs::exists(processorPath)) {
        const io::ConfigReader processor(io::readJsonFile(processorPath.string()), processorPath.string());
        const int queries = processor.getInt("num_query_tokens", c.num_query_tokens);
        if (queries != c.num_query_tokens)
            throw Error("num_query_tokens is " + std::to_string(queries) + " but config.json says " +
                            std::to_string(c.num_query_tokens),
                        processorPath.string(), "num_query_tokens");
    }
    return c;
}

Blip2Config Blip2Config::fromJson(const nlohmann::json& root, const std::string& path)
{
    const io::ConfigReader json(root, path);

    const std::string modelType = json.getString("model_type", "");
    if (modelType != "blip-2")
        throw Error("model_type is '" + printableText(modelType) + "', expected 'blip-2' (a BLIP-2 checkpoint)", path, "model_type");

    Blip2Config c;
    const auto architectures = root.find("architectures");
    if (architectures != root.end() && architectures->is_array())
        for (const auto& name : *architectures)
            if (name.is_string() && name.get<std::string>() == "Blip2ForImageTextRetrieval")
                c.architecture = Blip2Architecture::ImageTextRetrieval;
    c.image_text_hidden_size = json.getInt("image_text_hidden_size", c.image_text_hidden_size);
    c.vision_config = VisionConfig::fromJson(json.child("vision_config"));
    c.qformer_config = QFormerConfig::fromJson(json.child("qformer_config"));
    c.num_query_tokens = json.getInt("num_query_tokens", c.num_query_tokens);
    c.image_token_index = json.getOptionalInt("image_token_index");
    c.querylens_demo = json.getBool("querylens_demo", false);
    c.querylens_trained_demo = json.getBool("querylens_trained_demo", false);

    if (c.num_query_tokens <= 0)
        throw Error("must be positive", path, "num_query_tokens");
    // A matching checkpoint has no language model; its text_config (often just
    // {"model_type": "opt"}) describes nothing that is loaded.
    if (!c.hasLanguageModel())
        return c;
    const io::ConfigReader text = json.child("text_config");
    // Hugging Face's Blip2Config defaults to OPT when text_config names no model_type.
    c.text_model_type = text.getString("model_type", "opt");
    c.text_config = root.value("text_config", nlohmann::json::object());
    if (c.text_model_type == "opt")
        c.opt = OptConfig::fromJson(text);
    else if (c.text_model_type == "t5")
        c.t5 = T5Config::fromJson(text);
    else
        throw Error("language model '" + printableText(c.text_model_type) + "' is not supported (OPT and T5 are)", path,
                    "text_config.model_type");
    return c;
}

std::unique_ptr<Blip2Model> Blip2Model::load(const std::string& dir, WeightFormats formats, at::Device device,
                                             const ProgressCallback& progress)
{
    std::unique_ptr<Blip2Model> model(new Blip2Model());
    model->config_ = Blip2Config::fromFolder(dir);
    model->device_ = device;
    model->archive_ = std::make_shared<const io::WeightArchive>(io::WeightArchive::openFolder(dir));
    for (const auto& name : model->archive_->names())
        model->parameterCount_ += model->archive_->find(name)->record->numel();

    WeightLoader weights(model->archive_, device, progress);
    model->build(weights, formats, progress);
    return model;
}

std::unique_ptr<Blip2Model> Blip2Model::random(const Blip2Config& config, WeightFormats formats, at::Device device,
                                               std::uint64_t seed, std::vector<NamedTensor>* created)
{
    std::unique_ptr<Blip2Model> model(new Blip2Model());
    model->config_ = config;
    model->device_ = device;
    WeightLoader weights = WeightLoader::random(device, seed, created != nullptr);
    model->build(weights, formats, {});
    model->parameterCount_ = weights.createdElements();
    if (created)
        *created = weights.created();
    return model;
}

void Blip2Model::build(WeightLoader& weights, WeightFormats formats, const ProgressCallback& progress)
{
    const Blip2Config& c = config_;
    vision_ = std::make_unique<VisionEncoder>(c.vision_config, weights, "vision_model", formats.vision);
    const bool matching = !c.hasLanguageModel();
    qformer_ = std::make_unique<QFormer>(c.qformer_config, weights, "qformer", formats.vision, /*textBranch=*/matching);
    queryTokens_ = weights.load("query_tokens", {1, c.num_query_tokens, c.qformer_config.hidden_size});

    if (matching) {
        // Hugging Face keeps the text embeddings at the top level of Blip2ForImageTextRetrieval;
        // some conversions put them inside the Q-Former.
        const std::string embeddings =
            !weights.contains("embeddings.word_embeddings.weight") &&
                    weights.contains("qformer.embeddings.word_embeddings.weight")
                ? "qformer.embeddings"
                : "embeddings";
        matching_ = std::make_unique<ImageTextHeads>(c.qformer_config, c.image_text_hidden_size, weights, embeddings,
                                                     formats.vision);
        weights.requireAllUsed([](const std::string&) { return false; });
    } else {
        if (c.text_model_type == "opt") {
            languageModel_ = std::make_unique<OptModel>(c.opt, weights, "language_model", formats.language);
        } else {
            languageModel_ = std::make_unique<T5Model>(c.t5, weights, "language_model", formats.language);
        }
        projection_ = Linear(weights, "language_projection", c.qformer_config.hidden_size, languageModel_->hiddenSize(),
                             true, formats.vision);
        weights.requireAllUsed([](const std::string& name) { return QFormer::isTextBranchWeight(name); });
    }
#ifdef __GLIBC__
    // Conversions while loading free many mid-sized buffers that glibc keeps in its heap; hand
    // them back so the resident size is the weights' and not the loading's high-water mark.
    malloc_trim(0);
#endif
    reportProgress(progress, 1.0, "loading weights");
}

ImageFeatures Blip2Model::encode(const at::Tensor& pixelValues, const ProgressCallback& progress) const
{
    // Vision takes most of the time: give it 90 % of the progress range.
    auto scaled = [&](double from, double span) -> ProgressCallback {
        if (!progress)
            return {};
        return [&progress, from, span](double f, const std::string& stage) { return progress(from + span * f, stage); };
    };
    ImageFeatures features;
    features.visionHidden = (*vision_)(pixelValues.to(device_), scaled(0.0, 0.9));
    features.qformer = queryBranch(features.visionHidden, scaled(0.9, 0.1));
    if (languageModel_)
        features.projected = projection_(features.qformer.lastHiddenState);
    return features;
}

QFormerOutput Blip2Model::queryBranch(const at::Tensor& visionHidden, const ProgressCallback& progress) const
{
    return (*qformer_)(queryTokens_.expand({visionHidden.size(0), -1, -1}), visionHidden, progress);
}

const LanguageModel& Blip2Model::languageModel() const
{
    if (!languageModel_)
        throw Error("this is an image-text matching checkpoint (Blip2ForImageTextRetrieval): it has no language "
                    "model, so it cannot caption or answer questions");
    return *languageModel_;
}

std::size_t Blip2Model::weightBytes() const
{
    // What the model holds in memory at its precision: the parts' own sizes (the vision side,
    // projection and queries are counted at the stored dtype).
    std::size_t bytes = queryTokens_.nbytes() + vision_->weightBytes() + qformer_->weightBytes();
    if (languageModel_)
        bytes += languageModel_->weightBytes() + projection_.weightBytes();
    if (matching_)
        bytes += matching_->weightBytes();
    return bytes;
}

}  // namespace querylens::model
