#include "text/bert_basic_tokenizer.h"

#include "querylens/error.h"
#include "text/utf8.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/ustring.h>

namespace querylens::text {

namespace {

using Codepoints = std::u32string;

Codepoints decode(const std::string& utf8)
{
    Codepoints out;
    out.reserve(utf8.size());
    for (std::size_t pos = 0; pos < utf8.size();) {
        const Utf8Step step = decodeUtf8(utf8, pos);
        out.push_back(step.valid ? char32_t(step.codepoint) : char32_t(0xFFFD));
        pos += std::size_t(step.length);
    }
    return out;
}

std::string encode(const Codepoints& text)
{
    std::string out;
    for (char32_t c : text)
        appendUtf8(out, c);
    return out;
}

icu::UnicodeString toIcu(const Codepoints& text)
{
    return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(text.data()), std::int32_t(text.size()));
}

Codepoints fromIcu(const icu::UnicodeString& text)
{
    Codepoints out;
    for (std::int32_t i = 0; i < text.length();) {
        const UChar32 c = text.char32At(i);
        out.push_back(char32_t(c));
        i += U16_LENGTH(c);
    }
    return out;
}

const icu::Normalizer2& normalizer(bool compose)
{
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = compose ? icu::Normalizer2::getNFCInstance(status) : icu::Normalizer2::getNFDInstance(status);
    if (U_FAILURE(status) || !n)
        throw Error(std::string("ICU's Unicode normalisation data is unavailable: ") + u_errorName(status));
    return *n;
}

Codepoints normalize(const Codepoints& text, bool compose)
{
    UErrorCode status = U_ZERO_ERROR;
    const icu::UnicodeString result = normalizer(compose).normalize(toIcu(text), status);
    if (U_FAILURE(status))
        throw Error(std::string("Unicode normalisation failed: ") + u_errorName(status));
    return fromIcu(result);
}

// Python's str.lower() of one character: the full mapping (U+0130 becomes two characters),
// without the final-sigma context, since the reference lower-cases one character at a time.
void appendLower(Codepoints& out, char32_t c)
{
    if (c < 0x80) {
        out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
        return;
    }
    UChar source[2];
    std::int32_t length = 0;
    U16_APPEND_UNSAFE(source, length, UChar32(c));
    UChar lowered[8];
    UErrorCode status = U_ZERO_ERROR;
    const std::int32_t n = u_strToLower(lowered, 8, source, length, "", &status);
    if (U_FAILURE(status)) {
        out.push_back(c);
        return;
    }
    for (std::int32_t i = 0; i < n;) {
        UChar32 l;
        U16_NEXT_UNSAFE(lowered, i, l);
        out.push_back(char32_t(l));
    }
}

// Python's str.isspace(), which str.split() uses: bidirectional class WS, B or S, or category Zs.
bool isPythonSpace(char32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace

bool isBertWhitespace(char32_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || u_charType(UChar32(c)) == U_SPACE_SEPARATOR;
}

bool isBertControl(char32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return false;
    switch (u_charType(UChar32(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
    case U_UNASSIGNED:
        return true;  // every category starting with "C"
    default:
        return false;
    }
}

bool isBertPunctuation(char32_t c)
{
    // All non-letter, non-digit ASCII counts, "$" and "^" and "`" included, though not P*.
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126))
        return true;
    switch (u_charType(UChar32(c))) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
        return true;
    default:
        return false;
    }
}

bool isCjkIdeograph(char32_t c)
{
    // The CJK Unified Ideographs blocks BERT lists (not Japanese kana or Korean Hangul).
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

BasicTokenization basicTokenize(const std::string& utf8, const BasicTokenizerOptions& options)
{
    // 1-2: clean text, space out CJK ideographs.
    Codepoints cleaned;
    for (char32_t c : decode(utf8)) {
        if (c == 0 || c == 0xFFFD || isBertControl(c))
            continue;
        if (isBertWhitespace(c)) {
            cleaned.push_back(' ');
        } else if (options.tokenizeChineseChars && isCjkIdeograph(c)) {
            cleaned.push_back(' ');
            cleaned.push_back(c);
            cleaned.push_back(' ');
        } else {
            cleaned.push_back(c);
        }
    }
    // 3: NFC over the whole text.
    const Codepoints text = normalize(cleaned, /*compose=*/true);
    const bool strip = options.stripAccents == BasicTokenizerOptions::StripAccents::Yes ||
                       (options.stripAccents == BasicTokenizerOptions::StripAccents::AsLowerCase && options.lowerCase);

    BasicTokenization out;
    std::vector<BasicToken>& tokens = out.tokens;
    int word = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        // 4: one whitespace-separated word.
        while (pos < text.size() && isPythonSpace(text[pos]))
            ++pos;
        if (pos == text.size())
            break;
        const std::size_t start = pos;
        while (pos < text.size() && !isPythonSpace(text[pos]))
            ++pos;
        Codepoints piece(text.begin() + std::ptrdiff_t(start), text.begin() + std::ptrdiff_t(pos));
        out.words.push_back(encode(piece));

        // 5: lower-case, strip accents.
        if (options.lowerCase) {
            Codepoints lowered;
            for (char32_t c : piece)
                appendLower(lowered, c);
            piece = std::move(lowered);
        }
        if (strip) {
            Codepoints kept;
            for (char32_t c : normalize(piece, /*compose=*/false))
                if (u_charType(UChar32(c)) != U_NON_SPACING_MARK)
                    kept.push_back(c);
            piece = std::move(kept);
        }
        // 6: punctuation characters become tokens of their own. (Accent stripping can leave a
        // word empty, or one that holds a space: split once more, as the reference's final
        // whitespace_tokenize does.)
        Codepoints current;
        auto flush = [&] {
            if (!current.empty())
                tokens.push_back({encode(current), word});
            current.clear();
        };
        for (char32_t c : piece) {
            if (isPythonSpace(c)) {
                flush();
            } else if (isBertPunctuation(c)) {
                flush();
                tokens.push_back({encode(Codepoints(1, c)), word});
            } else {
                current.push_back(c);
            }
        }
        flush();
        ++word;
    }
    return out;
}

}  // namespace querylens::text
