#pragma once
// BERT's "basic" tokenisation, the step before WordPiece, exactly as Hugging Face's slow
// BertTokenizer (BasicTokenizer in tokenization_bert.py, and the lower-casing that
// PreTrainedTokenizer.tokenize applies first):
//   1. clean: drop NUL, U+FFFD and control/format characters (category C*, except \t \n \r);
//      whitespace (\t \n \r and category Zs) becomes a space;
//   2. put spaces around CJK ideographs (BERT's list of blocks);
//   3. NFC;
//   4. split on whitespace (Python's str.split());
//   5. per word: lower-case (character by character, as the reference's regex does, so no
//      final-sigma context), strip accents (NFD, drop the non-spacing marks Mn);
//   6. split off every punctuation character (ASCII 33-47, 58-64, 91-96, 123-126, and P*).
// Unicode data (categories, normalisation, case mapping) comes from ICU.

#include <string>
#include <vector>

namespace querylens::text {

struct BasicTokenizerOptions {
    bool lowerCase = true;           // do_lower_case
    bool tokenizeChineseChars = true;  // tokenize_chinese_chars
    // strip_accents: null in the config means "as lowerCase"; true or false overrides it.
    enum class StripAccents { AsLowerCase, Yes, No } stripAccents = StripAccents::AsLowerCase;
};

// One token of the basic tokenisation and the whitespace-separated word of the text it came from
// (after cleaning and CJK spacing: a CJK ideograph is a word of its own).
struct BasicToken {
    std::string text;  // UTF-8
    int word = 0;
};

struct BasicTokenization {
    std::vector<BasicToken> tokens;
    std::vector<std::string> words;  // each word as written (cleaned, NFC), before lower-casing
};

// `text` is UTF-8; invalid bytes read as U+FFFD (and are then dropped, as clean text does).
BasicTokenization basicTokenize(const std::string& text, const BasicTokenizerOptions& options);

// Character classes of the reference, exposed for tests.
bool isBertWhitespace(char32_t c);
bool isBertControl(char32_t c);
bool isBertPunctuation(char32_t c);
bool isCjkIdeograph(char32_t c);

}  // namespace querylens::text
