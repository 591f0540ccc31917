#include "text/utf8.h"

namespace querylens::text {

namespace {

bool isContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

}  // namespace

Utf8Step decodeUtf8(const std::string& bytes, std::size_t pos)
{
    const auto at = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
    const unsigned char lead = at(pos);
    if (lead < 0x80)
        return {lead, 1, true};
    int length = 0;
    std::uint32_t cp = 0;
    // The allowed range of the second byte narrows for E0, ED, F0 and F4 (no overlongs, no
    // surrogates, nothing beyond U+10FFFF): Unicode Table 3-7.
    unsigned char low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        cp = lead & 0x0F;
        if (lead == 0xE0)
            low = 0xA0;
        if (lead == 0xED)
            high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        cp = lead & 0x07;
        if (lead == 0xF0)
            low = 0x90;
        if (lead == 0xF4)
            high = 0x8F;
    } else {
        return {0xFFFD, 1, false};
    }
    for (int i = 1; i < length; ++i) {
        if (pos + i >= bytes.size())
            return {0xFFFD, i, false};
        const unsigned char byte = at(pos + i);
        const bool inRange = i == 1 ? (byte >= low && byte <= high) : isContinuation(byte);
        if (!inRange)
            return {0xFFFD, i, false};
        cp = (cp << 6) | (byte & 0x3F);
    }
    return {cp, length, true};
}

void appendUtf8(std::string& out, std::uint32_t cp)
{
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

std::string repairUtf8(const std::string& bytes)
{
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t pos = 0; pos < bytes.size();) {
        const Utf8Step step = decodeUtf8(bytes, pos);
        if (step.valid)
            out.append(bytes, pos, std::size_t(step.length));
        else
            appendUtf8(out, 0xFFFD);
        pos += std::size_t(step.length);
    }
    return out;
}

std::size_t completeUtf8Prefix(const std::string& bytes)
{
    // Only the last character can be unfinished: find where it starts and whether it ran out
    // of bytes (as opposed to being invalid, which more bytes would not fix).
    std::size_t pos = 0, lastStart = 0;
    Utf8Step last;
    while (pos < bytes.size()) {
        lastStart = pos;
        last = decodeUtf8(bytes, pos);
        pos += std::size_t(last.length);
    }
    if (!bytes.empty() && !last.valid && lastStart + std::size_t(last.length) == bytes.size()) {
        const auto lead = static_cast<unsigned char>(bytes[lastStart]);
        const int expected = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3
                           : lead >= 0xC2 && lead <= 0xDF ? 2 : 1;
        if (expected > last.length)
            return lastStart;  // a valid beginning, cut short
    }
    return bytes.size();
}

}  // namespace querylens::text
