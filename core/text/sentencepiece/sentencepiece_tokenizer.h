#pragma once
// T5's SentencePiece tokenizer (spiece.model), through the plugin module (sentencepiece_backend.h).
// T5's conventions: no BOS, </s> (id 1) appended; <pad>, </s> and <unk> are special.

#include "text/sentencepiece/sentencepiece_backend.h"
#include "text/tokenizer.h"

#include <memory>
#include <string>

namespace querylens::text {

class SentencePieceBackend;

class SentencePieceTokenizer : public Tokenizer {
public:
    // Throws Error naming spiece.model when it is missing or unreadable, or the plugin when it
    // cannot be opened.
    static std::unique_ptr<SentencePieceTokenizer> fromFolder(const std::string& dir);
    // The model file at `path` through the factory `create`: an Error naming the file when it
    // is too large, or holds what libsentencepiece would crash on (sentencepiece_model_check.h),
    // or the library refuses it. fromFolder passes the plugin's factory; the fuzz targets and
    // their replay suite link the plugin's code directly (they have no libtorch whose protobuf
    // would clash) and pass querylens_sentencepiece_create itself.
    static std::unique_ptr<SentencePieceTokenizer> fromModelFile(const std::string& path,
                                                                 QuerylensSentencePieceCreate create);
    ~SentencePieceTokenizer() override;

    std::vector<int> encode(const std::string& text, bool addSpecialTokens = true) const override;
    std::string decode(const std::vector<int>& ids, bool skipSpecialTokens = true) const override;
    std::string decodeBytes(const std::vector<int>& ids, bool skipSpecialTokens = true) const override;
    std::string tokenText(int id) const override;
    int vocabSize() const override;
    bool isSpecial(int id) const override;
    std::optional<int> bosId() const override { return std::nullopt; }
    std::optional<int> eosId() const override { return eos_; }
    std::optional<int> padId() const override { return pad_; }

    // Where the plugin module is looked for (for messages).
    static std::string pluginPath();

private:
    explicit SentencePieceTokenizer(std::unique_ptr<SentencePieceBackend> backend);

    std::unique_ptr<SentencePieceBackend> backend_;
    std::optional<int> eos_, pad_;
};

}  // namespace querylens::text
