#include "train/demo_checkpoint.h"

#include "image/image_preprocessor.h"
#include "io/safetensors.h"
#include "io/text_file.h"
#include "querylens/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <regex>

namespace querylens::train {

namespace fs = std::filesystem;

namespace {

bool startsWith(const std::string& name, const char* prefix) { return name.rfind(prefix, 0) == 0; }

bool isQFormerTextBranch(const std::string& name)
{
    static const std::regex text(R"(qformer\.encoder\.layer\.\d+\.(intermediate|output)\..*)");
    return std::regex_match(name, text);
}

void prepare(const std::string& folder)
{
    std::error_code error;
    fs::create_directories(folder, error);
    if (error || !fs::is_directory(folder))
        throw Error("cannot create the folder: " + error.message(), folder);
}

void writeWeights(const DemoTrainer& trainer, const std::string& folder, bool (*keep)(const std::string&))
{
    std::vector<at::Tensor> held;
    std::vector<io::TensorToWrite> records;
    for (const std::string& name : trainer.parameters().names()) {
        if (!keep(name))
            continue;
        held.push_back(trainer.parameters()[name].detach().to(at::kFloat).contiguous());
        records.push_back({name, io::DType::F32, held.back().sizes().vec(), held.back().data_ptr()});
    }
    const std::string path = (fs::path(folder) / "model.safetensors").string();
    const std::string temporary = path + ".partial";
    io::writeSafetensors(temporary, records, {{"format", "pt"}});
    fs::rename(temporary, path);
}

nlohmann::json visionConfig(const DemoGeometry& g)
{
    return {{"model_type", "blip_2_vision_model"}, {"hidden_size", g.visionHidden}, {"intermediate_size", g.visionMlp},
            {"num_hidden_layers", g.visionLayers}, {"num_attention_heads", g.visionHeads}, {"image_size", g.imageSize},
            {"patch_size", g.patchSize}, {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-6}, {"qkv_bias", true}};
}

nlohmann::json qformerConfig(const DemoGeometry& g)
{
    return {{"model_type", "blip_2_qformer"}, {"hidden_size", g.qformerHidden}, {"num_hidden_layers", g.qformerLayers},
            {"num_attention_heads", g.qformerHeads}, {"intermediate_size", g.qformerIntermediate},
            {"cross_attention_frequency", g.crossAttentionFrequency}, {"encoder_hidden_size", g.visionHidden},
            {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12}, {"max_position_embeddings", g.textPositions},
            {"vocab_size", g.textVocab}, {"pad_token_id", 0}, {"position_embedding_type", "absolute"}};
}

void writePreprocessor(const DemoGeometry& g, const std::string& folder)
{
    image::PreprocessorConfig config;
    config.width = config.height = g.imageSize;
    io::writeTextFile((fs::path(folder) / "preprocessor_config.json").string(), config.toJson());
}

}  // namespace

bool isGenerationWeight(const std::string& name)
{
    if (isQFormerTextBranch(name))
        return false;
    return startsWith(name, "vision_model.") || startsWith(name, "query_tokens") || startsWith(name, "qformer.") ||
           startsWith(name, "language_projection.") || startsWith(name, "language_model.");
}

bool isRetrievalWeight(const std::string& name)
{
    return startsWith(name, "vision_model.") || startsWith(name, "query_tokens") || startsWith(name, "qformer.") ||
           startsWith(name, "embeddings.") || startsWith(name, "vision_projection.") ||
           startsWith(name, "text_projection.") || startsWith(name, "itm_head.");
}

void writeGenerationCheckpoint(const DemoTrainer& trainer, const std::string& folder)
{
    prepare(folder);
    const DemoGeometry& g = trainer.geometry();
    const nlohmann::json config{
        {"model_type", "blip-2"},
        {"architectures", {"Blip2ForConditionalGeneration"}},
        {"num_query_tokens", g.queries},
        {"querylens_demo", true},
        {"querylens_trained_demo", true},
        {"torch_dtype", "float32"},
        {"vision_config", visionConfig(g)},
        {"qformer_config", qformerConfig(g)},
        {"text_config",
         {{"model_type", "opt"}, {"architectures", {"OPTForCausalLM"}}, {"vocab_size", g.optVocab},
          {"hidden_size", g.optHidden}, {"word_embed_proj_dim", g.optHidden}, {"num_hidden_layers", g.optLayers},
          {"num_attention_heads", g.optHeads}, {"ffn_dim", g.optFfn}, {"max_position_embeddings", g.optPositions},
          {"activation_function", "relu"}, {"do_layer_norm_before", true}, {"tie_word_embeddings", true},
          {"bos_token_id", kOptBos}, {"pad_token_id", kOptPad}, {"eos_token_id", trainer.newlineId()}}},
    };
    io::writeTextFile((fs::path(folder) / "config.json").string(), config.dump(2) + "\n");
    writePreprocessor(g, folder);
    // The byte-level BPE the language model was trained with.
    for (const char* file : {"vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"})
        if (!fs::equivalent(trainer.tokenizerFolder(), folder))
            fs::copy_file(fs::path(trainer.tokenizerFolder()) / file, fs::path(folder) / file,
                      fs::copy_options::overwrite_existing);
    writeWeights(trainer, folder, &isGenerationWeight);
}

void writeRetrievalCheckpoint(const DemoTrainer& trainer, const std::string& folder)
{
    prepare(folder);
    const DemoGeometry& g = trainer.geometry();
    nlohmann::json qformer = qformerConfig(g);
    qformer["use_qformer_text_input"] = true;
    const nlohmann::json config{
        {"model_type", "blip-2"},
        {"architectures", {"Blip2ForImageTextRetrieval"}},
        {"num_query_tokens", g.queries},
        {"image_text_hidden_size", g.embedDim},
        {"querylens_demo", true},
        {"querylens_trained_demo", true},
        {"torch_dtype", "float32"},
        {"vision_config", visionConfig(g)},
        {"qformer_config", qformer},
        {"text_config", {{"model_type", "opt"}}},  // as the real blip2-itm-vit-g: no language model
    };
    io::writeTextFile((fs::path(folder) / "config.json").string(), config.dump(2) + "\n");
    writePreprocessor(g, folder);

    const WordPieceVocabulary& vocabulary = trainer.wordPiece();
    std::string lines;
    for (const std::string& token : vocabulary.tokens())
        lines += token + "\n";
    io::writeTextFile((fs::path(folder) / "vocab.txt").string(), lines);
    io::writeTextFile((fs::path(folder) / "added_tokens.json").string(),
                      nlohmann::json{{"[DEC]", vocabulary.dec()}}.dump(2) + "\n");
    nlohmann::json decoder;
    auto special = [](const std::string& content) {
        return nlohmann::json{{"content", content}, {"lstrip", false}, {"normalized", false},
                              {"rstrip", false}, {"single_word", false}, {"special", true}};
    };
    decoder[std::to_string(vocabulary.pad())] = special("[PAD]");
    decoder[std::to_string(vocabulary.unknown())] = special("[UNK]");
    decoder[std::to_string(vocabulary.cls())] = special("[CLS]");
    decoder[std::to_string(vocabulary.sep())] = special("[SEP]");
    decoder[std::to_string(vocabulary.sep() + 1)] = special("[MASK]");
    decoder[std::to_string(vocabulary.dec())] = special("[DEC]");
    io::writeTextFile((fs::path(folder) / "tokenizer_config.json").string(),
                      nlohmann::json{{"added_tokens_decoder", decoder},
                                     {"bos_token", "[DEC]"},
                                     {"clean_up_tokenization_spaces", true},
                                     {"cls_token", "[CLS]"},
                                     {"do_basic_tokenize", true},
                                     {"do_lower_case", true},
                                     {"mask_token", "[MASK]"},
                                     {"model_max_length", g.textPositions},
                                     {"never_split", nullptr},
                                     {"pad_token", "[PAD]"},
                                     {"processor_class", "Blip2Processor"},
                                     {"sep_token", "[SEP]"},
                                     {"strip_accents", nullptr},
                                     {"tokenize_chinese_chars", true},
                                     {"tokenizer_class", "BertTokenizer"},
                                     {"truncation_side", "right"},
                                     {"unk_token", "[UNK]"}}
                              .dump(2) + "\n");
    io::writeTextFile((fs::path(folder) / "special_tokens_map.json").string(),
                      nlohmann::json{{"bos_token", "[DEC]"}, {"cls_token", "[CLS]"}, {"mask_token", "[MASK]"},
                                     {"pad_token", "[PAD]"}, {"sep_token", "[SEP]"}, {"unk_token", "[UNK]"}}
                              .dump(2) + "\n");
    writeWeights(trainer, folder, &isRetrievalWeight);
}

}  // namespace querylens::train
