#pragma once
// The demo model's two tokenizers: the Q-Former's WordPiece vocabulary over the grammar's words
// (BERT's conventions, as in Blip2ForImageTextRetrieval checkpoints) and the OPT's byte-level
// BPE trained on the grammar's text.

#include "querylens/demo_scenes.h"

#include <cstdint>
#include <string>
#include <vector>

namespace querylens::train {

// vocab.txt of the Q-Former: [PAD]=0, [unused0]..[unused9], [UNK], [CLS], [SEP], [MASK], the
// printable ASCII characters but A-Z, the grammar's words, "##" + each lower-case letter and
// digit. [DEC] (the ITG start token) is the next id, from added_tokens.json.
class WordPieceVocabulary {
public:
    WordPieceVocabulary();
    const std::vector<std::string>& tokens() const { return tokens_; }
    int size() const { return int(tokens_.size()) + 1; }  // with [DEC]
    int pad() const { return 0; }
    int unknown() const { return unknown_; }
    int cls() const { return unknown_ + 1; }
    int sep() const { return unknown_ + 2; }
    int dec() const { return int(tokens_.size()); }
    // [CLS] pieces [SEP]. Every word of the grammar is a whole entry, so BERT's basic
    // tokenizer (lower case, split on spaces and punctuation) followed by WordPiece is a lookup.
    std::vector<std::int64_t> encode(const std::string& text) const;

private:
    std::vector<std::string> tokens_;
    int unknown_ = 0;
};

// The texts of scene `index` the language model reads: its caption and question/answer pairs.
std::vector<std::string> sceneTexts(const demo::Scene& scene);

// The special ids of the demo's OPT tokenizer (as in facebook/opt-*: <pad> 1, </s> 2, which
// OPT also uses as its beginning of text).
inline constexpr std::int64_t kOptPad = 1, kOptBos = 2;

}  // namespace querylens::train
