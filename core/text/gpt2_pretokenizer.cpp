#include "text/gpt2_pretokenizer.h"

#include "text/unicode_tables.h"
#include "text/utf8.h"

#include <algorithm>

namespace querylens::text {

namespace {

bool inRanges(const CodepointRange* ranges, std::size_t count, std::uint32_t cp)
{
    const CodepointRange* end = ranges + count;
    const CodepointRange* it =
        std::upper_bound(ranges, end, cp, [](std::uint32_t value, const CodepointRange& r) { return value < r.first; });
    return it != ranges && cp <= (it - 1)->last;
}

enum class Kind { Letter, Number, Space, Other };

struct Char {
    std::size_t start;
    std::size_t length;
    Kind kind;
    std::uint32_t cp;
};

std::vector<Char> characters(const std::string& text)
{
    std::vector<Char> chars;
    for (std::size_t pos = 0; pos < text.size();) {
        const Utf8Step step = decodeUtf8(text, pos);
        Kind kind = Kind::Other;
        if (step.valid) {
            if (isLetter(step.codepoint))
                kind = Kind::Letter;
            else if (isNumber(step.codepoint))
                kind = Kind::Number;
            else if (isSpace(step.codepoint))
                kind = Kind::Space;
        }
        chars.push_back({pos, std::size_t(step.length), kind, step.valid ? step.codepoint : 0xFFFFFFFF});
        pos += std::size_t(step.length);
    }
    return chars;
}

}  // namespace

bool isLetter(std::uint32_t cp) { return inRanges(tables::kLetters, tables::kLettersCount, cp); }
bool isNumber(std::uint32_t cp) { return inRanges(tables::kNumbers, tables::kNumbersCount, cp); }
bool isSpace(std::uint32_t cp) { return inRanges(tables::kSpaces, tables::kSpacesCount, cp); }

std::vector<std::string> gpt2Pretokenize(const std::string& text)
{
    const std::vector<Char> chars = characters(text);
    const std::size_t n = chars.size();
    std::vector<std::string> pieces;
    auto emit = [&](std::size_t from, std::size_t to) {  // characters [from, to)
        const std::size_t begin = chars[from].start;
        const std::size_t end = to < n ? chars[to].start : text.size();
        pieces.push_back(text.substr(begin, end - begin));
    };
    auto runOf = [&](std::size_t from, auto predicate) {
        std::size_t i = from;
        while (i < n && predicate(chars[i]))
            ++i;
        return i;
    };

    std::size_t i = 0;
    while (i < n) {
        // Contractions: 's 't 're 've 'm 'll 'd (lower case only, as in GPT-2).
        if (chars[i].cp == '\'' && i + 1 < n) {
            const std::uint32_t a = chars[i + 1].cp, b = i + 2 < n ? chars[i + 2].cp : 0;
            std::size_t length = 0;
            if (a == 's' || a == 't' || a == 'm' || a == 'd')
                length = 2;
            else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
                length = 3;
            if (length) {
                emit(i, i + length);
                i += length;
                continue;
            }
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one kind.
        const std::size_t body = chars[i].cp == ' ' && i + 1 < n ? i + 1 : i;
        const Kind kind = chars[body].kind;
        if (kind != Kind::Space && (body == i || chars[i].cp == ' ')) {
            const std::size_t end = runOf(body, [&](const Char& c) { return c.kind == kind; });
            emit(i, end);
            i = end;
            continue;
        }
        // `\s+(?!\S)`: whitespace up to, not including, the space before a non-space character;
        // a single space before a word falls to `\s+` (it could not begin ` ?\p{L}+` only when
        // the space is not U+0020).
        const std::size_t end = runOf(i, [](const Char& c) { return c.kind == Kind::Space; });
        if (end == n || end - i == 1) {
            emit(i, end);
            i = end;
        } else {
            emit(i, end - 1);
            i = end - 1;
        }
    }
    return pieces;
}

}  // namespace querylens::text
