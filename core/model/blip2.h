#pragma once
// BLIP-2 as a whole: vision encoder -> Q-Former (32 learned queries) -> language projection ->
// language model (OPT or Flan-T5). Hugging Face: Blip2ForConditionalGeneration; or, for the
// image-text matching checkpoints (Blip2ForImageTextRetrieval), vision encoder -> Q-Former with
// its text branch -> matching heads, and no language model.

#include "model/image_text_matching.h"
#include "model/language_model.h"
#include "model/linear.h"
#include "model/opt.h"
#include "model/qformer.h"
#include "model/t5.h"
#include "model/vision_encoder.h"

#include <memory>
#include <optional>
#include <string>

namespace querylens::model {

// Which of Hugging Face's BLIP-2 classes a checkpoint is for (config.json's architectures).
enum class Blip2Architecture {
    ConditionalGeneration,  // Blip2ForConditionalGeneration: captions, questions, chat
    ImageTextRetrieval,     // Blip2ForImageTextRetrieval: image-text matching, no language model
};

// config.json of a BLIP-2 checkpoint. Both Hub layouts load: the late-2024 one adds
// image_token_index here and num_query_tokens in processor_config.json; the model itself never
// needs the image token (the soft prompt is placed before the text).
struct Blip2Config {
    Blip2Architecture architecture = Blip2Architecture::ConditionalGeneration;
    VisionConfig vision_config;
    QFormerConfig qformer_config;
    std::string text_model_type;  // "opt" or "t5"; empty for an image-text matching checkpoint
    OptConfig opt;                // when text_model_type is "opt"
    T5Config t5;                  // when text_model_type is "t5"
    nlohmann::json text_config;   // the raw text_config, for the T5 reader
    int num_query_tokens = 32;
    std::optional<int> image_token_index;  // late-2024 layout only
    bool querylens_demo = false;           // written by `querylens make-demo-model`
    bool querylens_trained_demo = false;   // ... and trained on synthetic shapes (`querylens train-demo`)
    int image_text_hidden_size = 256;      // matching checkpoints: width of the ITC projections

    bool hasLanguageModel() const { return architecture == Blip2Architecture::ConditionalGeneration; }

    static Blip2Config fromFolder(const std::string& dir);
    // `path` is the file to name in errors.
    static Blip2Config fromJson(const nlohmann::json& root, const std::string& path);
};

// How weights are stored: the vision side and the language model may differ (int8 is applied
// to the language model's linear layers only).
struct WeightFormats {
    WeightFormat vision = WeightFormat::Float32;
    WeightFormat language = WeightFormat::Float32;
};

struct ImageFeatures {
    at::Tensor visionHidden;   // [1, 1 + grid^2, vision hidden]
    QFormerOutput qformer;     // query outputs [1, Q, qformer hidden] and all attention maps
    at::Tensor projected;      // [1, Q, language hidden]: the soft prompt (undefined without a language model)
};

class Blip2Model {
public:
    static std::unique_ptr<Blip2Model> load(const std::string& dir, WeightFormats formats, at::Device device,
                                            const ProgressCallback& progress = {});
    // Randomly initialised weights of the config's sizes (the demo model; benchmarks at real
    // sizes). `created`, when given, receives the tensors by their Hugging Face names, as created.
    static std::unique_ptr<Blip2Model> random(const Blip2Config& config, WeightFormats formats, at::Device device,
                                              std::uint64_t seed, std::vector<NamedTensor>* created = nullptr);

    ImageFeatures encode(const at::Tensor& pixelValues, const ProgressCallback& progress = {}) const;
    // The soft prompt for the language model from the query outputs [1, Q, qformer hidden].
    at::Tensor project(const at::Tensor& queryOutputs) const { return projection_(queryOutputs); }

    // The Q-Former's query branch on vision features [B, tokens, vision hidden] (the explain
    // pass re-runs it under autograd without re-running the vision encoder).
    QFormerOutput queryBranch(const at::Tensor& visionHidden, const ProgressCallback& progress = {}) const;

    const Blip2Config& config() const { return config_; }
    bool hasLanguageModel() const { return languageModel_ != nullptr; }
    // Throws Error for a matching checkpoint, which has none.
    const LanguageModel& languageModel() const;
    // The matching heads of a Blip2ForImageTextRetrieval checkpoint, else null.
    const ImageTextHeads* matching() const { return matching_.get(); }
    const QFormer& qformer() const { return *qformer_; }
    const at::Tensor& queryTokens() const { return queryTokens_; }  // [1, Q, qformer hidden]
    const VisionEncoder& visionEncoder() const { return *vision_; }
    at::Device device() const { return device_; }
    std::size_t weightBytes() const;
    std::int64_t parameterCount() const { return parameterCount_; }

private:
    Blip2Model() = default;
    void build(WeightLoader& weights, WeightFormats formats, const ProgressCallback& progress);

    Blip2Config config_;
    at::Device device_ = at::kCPU;
    std::shared_ptr<const io::WeightArchive> archive_;  // keeps memory-mapped weights alive
    std::unique_ptr<VisionEncoder> vision_;
    std::unique_ptr<QFormer> qformer_;
    at::Tensor queryTokens_;  // [1, Q, qformer hidden]
    Linear projection_;
    std::unique_ptr<LanguageModel> languageModel_;     // null for a matching checkpoint
    std::unique_ptr<ImageTextHeads> matching_;         // null for a generation checkpoint
    std::int64_t parameterCount_ = 0;
};

}  // namespace querylens::model
