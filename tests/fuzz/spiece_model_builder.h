#pragma once
// Small spiece.model files made byte by byte (the protobuf wire format of
// sentencepiece_model.proto): a unigram model of a few pieces whose normalizer has a
// hand-built table (precompiled_charsmap: a darts-clone trie and its replacement strings).
// The seeds of fuzz_sentencepiece_model start from the healthy one (kilobytes, where the
// fixture is 250 KB), and test_sentencepiece_model_check breaks it in each way
// libsentencepiece would crash on.

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace spmodel {

inline std::string varint(std::uint64_t value)
{
    std::string out;
    do {
        const auto low = static_cast<unsigned char>(value & 0x7f);
        value >>= 7;
        out += static_cast<char>(value ? (low | 0x80) : low);
    } while (value);
    return out;
}
inline std::string bytesField(int number, const std::string& bytes)
{
    return varint(std::uint64_t(number) << 3 | 2) + varint(bytes.size()) + bytes;
}
inline std::string numberField(int number, std::uint64_t value) { return varint(std::uint64_t(number) << 3) + varint(value); }
inline std::string floatField(int number, float value)
{
    char raw[4];
    std::memcpy(raw, &value, 4);  // little-endian, as the wire format (x86)
    return varint(std::uint64_t(number) << 3 | 5) + std::string(raw, 4);
}

enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4 };
struct Piece {
    std::string text;
    float score;
    PieceType type;
};

// <unk> <s> </s> and a few pieces over "a" and "b" ("▁" is U+2581, SentencePiece's word start).
inline std::vector<Piece> basicPieces()
{
    return {{"<unk>", 0, Unknown}, {"<s>", 0, Control}, {"</s>", 0, Control}, {"\xe2\x96\x81", -1, Normal},
            {"a", -2, Normal},     {"b", -2, Normal},   {"\xe2\x96\x81" "b", -1.5f, Normal}};
}

// A darts-clone double array: units[i] as darts.h lays them out.
struct Trie {
    std::vector<std::uint32_t> units;

    static std::uint32_t node(std::uint32_t label, std::uint32_t offset, bool hasLeaf)
    {
        return offset << 10 | (hasLeaf ? 1u << 8 : 0u) | label;  // offsets below 2^21 need no shift flag
    }
    static std::uint32_t leaf(std::uint32_t value) { return 1u << 31 | value; }
};

// One rule, "a" -> the replacement at byte `replacement` of `replacements`: the root (unit 0)
// has its children at 256 ^ byte, the node of "a" its own (none) and its leaf at 512.
inline Trie oneRuleTrie(std::uint32_t replacement)
{
    Trie trie{std::vector<std::uint32_t>(768, 0)};
    trie.units[0] = Trie::node(0, 256, false);
    const std::uint32_t a = 256 ^ 'a';
    trie.units[a] = Trie::node('a', a ^ 512, true);
    trie.units[512] = Trie::leaf(replacement);
    return trie;
}

// <trie size, 4 bytes little-endian><units><replacement strings>, as Normalizer reads it.
inline std::string charsmap(const Trie& trie, const std::string& replacements)
{
    std::string out;
    const auto put = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            out += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    put(std::uint32_t(trie.units.size() * 4));
    for (std::uint32_t unit : trie.units)
        put(unit);
    return out + replacements;
}

inline std::string normalizerSpec(const std::string& table)
{
    // name, precompiled_charsmap, add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces
    return bytesField(1, "hand-made") + bytesField(2, table) + numberField(3, 1) + numberField(4, 1) + numberField(5, 1);
}

// A ModelProto: pieces (1), trainer_spec (2: unigram, the vocabulary size), normalizer_spec (3),
// and denormalizer_spec (5) when a table for it is given.
inline std::string model(const std::vector<Piece>& pieces, const std::string& normalizerTable,
                         const std::string& denormalizerTable = {})
{
    std::string out;
    for (const Piece& piece : pieces)
        out += bytesField(1, bytesField(1, piece.text) + floatField(2, piece.score) +
                                 (piece.type == Normal ? std::string() : numberField(3, piece.type)));
    out += bytesField(2, numberField(3, 1) + numberField(4, pieces.size()));
    out += bytesField(3, normalizerSpec(normalizerTable));
    if (!denormalizerTable.empty())
        out += bytesField(5, normalizerSpec(denormalizerTable));
    return out;
}

// The healthy one: "a" is normalized to "b".
inline std::string healthyModel() { return model(basicPieces(), charsmap(oneRuleTrie(0), std::string("b\0", 2))); }

}  // namespace spmodel
