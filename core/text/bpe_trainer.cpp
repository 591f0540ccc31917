#include "text/bpe_trainer.h"

#include "io/text_file.h"
#include "text/bpe_tokenizer.h"
#include "text/gpt2_pretokenizer.h"
#include "text/utf8.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>

namespace querylens::text {

namespace fs = std::filesystem;

BpeVocabulary trainBpe(const std::vector<std::string>& corpus, int vocabSize)
{
    BpeVocabulary result;
    result.tokens = {"<s>", "<pad>", "</s>", "<unk>"};
    for (int b = 0; b < 256; ++b)
        result.tokens.push_back(byteToSymbol()[b]);

    // Each distinct pre-tokenised word as its current symbols, with its count.
    std::map<std::vector<std::string>, int> words;
    for (const std::string& line : corpus)
        for (const std::string& word : gpt2Pretokenize(line)) {
            std::vector<std::string> symbols;
            for (unsigned char byte : word)
                symbols.push_back(byteToSymbol()[byte]);
            ++words[symbols];
        }

    while (int(result.tokens.size()) < vocabSize) {
        std::map<std::pair<std::string, std::string>, int> pairs;
        for (const auto& [symbols, count] : words)
            for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
                pairs[{symbols[i], symbols[i + 1]}] += count;
        // std::map iterates pairs in order, so the first of the most frequent is the smallest.
        auto best = pairs.end();
        for (auto it = pairs.begin(); it != pairs.end(); ++it)
            if (best == pairs.end() || it->second > best->second)
                best = it;
        if (best == pairs.end() || best->second < 2)
            break;
        const auto [a, b] = best->first;
        result.merges.emplace_back(a, b);
        result.tokens.push_back(a + b);
        std::map<std::vector<std::string>, int> merged;
        for (const auto& [symbols, count] : words) {
            std::vector<std::string> out;
            for (std::size_t i = 0; i < symbols.size(); ++i) {
                if (i + 1 < symbols.size() && symbols[i] == a && symbols[i + 1] == b) {
                    out.push_back(a + b);
                    ++i;
                } else {
                    out.push_back(symbols[i]);
                }
            }
            merged[out] += count;
        }
        words.swap(merged);
    }
    return result;
}

void writeBpeTokenizer(const std::string& dir, const BpeVocabulary& vocabulary)
{
    auto write = [&](const std::string& name, const std::string& text) {
        io::writeTextFile((fs::path(dir) / name).string(), text);
    };
    nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
    for (std::size_t id = 0; id < vocabulary.tokens.size(); ++id)
        vocab[vocabulary.tokens[id]] = id;
    write("vocab.json", vocab.dump() + "\n");
    std::string merges = "#version: 0.2\n";
    for (const auto& [a, b] : vocabulary.merges)
        merges += a + " " + b + "\n";
    write("merges.txt", merges);
    write("special_tokens_map.json",
          nlohmann::json{{"bos_token", "</s>"}, {"eos_token", "</s>"}, {"pad_token", "<pad>"}, {"unk_token", "</s>"}}
                  .dump(2) + "\n");
    write("tokenizer_config.json", nlohmann::json{{"tokenizer_class", "GPT2Tokenizer"},
                                                  {"add_bos_token", true},
                                                  {"add_prefix_space", false},
                                                  {"bos_token", "</s>"},
                                                  {"eos_token", "</s>"},
                                                  {"pad_token", "<pad>"},
                                                  {"unk_token", "</s>"},
                                                  {"model_max_length", 512}}
                                           .dump(2) + "\n");
}

}  // namespace querylens::text
