#include "querylens/demo_model.h"

#include "image/image_preprocessor.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "io/text_file.h"
#include "io/user_folders.h"
#include "model/blip2.h"
#include "pipeline/demo_corpus.h"
#include "querylens/error.h"
#include "text/bpe_tokenizer.h"
#include "text/bpe_trainer.h"
#include "text/utf8.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace querylens {

namespace fs = std::filesystem;

namespace {

constexpr int kVocabularySize = 2048;
constexpr std::uint64_t kSeed = 20241125;

std::vector<std::string> corpusLines()
{
    std::vector<std::string> lines;
    std::istringstream corpus(demoCorpus());
    for (std::string line; std::getline(corpus, line);)
        if (!line.empty())
            lines.push_back(line + "\n");
    return lines;
}

// Real BLIP-2 geometry where the program depends on it (image size, patches, 32 queries,
// cross-attention every other Q-Former layer); small widths so that it loads in a blink.
nlohmann::json demoConfig(int vocabSize, int newlineId)
{
    return {
        {"model_type", "blip-2"},
        {"architectures", {"Blip2ForConditionalGeneration"}},
        {"num_query_tokens", 32},
        {"querylens_demo", true},
        {"torch_dtype", "float32"},
        {"vision_config",
         {{"model_type", "blip_2_vision_model"}, {"hidden_size", 128}, {"intermediate_size", 512},
          {"num_hidden_layers", 4}, {"num_attention_heads", 4}, {"image_size", 224}, {"patch_size", 14},
          {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-6}, {"qkv_bias", true}}},
        {"qformer_config",
         {{"model_type", "blip_2_qformer"}, {"hidden_size", 128}, {"num_hidden_layers", 4},
          {"num_attention_heads", 4}, {"intermediate_size", 512}, {"cross_attention_frequency", 2},
          {"encoder_hidden_size", 128}, {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12}}},
        {"text_config",
         {{"model_type", "opt"}, {"architectures", {"OPTForCausalLM"}}, {"vocab_size", vocabSize},
          {"hidden_size", 256}, {"word_embed_proj_dim", 256}, {"num_hidden_layers", 4},
          {"num_attention_heads", 4}, {"ffn_dim", 1024}, {"max_position_embeddings", 512},
          {"activation_function", "relu"}, {"do_layer_norm_before", true}, {"tie_word_embeddings", false},
          {"bos_token_id", 2}, {"pad_token_id", 1}, {"eos_token_id", newlineId}}},
    };
}

// The output head is drawn on its own (tie_word_embeddings false: a tied random head mostly
// repeats its input, and the input is BOS). Rows of tokens that are not a piece of readable
// text (special tokens, lone bytes of a multi-byte character, control characters) are zeroed,
// so that the random text is random words rather than replacement characters. The end token
// (a newline) keeps its row so that captions end.
void silenceFragmentTokens(std::vector<model::NamedTensor>& tensors, const text::BpeTokenizer& tokenizer, int eosId)
{
    for (auto& t : tensors) {
        if (t.name != "language_model.lm_head.weight")
            continue;
        for (int id = 0; id < tokenizer.vocabSize() && id < t.tensor.size(0); ++id) {
            if (id == eosId)
                continue;
            const std::string bytes = tokenizer.decodeBytes({id}, false);
            const bool control = std::any_of(bytes.begin(), bytes.end(), [](char c) { return (unsigned char)c < 0x20; });
            if (tokenizer.isSpecial(id) || bytes.empty() || control || text::completeUtf8Prefix(bytes) != bytes.size() ||
                text::repairUtf8(bytes) != bytes)
                t.tensor[id].zero_();
        }
    }
}

}  // namespace

std::string bundledResourceFolder(const std::string& name)
{
    std::vector<fs::path> candidates;
    if (const char* resources = std::getenv("QUERYLENS_RESOURCES"); resources && *resources)
        candidates.push_back(fs::path(resources) / name);
    std::error_code error;
    const fs::path program = fs::read_symlink("/proc/self/exe", error);
    if (!error)
        candidates.push_back(program.parent_path().parent_path() / "share" / "querylens" / name);
#ifdef QUERYLENS_DATA_DIR
    candidates.push_back(fs::path(QUERYLENS_DATA_DIR) / name);
#endif
#ifdef QUERYLENS_SOURCE_RESOURCES
    candidates.push_back(fs::path(QUERYLENS_SOURCE_RESOURCES) / name);
#endif
    for (const auto& candidate : candidates)
        if (fs::is_directory(candidate, error))
            return candidate.string();
    return {};
}

bool installDemoModel(const std::string& folder, const ProgressCallback& progress)
{
    const std::string source = bundledResourceFolder("demo-model");
    if (source.empty() || !fs::exists(fs::path(source) / "model.safetensors")) {
        writeDemoModel(folder, progress);
        return false;
    }
    std::error_code error;
    fs::create_directories(folder, error);
    if (error || !fs::is_directory(folder))
        throw Error("cannot create the folder: " + error.message(), folder);
    // Files of an earlier (random) demo model that the trained one does not have must go.
    for (const auto& entry : fs::directory_iterator(folder))
        if (entry.is_regular_file() && !fs::exists(fs::path(source) / entry.path().filename()))
            fs::remove(entry.path(), error);
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(source))
        if (entry.is_regular_file())
            files.push_back(entry.path());
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (progress && !progress(double(i) / files.size(), "copying " + files[i].filename().string()))
            throw Cancelled();
        const fs::path target = fs::path(folder) / files[i].filename();
        const fs::path temporary = target.string() + ".partial";
        fs::copy_file(files[i], temporary, fs::copy_options::overwrite_existing, error);
        if (!error)
            fs::rename(temporary, target, error);
        if (error)
            throw Error("cannot copy the demo model: " + error.message(), target.string());
    }
    if (progress)
        progress(1.0, "done");
    return true;
}

std::string defaultDemoModelFolder()
{
    return io::querylensUserPath(io::UserFolder::Data, "demo-model", nullptr);
}

void writeDemoModel(const std::string& folder, const ProgressCallback& progress)
{
    std::error_code error;
    fs::create_directories(folder, error);
    if (error || !fs::is_directory(folder))
        throw Error("cannot create the folder: " + error.message(), folder);
    if (progress)
        progress(0.0, "training the tokenizer");

    text::writeBpeTokenizer(folder, text::trainBpe(corpusLines(), kVocabularySize));
    const auto tokenizer = text::BpeTokenizer::fromFolder(folder, text::BpeConventions{});
    const std::vector<int> newline = tokenizer->encode("\n", false);
    if (newline.size() != 1)
        throw Error("the trained tokenizer has no single token for a newline", folder);

    const nlohmann::json config = demoConfig(tokenizer->vocabSize(), newline.front());
    const fs::path configPath = fs::path(folder) / "config.json";
    io::writeTextFile(configPath.string(), config.dump(2) + "\n");
    io::writeTextFile((fs::path(folder) / "preprocessor_config.json").string(), image::PreprocessorConfig{}.toJson());
    io::writeTextFile((fs::path(folder) / "README.md").string(),
              "# QueryLens demo model\n\nA BLIP-2 (OPT) checkpoint with RANDOM weights, written by "
              "`querylens make-demo-model`.\nIts captions and answers are random words: it exists so that the "
              "program runs without a download.\nLoad a real checkpoint (e.g. Salesforce/blip2-opt-2.7b) for "
              "meaningful text.\n");

    if (progress)
        progress(0.2, "initialising random weights");
    c10::InferenceMode inference;
    std::vector<model::NamedTensor> tensors;
    model::Blip2Model::random(model::Blip2Config::fromFolder(folder), {}, at::kCPU, kSeed, &tensors);
    silenceFragmentTokens(tensors, *tokenizer, newline.front());
    std::vector<io::TensorToWrite> records;
    for (auto& t : tensors) {
        t.tensor = t.tensor.contiguous();
        records.push_back({t.name, io::DType::F32, t.tensor.sizes().vec(), t.tensor.data_ptr()});
    }
    if (progress)
        progress(0.8, "writing model.safetensors");
    io::writeSafetensors((fs::path(folder) / "model.safetensors").string(), records, {{"format", "pt"}});
    if (progress)
        progress(1.0, "done");
}

}  // namespace querylens
