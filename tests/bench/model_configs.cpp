#include "model_configs.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace {

int scaled(int layers, double scale) { return std::max(1, int(std::lround(layers * scale))); }

nlohmann::json imageSide(double scale)
{
    // EVA ViT-g/14 and the BERT-base sized Q-Former of every BLIP-2 checkpoint.
    return {
        {"model_type", "blip-2"},
        {"num_query_tokens", 32},
        {"vision_config",
         {{"hidden_size", 1408}, {"intermediate_size", 6144}, {"num_hidden_layers", scaled(39, scale)},
          {"num_attention_heads", 16}, {"image_size", 224}, {"patch_size", 14}, {"hidden_act", "gelu"},
          {"layer_norm_eps", 1e-6}, {"qkv_bias", true}}},
        {"qformer_config",
         {{"hidden_size", 768}, {"num_hidden_layers", scaled(12, scale)}, {"num_attention_heads", 12},
          {"intermediate_size", 3072}, {"cross_attention_frequency", 2}, {"encoder_hidden_size", 1408},
          {"hidden_act", "gelu"}, {"layer_norm_eps", 1e-12}}},
    };
}

}  // namespace

std::vector<std::string> realModelNames() { return {"blip2-opt-2.7b", "blip2-flan-t5-xl"}; }

nlohmann::json realModelConfig(const std::string& name, double scale)
{
    nlohmann::json config = imageSide(scale);
    if (name == "blip2-opt-2.7b") {
        config["text_config"] = {{"model_type", "opt"}, {"vocab_size", 50272}, {"hidden_size", 2560},
                                 {"word_embed_proj_dim", 2560}, {"num_hidden_layers", scaled(32, scale)},
                                 {"num_attention_heads", 32}, {"ffn_dim", 10240}, {"max_position_embeddings", 2048},
                                 {"activation_function", "relu"}, {"do_layer_norm_before", true},
                                 {"tie_word_embeddings", true}, {"bos_token_id", 2}, {"pad_token_id", 1},
                                 {"eos_token_id", 50118}};
    } else if (name == "blip2-flan-t5-xl") {
        config["text_config"] = {{"model_type", "t5"}, {"vocab_size", 32128}, {"d_model", 2048}, {"d_kv", 64},
                                 {"d_ff", 5120}, {"num_layers", scaled(24, scale)},
                                 {"num_decoder_layers", scaled(24, scale)}, {"num_heads", 32},
                                 {"relative_attention_num_buckets", 32}, {"relative_attention_max_distance", 128},
                                 {"feed_forward_proj", "gated-gelu"}, {"dense_act_fn", "gelu"},
                                 {"tie_word_embeddings", false}, {"eos_token_id", 1}, {"pad_token_id", 0},
                                 {"decoder_start_token_id", 0}};
    } else {
        throw std::invalid_argument("unknown model '" + name + "' (blip2-opt-2.7b, blip2-flan-t5-xl or a folder)");
    }
    return config;
}
