#include "text/wordpiece_tokenizer.h"

#include "io/json_file.h"
#include "querylens/error.h"
#include "text/utf8.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>

namespace querylens::text {

namespace fs = std::filesystem;

namespace {

// A special token is written as a string, or (newer files) as an AddedToken object.
std::string tokenName(const nlohmann::json& value, const std::string& fallback)
{
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_object() && value.contains("content") && value["content"].is_string())
        return value["content"].get<std::string>();
    return fallback;
}

std::vector<std::string> readVocab(const std::string& path)
{
    io::checkFileSize(path, io::kMaxTokenizerFileBytes);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read the WordPiece vocabulary", path);
    std::vector<std::string> vocab;
    std::string line;
    // One token per line, the line number its id. The reference strips only "\n".
    while (std::getline(in, line))
        vocab.push_back(line);
    if (vocab.empty())
        throw Error("the vocabulary is empty", path);
    return vocab;
}

// `json` is the file at `path`.
void readSpecialNames(const nlohmann::json& json, const std::string& path, WordPieceSettings& s)
{
    io::requireObject(json, path, "settings");
    s.unkToken = tokenName(json.value("unk_token", nlohmann::json()), s.unkToken);
    s.clsToken = tokenName(json.value("cls_token", nlohmann::json()), s.clsToken);
    s.sepToken = tokenName(json.value("sep_token", nlohmann::json()), s.sepToken);
    s.padToken = tokenName(json.value("pad_token", nlohmann::json()), s.padToken);
    s.maskToken = tokenName(json.value("mask_token", nlohmann::json()), s.maskToken);
    s.bosToken = tokenName(json.value("bos_token", nlohmann::json()), s.bosToken);
}

std::size_t characterCount(const std::string& utf8)
{
    std::size_t n = 0;
    for (std::size_t pos = 0; pos < utf8.size(); pos += std::size_t(decodeUtf8(utf8, pos).length))
        ++n;
    return n;
}

}  // namespace

std::vector<int> WordPieceEncoding::ids() const
{
    std::vector<int> out;
    out.reserve(pieces.size());
    for (const auto& p : pieces)
        out.push_back(p.id);
    return out;
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::fromFolder(const std::string& dir)
{
    const fs::path folder(dir);
    const std::string vocabPath = (folder / "vocab.txt").string();
    if (!fs::exists(vocabPath))
        throw Error("no vocab.txt: the Q-Former's WordPiece vocabulary is missing", dir);
    std::vector<std::string> vocab = readVocab(vocabPath);

    WordPieceSettings settings;
    std::map<std::string, int> added;
    const fs::path configPath = folder / "tokenizer_config.json";
    if (fs::exists(configPath)) {
        const nlohmann::json json = io::readJsonFile(configPath.string());
        io::requireObject(json, configPath.string(), "settings");
        const io::ConfigReader config(json, configPath.string());
        settings.basic.lowerCase = config.getBool("do_lower_case", true);
        settings.basic.tokenizeChineseChars = config.getBool("tokenize_chinese_chars", true);
        if (config.has("strip_accents"))
            settings.basic.stripAccents = config.getBool("strip_accents", false) ? BasicTokenizerOptions::StripAccents::Yes
                                                                                 : BasicTokenizerOptions::StripAccents::No;
        if (!config.getBool("do_basic_tokenize", true))
            throw Error("do_basic_tokenize false is not supported (every BLIP-2 tokenizer has it true)",
                        configPath.string(), "do_basic_tokenize");
        // Tokenizers without a limit write a huge number (1e30) here.
        settings.modelMaxLength = int(std::min<double>(config.getDouble("model_max_length", 512), INT_MAX));
        readSpecialNames(json, configPath.string(), settings);
        const auto decoder = json.find("added_tokens_decoder");
        if (decoder != json.end() && decoder->is_object())
            for (const auto& [key, token] : decoder->items()) {
                int id = 0;
                try {
                    id = std::stoi(key);
                } catch (const std::exception&) {
                    throw Error("'" + printableText(key) + "' is not a token id", configPath.string(), "added_tokens_decoder");
                }
                const std::string content = tokenName(token, "");
                if (content.empty())
                    throw Error("an added token has no content", configPath.string(), "added_tokens_decoder." + key);
                added[content] = id;
            }
    }
    const fs::path mapPath = folder / "special_tokens_map.json";
    if (fs::exists(mapPath))
        readSpecialNames(io::readJsonFile(mapPath.string()), mapPath.string(), settings);
    const fs::path addedPath = folder / "added_tokens.json";
    if (fs::exists(addedPath)) {
        const nlohmann::json json = io::readJsonFile(addedPath.string());
        io::requireObject(json, addedPath.string(), "token -> id");
        for (const auto& [token, id] : json.items()) {
            const std::optional<int> number = io::intValue(id);
            if (!number || *number < 0)
                throw Error("the id is not a non-negative integer", addedPath.string(), token);
            added[token] = *number;
        }
    }
    return std::make_unique<WordPieceTokenizer>(std::move(vocab), std::move(added), settings, vocabPath);
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, std::map<std::string, int> added,
                                       WordPieceSettings settings, const std::string& source)
    : settings_(std::move(settings)), source_(source)
{
    idToToken_ = std::move(vocab);
    for (std::size_t id = 0; id < idToToken_.size(); ++id)
        vocab_[idToToken_[id]] = int(id);  // a repeated line: the later id wins, as in the reference
    for (const auto& [token, id] : added) {
        if (id < 0 || id > 10'000'000)
            throw Error("added token '" + printableText(token) + "' has the id " + std::to_string(id), source_);
        if (std::size_t(id) >= idToToken_.size())
            idToToken_.resize(std::size_t(id) + 1);
        idToToken_[std::size_t(id)] = token;
        vocab_[token] = id;
        addedTokens_.emplace_back(token, id);
    }
    std::sort(addedTokens_.begin(), addedTokens_.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    cls_ = requireId(settings_.clsToken, "cls_token");
    sep_ = requireId(settings_.sepToken, "sep_token");
    unk_ = requireId(settings_.unkToken, "unk_token");
    if (vocab_.count(settings_.padToken))
        pad_ = vocab_.at(settings_.padToken);
    if (!settings_.bosToken.empty() && vocab_.count(settings_.bosToken))
        bos_ = vocab_.at(settings_.bosToken);

    special_.assign(idToToken_.size(), false);
    for (const std::string* name : {&settings_.unkToken, &settings_.clsToken, &settings_.sepToken, &settings_.padToken,
                                    &settings_.maskToken, &settings_.bosToken}) {
        const auto it = vocab_.find(*name);
        if (it != vocab_.end())
            special_[std::size_t(it->second)] = true;
    }
    for (const auto& [token, id] : addedTokens_)
        special_[std::size_t(id)] = true;
}

int WordPieceTokenizer::requireId(const std::string& token, const char* role) const
{
    const auto it = vocab_.find(token);
    if (it == vocab_.end())
        throw Error("the " + std::string(role) + " '" + printableText(token) + "' is not in the vocabulary", source_);
    return it->second;
}

void WordPieceTokenizer::wordPieces(const std::string& word, int wordIndex, std::vector<WordPiece>& out) const
{
    if (characterCount(word) > std::size_t(settings_.maxInputCharsPerWord)) {
        out.push_back({unk_, settings_.unkToken, wordIndex});
        return;
    }
    // Character boundaries: pieces never split a character.
    std::vector<std::size_t> bounds;
    for (std::size_t pos = 0; pos < word.size(); pos += std::size_t(decodeUtf8(word, pos).length))
        bounds.push_back(pos);
    bounds.push_back(word.size());

    std::vector<WordPiece> pieces;
    std::size_t start = 0;  // index into bounds
    while (start + 1 < bounds.size()) {
        std::size_t end = bounds.size() - 1;
        bool found = false;
        for (; end > start; --end) {
            std::string candidate = word.substr(bounds[start], bounds[end] - bounds[start]);
            if (start > 0)
                candidate = "##" + candidate;
            const auto it = vocab_.find(candidate);
            if (it != vocab_.end()) {
                pieces.push_back({it->second, candidate, wordIndex});
                found = true;
                break;
            }
        }
        if (!found) {
            out.push_back({unk_, settings_.unkToken, wordIndex});  // the whole word
            return;
        }
        start = end;
    }
    out.insert(out.end(), pieces.begin(), pieces.end());
}

WordPieceEncoding WordPieceTokenizer::encodeText(const std::string& text, bool addSpecialTokens, int maxLength) const
{
    WordPieceEncoding encoding;
    std::vector<WordPiece>& pieces = encoding.pieces;
    // Added tokens are split off first, earliest and then longest match first.
    auto tokenizePlain = [&](const std::string& part) {
        if (part.empty())
            return;
        const int firstWord = int(encoding.words.size());
        const BasicTokenization basic = basicTokenize(part, settings_.basic);
        encoding.words.insert(encoding.words.end(), basic.words.begin(), basic.words.end());
        for (const BasicToken& token : basic.tokens)
            wordPieces(token.text, firstWord + token.word, pieces);
    };
    std::size_t plainStart = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        const std::pair<std::string, int>* match = nullptr;
        for (const auto& added : addedTokens_)
            if (text.compare(pos, added.first.size(), added.first) == 0) {
                match = &added;
                break;
            }
        if (!match) {
            ++pos;
            continue;
        }
        tokenizePlain(text.substr(plainStart, pos - plainStart));
        pieces.push_back({match->second, match->first, int(encoding.words.size())});
        encoding.words.push_back(match->first);
        pos += match->first.size();
        plainStart = pos;
    }
    tokenizePlain(text.substr(plainStart));

    if (addSpecialTokens) {
        pieces.insert(pieces.begin(), WordPiece{cls_, settings_.clsToken, -1});
        pieces.push_back({sep_, settings_.sepToken, -1});
    }
    if (maxLength > 0 && int(pieces.size()) > maxLength) {
        encoding.truncated = true;
        if (addSpecialTokens) {
            const int keep = std::max(0, maxLength - 2);
            pieces.erase(pieces.begin() + 1 + keep, pieces.end());
            pieces.push_back({sep_, settings_.sepToken, -1});
            if (maxLength < 2)
                pieces.resize(std::size_t(maxLength));
        } else {
            pieces.resize(std::size_t(maxLength));
        }
    }
    return encoding;
}

std::vector<int> WordPieceTokenizer::encode(const std::string& text, bool addSpecialTokens) const
{
    return encodeText(text, addSpecialTokens).ids();
}

std::string WordPieceTokenizer::decodeBytes(const std::vector<int>& ids, bool skipSpecialTokens) const
{
    // convert_tokens_to_string: pieces joined by spaces, "##" continuations glued on; then the
    // reference's clean_up_tokenization (spaces before punctuation and contractions).
    std::string text;
    for (int id : ids) {
        if (skipSpecialTokens && isSpecial(id))
            continue;
        const std::string token = tokenText(id);
        if (token.rfind("##", 0) == 0 && !text.empty()) {
            text += token.substr(2);
        } else {
            if (!text.empty())
                text += ' ';
            text += token;
        }
    }
    for (const char* from : {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's", " 've", " 're"}) {
        const std::string f(from);
        std::string to = f.substr(1);
        if (f == " ' ")
            to = "'";
        for (std::size_t at = text.find(f); at != std::string::npos; at = text.find(f, at + to.size()))
            text.replace(at, f.size(), to);
    }
    return text;
}

std::string WordPieceTokenizer::decode(const std::vector<int>& ids, bool skipSpecialTokens) const
{
    // A vocab.txt line that is not UTF-8 (the reference cannot even read such a file) comes out
    // as U+FFFD, as Tokenizer promises (tokenText repairs each piece; joining them with spaces and
    // the clean-up keeps that): found by fuzz_wordpiece_files; raw bytes broke JSON output.
    return decodeBytes(ids, skipSpecialTokens);
}

std::string WordPieceTokenizer::tokenText(int id) const
{
    if (id < 0 || std::size_t(id) >= idToToken_.size())
        return repairUtf8(settings_.unkToken);
    return repairUtf8(idToToken_[std::size_t(id)]);
}

bool WordPieceTokenizer::isSpecial(int id) const
{
    return id >= 0 && std::size_t(id) < special_.size() && special_[std::size_t(id)];
}

}  // namespace querylens::text
