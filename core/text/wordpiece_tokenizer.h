#pragma once
// BERT's WordPiece, as the Q-Former's text side uses it (Blip2Processor's BertTokenizer):
// vocab.txt (line number = id), added tokens (added_tokens.json, tokenizer_config.json's
// added_tokens_decoder: "[DEC]" in BLIP-2), and tokenizer_config.json's settings. The reference
// is Hugging Face's slow BertTokenizer: added and special tokens written in the text stay whole;
// the rest goes through the basic tokenisation (bert_basic_tokenizer.h), then greedy
// longest-match-first WordPiece with "##" continuations, a word of more than 100 characters or
// with a piece that matches nothing becoming one [UNK]. encode() adds [CLS] ... [SEP].

#include "text/bert_basic_tokenizer.h"
#include "text/tokenizer.h"

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace querylens::text {

struct WordPieceSettings {
    BasicTokenizerOptions basic;
    int modelMaxLength = 512;  // model_max_length: the processor's limit on ids, specials included
    int maxInputCharsPerWord = 100;
    std::string unkToken = "[UNK]", clsToken = "[CLS]", sepToken = "[SEP]", padToken = "[PAD]",
                maskToken = "[MASK]", bosToken;
};

// One piece of an encoded text, and the word of the text it belongs to.
struct WordPiece {
    int id = 0;
    std::string text;  // "cat", "##s", "[CLS]"
    int word = -1;     // index into WordPieceEncoding::words; -1 for [CLS] and [SEP] added around the text
};

struct WordPieceEncoding {
    std::vector<WordPiece> pieces;
    std::vector<std::string> words;  // the text's words as written (whitespace-separated; an added
                                     // token and each CJK ideograph are words of their own)
    bool truncated = false;
    std::vector<int> ids() const;
};

class WordPieceTokenizer : public Tokenizer {
public:
    // Reads vocab.txt, and when present added_tokens.json, tokenizer_config.json and
    // special_tokens_map.json. Throws Error naming the file and the problem.
    static std::unique_ptr<WordPieceTokenizer> fromFolder(const std::string& dir);
    // `vocab` by id; `added` the added tokens (content -> id); `source` is named in errors.
    WordPieceTokenizer(std::vector<std::string> vocab, std::map<std::string, int> added, WordPieceSettings settings,
                       const std::string& source);

    // With addSpecialTokens: [CLS] pieces [SEP]. maxLength > 0 truncates to that many ids,
    // keeping the left part and ending with [SEP] (truncation=True, truncation_side "right").
    WordPieceEncoding encodeText(const std::string& text, bool addSpecialTokens = true, int maxLength = 0) const;

    std::vector<int> encode(const std::string& text, bool addSpecialTokens = true) const override;
    std::string decode(const std::vector<int>& ids, bool skipSpecialTokens = true) const override;
    std::string decodeBytes(const std::vector<int>& ids, bool skipSpecialTokens = true) const override;
    std::string tokenText(int id) const override;
    int vocabSize() const override { return int(idToToken_.size()); }
    bool isSpecial(int id) const override;
    std::optional<int> bosId() const override { return bos_; }
    std::optional<int> eosId() const override { return sep_; }
    std::optional<int> padId() const override { return pad_; }

    int clsId() const { return cls_; }
    int sepId() const { return sep_; }
    int unkId() const { return unk_; }
    const WordPieceSettings& settings() const { return settings_; }

private:
    void wordPieces(const std::string& word, int wordIndex, std::vector<WordPiece>& out) const;
    int requireId(const std::string& token, const char* role) const;

    std::unordered_map<std::string, int> vocab_;
    std::vector<std::string> idToToken_;
    std::vector<std::pair<std::string, int>> addedTokens_;  // longest first
    std::vector<bool> special_;
    WordPieceSettings settings_;
    std::string source_;
    int cls_ = 0, sep_ = 0, unk_ = 0;
    std::optional<int> pad_, bos_;
};

}  // namespace querylens::text
