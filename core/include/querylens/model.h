#pragma once
// The public entry point of core: load a BLIP-2 checkpoint, encode images, start sessions.
// No torch types appear here, so the window and most tests compile without torch headers.
// The loaded model is read-only and may be shared; sessions hold everything that changes.

#include "querylens/image.h"
#include "querylens/progress.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace querylens {

class ImageEncoding;
class Session;

// How weights are held in memory. Activations are float32 in every case.
enum class Precision {
    Float32,   // exact: matches the reference implementation
    BFloat16,  // half the memory; weights rounded to bf16
    Int8,      // the language model's linear layers in int8 (one scale per row), the rest bf16
};
const char* precisionName(Precision precision);  // "fp32", "bf16", "int8"
std::optional<Precision> parsePrecision(const std::string& name);

struct LoadOptions {
    std::string folder;                 // a Hugging Face BLIP-2 checkpoint folder
    Precision precision = Precision::Float32;
    std::string device = "cpu";         // "cpu", or "cuda" where the libtorch in use has it
    int threads = 0;                    // intra-op threads; 0 = all available cores
};

struct ModelInfo {
    std::string name;                   // "Salesforce/blip2-opt-2.7b" from a Hub cache path, else the folder name
    std::string folder;
    std::string languageModel;          // "OPT" or "Flan-T5"; "none" for an image-text matching model
    Precision precision = Precision::Float32;
    std::string device;
    int threads = 0;
    std::int64_t parameters = 0;
    std::size_t weightBytes = 0;        // weights in memory at this precision
    int imageSize = 0;
    int patchSize = 0;
    int gridSize = 0;
    int numQueries = 0;
    int qformerLayers = 0;
    int qformerHeads = 0;
    std::vector<int> crossAttentionLayers;
    std::int64_t maxPositions = 0;      // language model positions, including the queries
    int vocabSize = 0;
    bool isDemo = false;                // random weights written by `querylens make-demo-model --random`
    bool isTrainedDemo = false;         // the demo model trained on synthetic shapes (not a real BLIP-2)
    // What the checkpoint is for: Blip2ForConditionalGeneration (a language model: captions,
    // questions, chat, gradient maps of generated words) or Blip2ForImageTextRetrieval (no
    // language model: image-text matching, text localisation, search by text).
    std::string architecture;
    bool canGenerate = true;
    bool canMatch = false;
    int embeddingSize = 0;              // matching models: width of the ITC embeddings
    double loadSeconds = 0;
    std::vector<std::string> warnings;  // e.g. the slow reference BLAS is in use

    // The CPU kernels this model runs, chosen at load from the CPU's features (capped by the
    // QUERYLENS_ISA environment variable: portable, avx2, avx512, avx512bf16, amx). Plain text for
    // the status bar and --json.
    struct Kernels {
        std::string isa;        // "avx512bf16", "avx512", "avx2" or "portable"
        std::string cpu;        // the CPU's model name
        std::string cpuFlags;   // the features found, e.g. "avx2 fma ... avx512_bf16"
        std::string images;     // vision encoder and Q-Former (257 x images rows)
        std::string prompts;    // the language model over a prompt
        std::string decode;     // one token at a time
        std::string attention;  // over prompts and images
        // How the kernel of each image product is chosen (QUERYLENS_KERNEL_CHOICE): "measured"
        // (the faster of ours and libtorch's at::linear per shape, timed once per machine and
        // kept in a cache file), "ours" or "libtorch".
        std::string choice;
        struct Product {
            std::string layer;      // e.g. "vision fc1"
            std::string weights;    // "bf16" or "fp32"
            std::int64_t m = 0, n = 0, k = 0;  // x [m, k], weights [n, k]
            std::string kernel;     // "ours" or "libtorch": the one used
            double oursGflops = 0, libtorchGflops = 0;
            std::string source;     // "measured" at this load, or "cache"
        };
        std::vector<Product> products;  // the measured mode's timings of the vision encoder's products
        double calibrationSeconds = 0;  // spent timing them at this load (0 when read from the cache)
    } kernels;
};

// One sentence on what a loaded model can do and what it cannot, for the window and the CLI.
std::string capabilitySummary(const ModelInfo& info);

class Model : public std::enable_shared_from_this<Model> {
public:
    // Throws Error (naming the file and key) for a broken checkpoint, Cancelled when the
    // progress callback asked to stop.
    static std::shared_ptr<const Model> load(const LoadOptions& options, const ProgressCallback& progress = {});
    ~Model();

    const ModelInfo& info() const;

    // Runs the vision encoder and the Q-Former once for an image; sessions, matching and the
    // explanations reuse the result.
    std::shared_ptr<const ImageEncoding> encode(const RgbImage& image, const ProgressCallback& progress = {}) const;
    // Several images in one pass: the vision encoder and the Q-Former run over all of them at once
    // (B x 257 rows through every matrix product, which keeps the weights in cache longer), and
    // each gets its own ImageEncoding, equal to what encode() gives for it alone (within float
    // rounding). Images of any sizes; each one's encodeMs() is the batch's time divided by B.
    // Progress covers the whole batch. An empty list gives an empty result.
    std::vector<std::shared_ptr<const ImageEncoding>> encodeBatch(const std::vector<RgbImage>& images,
                                                                  const ProgressCallback& progress = {}) const;
    // Throws Error for a matching model, which cannot generate (capabilitySummary says why).
    std::unique_ptr<Session> newSession(std::shared_ptr<const ImageEncoding> image) const;

    // The prompt captioning uses: empty, or "a photo of" for the -coco OPT checkpoints, which
    // were fine-tuned with it.
    std::string captionPrompt() const;
    std::vector<int> tokenize(const std::string& text) const;  // with the model's special tokens
    std::string tokenText(int id) const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

private:
    explicit Model(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace querylens
