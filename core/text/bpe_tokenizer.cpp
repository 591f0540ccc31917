#include "text/bpe_tokenizer.h"

#include "io/json_file.h"
#include "querylens/error.h"
#include "text/gpt2_pretokenizer.h"
#include "text/utf8.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>

namespace querylens::text {

namespace fs = std::filesystem;

namespace {

const char* const kSpecialNames[] = {"<s>", "<pad>", "</s>", "<unk>"};

// Inverse of byteToSymbol: the byte a printable symbol stands for.
const std::unordered_map<std::string, unsigned char>& symbolToByte()
{
    static const auto map = [] {
        std::unordered_map<std::string, unsigned char> m;
        for (int b = 0; b < 256; ++b)
            m[byteToSymbol()[b]] = static_cast<unsigned char>(b);
        return m;
    }();
    return map;
}

// The bytes a vocabulary token stands for; tokens that are not byte-level (added tokens) are
// their own text.
std::string tokenBytes(const std::string& token)
{
    std::string bytes;
    const auto& map = symbolToByte();
    for (std::size_t pos = 0; pos < token.size();) {
        const Utf8Step step = decodeUtf8(token, pos);
        const auto it = map.find(token.substr(pos, std::size_t(step.length)));
        if (it == map.end())
            return token;
        bytes += char(it->second);
        pos += std::size_t(step.length);
    }
    return bytes;
}

// merges.txt: "a b" a line, by priority, after an optional "#version" line. `lines` gets the
// line number of each merge, for errors.
std::vector<std::pair<std::string, std::string>> readMergesText(const std::string& path, std::vector<int>& lines)
{
    io::checkFileSize(path, io::kMaxTokenizerFileBytes);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read the file", path);
    std::vector<std::pair<std::string, std::string>> merges;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0))
            continue;
        const auto space = line.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
            line.find(' ', space + 1) != std::string::npos)
            throw Error("line " + std::to_string(number) + " is not a merge of two symbols: '" + printableText(line) + "'", path);
        merges.emplace_back(line.substr(0, space), line.substr(space + 1));
        lines.push_back(number);
    }
    return merges;
}

// A merge whose symbols are not tokens is a broken merges.txt (or a vocab.json from another
// tokenizer): say which line, before the constructor's check that cannot.
void checkMergesAgainstVocab(const std::vector<std::pair<std::string, std::string>>& merges,
                             const std::vector<int>& lines, const std::unordered_map<std::string, int>& vocab,
                             const std::string& path)
{
    for (std::size_t i = 0; i < merges.size(); ++i) {
        const auto& [a, b] = merges[i];
        for (const std::string& symbol : {a, b, a + b})
            if (!vocab.count(symbol))
                throw Error("line " + std::to_string(lines[i]) + " merges '" + printableText(a) + "' and '" + printableText(b) + "', but '" + printableText(symbol) +
                                "' is not in vocab.json",
                            path);
    }
}

std::unordered_map<std::string, int> vocabFromJson(const nlohmann::json& json, const std::string& path)
{
    if (!json.is_object())
        throw Error("the vocabulary must be a JSON object of token: id", path);
    std::unordered_map<std::string, int> vocab;
    for (const auto& [token, id] : json.items()) {
        if (!id.is_number_integer() || id.get<long long>() < 0 || id.get<long long>() > INT_MAX)
            throw Error("the id of a token must be a non-negative integer", path, token);
        vocab[token] = id.get<int>();
    }
    return vocab;
}

}  // namespace

const std::vector<std::string>& byteToSymbol()
{
    // Printable Latin-1 bytes stand for themselves; the others map to U+0100 onwards, in order.
    static const std::vector<std::string> table = [] {
        std::vector<std::string> t(256);
        int next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            appendUtf8(t[b], printable ? std::uint32_t(b) : std::uint32_t(next++));
        }
        return t;
    }();
    return table;
}

std::unique_ptr<BpeTokenizer> BpeTokenizer::fromFolder(const std::string& dir, BpeConventions conventions)
{
    const fs::path folder(dir);
    std::unordered_map<std::string, int> vocab;
    std::vector<std::pair<std::string, std::string>> merges;
    std::map<std::string, int> added;
    std::string source;
    if (fs::exists(folder / "vocab.json") && fs::exists(folder / "merges.txt")) {
        source = (folder / "vocab.json").string();
        vocab = vocabFromJson(io::readJsonFile(source), source);
        std::vector<int> lines;
        merges = readMergesText((folder / "merges.txt").string(), lines);
        checkMergesAgainstVocab(merges, lines, vocab, (folder / "merges.txt").string());
    } else if (fs::exists(folder / "tokenizer.json")) {
        source = (folder / "tokenizer.json").string();
        const nlohmann::json json = io::readJsonFile(source);
        if (!json.is_object())
            throw Error("not a tokenizer: the file is not a JSON object", source);
        const auto model = json.find("model");
        if (model == json.end() || !model->is_object())
            throw Error("no \"model\" object: not a Hugging Face tokenizer", source, "model");
        const auto type = model->find("type");
        if (type != model->end() && (!type->is_string() || type->get<std::string>() != "BPE"))
            throw Error("not a byte-level BPE tokenizer (model.type must be BPE)", source, "model.type");
        vocab = vocabFromJson(model->value("vocab", nlohmann::json()), source);
        for (const auto& merge : model->value("merges", nlohmann::json::array())) {
            if (merge.is_string()) {
                const std::string text = merge.get<std::string>();
                const auto space = text.find(' ');
                if (space == std::string::npos)
                    throw Error("a merge is not two symbols: '" + printableText(text) + "'", source, "model.merges");
                merges.emplace_back(text.substr(0, space), text.substr(space + 1));
            } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
                merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
            } else {
                throw Error("a merge is neither \"a b\" nor [\"a\", \"b\"]", source, "model.merges");
            }
        }
        for (const auto& token : json.value("added_tokens", nlohmann::json::array())) {
            const auto content = token.find("content");
            const auto id = token.find("id");
            if (!token.is_object() || content == token.end() || !content->is_string() || id == token.end() ||
                !id->is_number_integer() || id->get<long long>() < 0 || id->get<long long>() > INT_MAX)
                throw Error("an added token needs a string \"content\" and a non-negative integer \"id\"", source,
                            "added_tokens");
            added[content->get<std::string>()] = id->get<int>();
        }
    } else {
        const std::string missing = fs::exists(folder / "vocab.json") ? "merges.txt" : "vocab.json";
        throw Error("the tokenizer is missing: no " + missing + " (nor tokenizer.json)", (folder / missing).string());
    }
    if (fs::exists(folder / "added_tokens.json")) {
        const std::string path = (folder / "added_tokens.json").string();
        for (const auto& [token, id] : vocabFromJson(io::readJsonFile(path), path))
            added[token] = id;
    }
    return std::make_unique<BpeTokenizer>(std::move(vocab), merges, std::move(added), conventions, source);
}

BpeTokenizer::BpeTokenizer(std::unordered_map<std::string, int> vocab,
                           const std::vector<std::pair<std::string, std::string>>& merges,
                           std::map<std::string, int> addedTokens, BpeConventions conventions, const std::string& source)
    : vocab_(std::move(vocab)), conventions_(conventions)
{
    for (const auto& [token, id] : addedTokens)
        vocab_[token] = id;
    int maxId = -1;
    for (const auto& [token, id] : vocab_)
        maxId = std::max(maxId, id);
    idToToken_.assign(std::size_t(maxId + 1), std::string());
    special_.assign(idToToken_.size(), false);
    for (const auto& [token, id] : vocab_)
        idToToken_[std::size_t(id)] = token;
    for (std::size_t rank = 0; rank < merges.size(); ++rank) {
        const auto& [a, b] = merges[rank];
        if (!vocab_.count(a) || !vocab_.count(b) || !vocab_.count(a + b))
            throw Error("merge " + std::to_string(rank + 1) + " ('" + printableText(a) + " " + printableText(b) +
                            "') uses a symbol that is not in the vocabulary",
                        source);
        // A merge listed twice keeps its last rank, as GPT-2's dict(zip(merges, range(...))) does.
        mergeRanks_[pairKey(vocab_.at(a), vocab_.at(b))] = {int(rank), vocab_.at(a + b)};
    }
    for (const char* name : kSpecialNames)
        if (const auto id = find(name)) {
            special_[std::size_t(*id)] = true;
            addedTokens.emplace(name, *id);
        }
    for (const auto& [token, id] : addedTokens) {
        special_[std::size_t(id)] = true;
        addedTokens_.emplace_back(token, id);
    }
    std::sort(addedTokens_.begin(), addedTokens_.end(),
              [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
    bos_ = find("</s>");  // OPT's BOS is </s>, as is its end of document
    eos_ = find("</s>");
    pad_ = find("<pad>");
    unk_ = find("<unk>");
    for (int b = 0; b < 256; ++b) {
        const auto id = find(byteToSymbol()[std::size_t(b)]);
        if (!id)
            throw Error("the vocabulary lacks the byte symbol '" + byteToSymbol()[std::size_t(b)] + "' (byte " +
                            std::to_string(b) + "): not a byte-level BPE vocabulary",
                        source);
        byteIds_[std::size_t(b)] = *id;
    }
}

std::optional<int> BpeTokenizer::find(const std::string& token) const
{
    const auto it = vocab_.find(token);
    return it == vocab_.end() ? std::nullopt : std::optional<int>(it->second);
}

bool BpeTokenizer::isSpecial(int id) const { return id >= 0 && id < int(special_.size()) && special_[std::size_t(id)]; }

std::vector<int> BpeTokenizer::bpe(const std::string& word) const
{
    // GPT-2's bpe(): symbols start as the word's bytes; each round merges the adjacent pair of
    // lowest rank, every occurrence of it left to right, until no adjacent pair is a merge.
    // Symbols are token ids, so a round is one cheap pass (long unspaced words stay fast).
    std::vector<int> symbols;
    symbols.reserve(word.size());
    for (unsigned char byte : word)
        symbols.push_back(byteIds_[byte]);
    while (symbols.size() > 1) {
        const std::pair<int, int>* best = nullptr;  // {rank, merged id}
        std::uint64_t bestKey = 0;
        for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
            const std::uint64_t key = pairKey(symbols[i], symbols[i + 1]);
            const auto it = mergeRanks_.find(key);
            if (it != mergeRanks_.end() && (!best || it->second.first < best->first)) {
                best = &it->second;
                bestKey = key;
            }
        }
        if (!best)
            break;
        std::size_t out = 0;
        for (std::size_t i = 0; i < symbols.size(); ++i) {
            if (i + 1 < symbols.size() && pairKey(symbols[i], symbols[i + 1]) == bestKey) {
                symbols[out++] = best->second;
                ++i;
            } else {
                symbols[out++] = symbols[i];
            }
        }
        symbols.resize(out);
    }
    return symbols;
}

void BpeTokenizer::encodeWord(const std::string& word, std::vector<int>& out) const
{
    {
        std::lock_guard<std::mutex> lock(cacheMutex_);
        const auto it = cache_.find(word);
        if (it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const std::vector<int> ids = bpe(word);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard<std::mutex> lock(cacheMutex_);
    if (cache_.size() < 100000)
        cache_.emplace(word, ids);
}

std::vector<int> BpeTokenizer::encode(const std::string& text, bool addSpecialTokens) const
{
    std::vector<int> ids;
    if (addSpecialTokens && conventions_.prependBos && bos_)
        ids.push_back(*bos_);
    // Added tokens written in the text are whole tokens; the text between them is BPE'd.
    std::size_t start = 0, pos = 0;
    auto flush = [&](std::size_t end) {
        for (const std::string& word : gpt2Pretokenize(text.substr(start, end - start)))
            encodeWord(word, ids);
    };
    while (pos < text.size()) {
        bool matched = false;
        for (const auto& [token, id] : addedTokens_) {
            if (text.compare(pos, token.size(), token) == 0) {
                flush(pos);
                ids.push_back(id);
                pos += token.size();
                start = pos;
                matched = true;
                break;
            }
        }
        if (!matched)
            ++pos;
    }
    flush(text.size());
    return ids;
}

std::string BpeTokenizer::decodeBytes(const std::vector<int>& ids, bool skipSpecialTokens) const
{
    std::string bytes;
    for (int id : ids) {
        if (id < 0 || id >= int(idToToken_.size()))
            continue;  // rows of a resized embedding table that no token uses
        if (skipSpecialTokens && isSpecial(id))
            continue;
        bytes += tokenBytes(idToToken_[std::size_t(id)]);
    }
    return bytes;
}

std::string BpeTokenizer::decode(const std::vector<int>& ids, bool skipSpecialTokens) const
{
    return repairUtf8(decodeBytes(ids, skipSpecialTokens));
}

std::string BpeTokenizer::tokenText(int id) const
{
    if (id < 0 || id >= int(idToToken_.size()) || idToToken_[std::size_t(id)].empty())
        return "<" + std::to_string(id) + ">";
    if (isSpecial(id))
        return idToToken_[std::size_t(id)];
    return repairUtf8(tokenBytes(idToToken_[std::size_t(id)]));
}

}  // namespace querylens::text
