#include "querylens/error.h"

#include <algorithm>
#include <cstdio>

namespace querylens {
namespace {

// The length of the UTF-8 sequence at `text[pos]` when it is a valid, shortest-form encoding
// of a scalar value (no surrogates, at most U+10FFFF); 0 otherwise.
std::size_t validSequence(std::string_view text, std::size_t pos)
{
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(pos);
    std::size_t length = 0;
    char32_t value = 0;
    if (lead < 0x80)
        return 1;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
        value = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        value = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        value = lead & 0x07;
    } else {
        return 0;
    }
    if (pos + length > text.size())
        return 0;
    for (std::size_t i = 1; i < length; ++i) {
        if ((byte(pos + i) & 0xc0) != 0x80)
            return 0;
        value = (value << 6) | (byte(pos + i) & 0x3f);
    }
    const bool shortest = (length == 3 && value >= 0x800) || (length == 4 && value >= 0x10000) || length == 2;
    if (!shortest || (value >= 0xd800 && value <= 0xdfff) || value > 0x10ffff)
        return 0;
    return length;
}

std::string escaped(unsigned char byte)
{
    switch (byte) {
    case '\n': return "\\n";
    case '\t': return "\\t";
    case '\r': return "\\r";
    default: {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", byte);
        return hex;
    }
    }
}

// printableText, keeping the message's own line breaks and tabs when `keepLayout`.
std::string printable(std::string_view bytes, std::size_t maxBytes, bool keepLayout)
{
    std::string out;
    const std::size_t end = std::min(bytes.size(), maxBytes);
    for (std::size_t pos = 0; pos < end;) {
        const std::size_t length = validSequence(bytes, pos);
        const unsigned char lead = static_cast<unsigned char>(bytes[pos]);
        if (length == 0) {
            out += escaped(lead);
            ++pos;
        } else if (length == 1) {
            if ((lead < 0x20 || lead == 0x7f) && !(keepLayout && (lead == '\n' || lead == '\t')))
                out += escaped(lead);
            else
                out += char(lead);
            ++pos;
        } else if (length == 2 && lead == 0xc2 && static_cast<unsigned char>(bytes[pos + 1]) < 0xa0) {
            // U+0080..U+009F: C1 controls (U+009B is a CSI that some terminals obey).
            out += escaped(lead) + escaped(static_cast<unsigned char>(bytes[pos + 1]));
            pos += 2;
        } else {
            out.append(bytes.substr(pos, length));
            pos += length;
        }
    }
    if (end < bytes.size())
        out += "...";
    return out;
}

std::string describe(const std::string& message, const std::string& file, const std::string& key)
{
    std::string text;
    if (!file.empty())
        text += printable(file, file.size(), false) + ": ";
    if (!key.empty())
        text += "'" + printableText(key) + "': ";
    return text + message;
}

}  // namespace

std::string printableText(std::string_view bytes, std::size_t maxBytes) { return printable(bytes, maxBytes, false); }

Error::Error(const std::string& message, std::string file, std::string key)
    : std::runtime_error(describe(printable(message, message.size(), true), file, key)), file_(std::move(file)),
      key_(std::move(key)), message_(printable(message, message.size(), true))
{
}

}  // namespace querylens
