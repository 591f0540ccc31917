#include "text/sentencepiece/sentencepiece_model_check.h"

#include "querylens/error.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace querylens::text {

namespace {

// The protobuf wire format, as far as the checks below need it: a field is a varint key
// (number << 3 | wire type) and a value. Hand-written because the generated ModelProto
// class lives inside libsentencepiece (with its own protobuf, see DESIGN.md) and is not
// installed; the check reads three fields and never builds the message.
struct WireField {
    std::uint64_t number = 0;
    int wireType = 0;
    std::string_view bytes;  // the value of a length-delimited field (wire type 2)
};

class WireReader {
public:
    WireReader(std::string_view bytes, const std::string& path) : bytes_(bytes), path_(path) {}

    bool next(WireField& field)
    {
        if (at_ == bytes_.size())
            return false;
        const std::uint64_t key = varint();
        field.number = key >> 3;
        field.wireType = int(key & 7);
        field.bytes = {};
        if (field.number == 0)
            fail("field number 0");
        switch (field.wireType) {
        case 0:
            varint();
            break;
        case 1:
            skip(8);
            break;
        case 2: {
            const std::uint64_t length = varint();
            if (length > bytes_.size() - at_)
                fail("a field of " + std::to_string(length) + " bytes past the end");
            field.bytes = bytes_.substr(at_, std::size_t(length));
            at_ += std::size_t(length);
            break;
        }
        case 5:
            skip(4);
            break;
        default:  // groups (3, 4) are deprecated and in no SentencePiece model; 6, 7 do not exist
            fail("wire type " + std::to_string(field.wireType));
        }
        return true;
    }

private:
    std::uint64_t varint()
    {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (at_ == bytes_.size())
                fail("a number cut off by the end");
            const auto byte = static_cast<unsigned char>(bytes_[at_++]);
            value |= std::uint64_t(byte & 0x7f) << shift;
            if (byte < 0x80)
                return value;
        }
        fail("a number longer than 10 bytes");
    }
    void skip(std::size_t count)
    {
        if (count > bytes_.size() - at_)
            fail("a field cut off by the end");
        at_ += count;
    }
    [[noreturn]] void fail(const std::string& detail) const
    {
        throw Error("not a SentencePiece model: its protobuf is broken at byte " + std::to_string(at_) + " (" +
                        detail + ")",
                    path_);
    }

    std::string_view bytes_;
    const std::string& path_;
    std::size_t at_ = 0;
};

// ModelProto's fields (sentencepiece_model.proto) that the checks read.
constexpr std::uint64_t kPieces = 1;            // repeated SentencePiece { string piece = 1; ... }
constexpr std::uint64_t kNormalizerSpec = 3;    // NormalizerSpec { bytes precompiled_charsmap = 2; ... }
constexpr std::uint64_t kDenormalizerSpec = 5;  // the same message, applied when decoding
constexpr std::uint64_t kPieceText = 1;
constexpr std::uint64_t kPrecompiledCharsmap = 2;

// Normalizer::kMaxTrieResultsSize: the matches of one commonPrefixSearch it keeps on the stack.
constexpr int kMaxMatchesAlongOneText = 32;
// Far above any real table (nmt_nfkc's is 0.24 MB), and it bounds the trie walk's time (each
// node is walked at most 33 times).
constexpr std::size_t kMaxCharsmapBytes = std::size_t(4) << 20;

// The darts-clone double array (third_party/darts_clone/darts.h) that precompiled_charsmap
// holds: 32-bit little-endian units; a node's children for byte c sit at unit
// (node ^ offset(node)) ^ c when their label is c; a node that ends a rule has its leaf unit
// (bit 31 set, the rule's replacement offset in its low 31 bits) at node ^ offset(node).
class CharsmapTrie {
public:
    CharsmapTrie(std::string_view units, std::size_t count) : units_(units), count_(count) {}

    std::size_t size() const { return count_; }
    std::uint32_t unit(std::size_t index) const
    {
        const auto* p = reinterpret_cast<const unsigned char*>(units_.data()) + 4 * index;
        return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[3]) << 24;
    }
    static bool hasLeaf(std::uint32_t unit) { return (unit >> 8) & 1; }
    static std::uint32_t label(std::uint32_t unit) { return unit & ((1u << 31) | 0xff); }
    static std::uint32_t value(std::uint32_t unit) { return unit & ((1u << 31) - 1); }
    static std::size_t offset(std::uint32_t unit) { return std::size_t(unit >> 10) << ((unit & (1u << 9)) >> 6); }

private:
    std::string_view units_;
    std::size_t count_;
};

// Walks every node the normalizer can reach (from the root, over all 256 bytes), as
// commonPrefixSearch would, and refuses what would make it read outside the table.
void checkCharsmap(std::string_view table, const char* spec, const std::string& path)
{
    if (table.empty())
        return;  // no table: the text is copied as it is
    const auto broken = [&](const std::string& detail) {
        throw Error(std::string("not a usable SentencePiece model: the ") + spec +
                        "'s table (precompiled_charsmap) is broken: " + detail,
                    path);
    };
    if (table.size() > kMaxCharsmapBytes)
        broken(std::to_string(table.size()) + " bytes, more than the " + std::to_string(kMaxCharsmapBytes >> 20) +
               " MB this program reads");
    if (table.size() <= 4)
        broken("it is " + std::to_string(table.size()) + " bytes long");
    const auto* head = reinterpret_cast<const unsigned char*>(table.data());
    const std::size_t trieBytes =
        std::size_t(head[0]) | std::size_t(head[1]) << 8 | std::size_t(head[2]) << 16 | std::size_t(head[3]) << 24;
    if (trieBytes > table.size() - 4)
        broken("its trie of " + std::to_string(trieBytes) + " bytes is longer than the table (" +
               std::to_string(table.size()) + " bytes)");
    const CharsmapTrie trie(table.substr(4, trieBytes), trieBytes / 4);
    if (trie.size() == 0)
        broken("its trie is empty");
    // Replacements are read with strlen: each must end with a NUL inside the table.
    const std::string_view replacements = table.substr(4 + trieBytes);
    const std::size_t lastNul = replacements.rfind('\0');

    // The trie is a graph, not a tree: darts-clone builds it from a DAWG (shared suffixes have
    // several parents), and an empty unit reads as a child of label 0 that leads to itself.
    // What matters is how many rules one text can match: the most on any way to each node is
    // propagated until nothing grows; a loop through a rule grows it past the limit.
    std::vector<int> mostMatches(trie.size(), -1);
    std::vector<bool> ruleChecked(trie.size(), false);
    std::vector<std::size_t> pending{0};
    mostMatches[0] = 0;
    while (!pending.empty()) {
        const std::size_t node = pending.back();
        pending.pop_back();
        const std::size_t base = node ^ CharsmapTrie::offset(trie.unit(node));
        if ((base | 0xff) >= trie.size())
            broken("unit " + std::to_string(node) + " leads to units " + std::to_string(base & ~std::size_t(0xff)) +
                   "-" + std::to_string(base | 0xff) + ", past the trie's " + std::to_string(trie.size()));
        for (std::uint32_t byte = 0; byte < 256; ++byte) {
            const std::size_t child = base ^ byte;
            const std::uint32_t unit = trie.unit(child);
            if (CharsmapTrie::label(unit) != byte)
                continue;
            if (CharsmapTrie::hasLeaf(unit) && !ruleChecked[child]) {
                ruleChecked[child] = true;
                const std::size_t leaf = child ^ CharsmapTrie::offset(unit);
                if (leaf >= trie.size())
                    broken("the rule of unit " + std::to_string(child) + " has its value at unit " +
                           std::to_string(leaf) + ", past the trie's " + std::to_string(trie.size()));
                const std::size_t replacement = CharsmapTrie::value(trie.unit(leaf));
                if (replacement >= replacements.size())
                    broken("the rule of unit " + std::to_string(child) + " is replaced by the text at byte " +
                           std::to_string(replacement) + ", past the " + std::to_string(replacements.size()) +
                           " bytes of replacements");
                if (lastNul == std::string_view::npos || replacement > lastNul)
                    broken("the replacement at byte " + std::to_string(replacement) + " does not end with a NUL");
            }
            const int matches = mostMatches[node] + int(CharsmapTrie::hasLeaf(unit));
            if (matches > kMaxMatchesAlongOneText)
                broken("more than " + std::to_string(kMaxMatchesAlongOneText) +
                       " rules can match one text (the normalizer keeps 32), through unit " + std::to_string(child));
            if (matches > mostMatches[child]) {
                mostMatches[child] = matches;
                pending.push_back(child);
            }
        }
    }
}

}  // namespace

void checkSentencePieceModel(std::string_view bytes, const std::string& path)
{
    // A message field that occurs more than once is merged, and a bytes field keeps its last
    // value: so the table in force is the last one across all occurrences, as protobuf reads it.
    std::string_view charsmaps[2];
    bool hasCharsmap[2] = {false, false};
    std::size_t pieces = 0;
    WireReader model(bytes, path);
    for (WireField field; model.next(field);) {
        if (field.wireType != 2)
            continue;  // a wrong wire type is an unknown field to protobuf
        if (field.number == kPieces) {
            std::string_view text;
            WireReader piece(field.bytes, path);
            for (WireField pieceField; piece.next(pieceField);)
                if (pieceField.number == kPieceText && pieceField.wireType == 2)
                    text = pieceField.bytes;
            if (text.find('\0') != std::string_view::npos)
                throw Error("not a usable SentencePiece model: piece " + std::to_string(pieces) + " ('" +
                                printableText(text) + "') contains a NUL byte",
                            path);
            ++pieces;
        } else if (field.number == kNormalizerSpec || field.number == kDenormalizerSpec) {
            const int which = field.number == kNormalizerSpec ? 0 : 1;
            WireReader spec(field.bytes, path);
            for (WireField specField; spec.next(specField);)
                if (specField.number == kPrecompiledCharsmap && specField.wireType == 2) {
                    charsmaps[which] = specField.bytes;
                    hasCharsmap[which] = true;
                }
        }
    }
    if (hasCharsmap[0])
        checkCharsmap(charsmaps[0], "normalizer", path);
    if (hasCharsmap[1])
        checkCharsmap(charsmaps[1], "denormalizer", path);
}

}  // namespace querylens::text
