#include "hub/hub_protocol.h"

#include "io/file_names.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <fnmatch.h>
#include <set>

namespace querylens::hub::protocol {

using nlohmann::json;

namespace {

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
        text.remove_suffix(1);
    return text;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool endsWith(std::string_view text, std::string_view suffix)
{
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool isHex(std::string_view text, std::size_t length)
{
    return text.size() == length && std::all_of(text.begin(), text.end(), [](char c) {
               return std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c));
           });
}

json parseJson(std::string_view body, const std::string& source)
{
    if (body.size() > kMaxJsonBytes)
        throw HubError(HubErrorCode::Protocol, "answer too large (" + std::to_string(body.size()) + " bytes)", source);
    json document = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded())
        throw HubError(HubErrorCode::Protocol, "the answer is not JSON", source);
    return document;
}

std::uint64_t unsignedField(const json& object, const char* key, const std::string& source)
{
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number_unsigned())
        throw HubError(HubErrorCode::Protocol, std::string("'") + key + "' is missing or not a size", source);
    return it->get<std::uint64_t>();
}

std::string stringField(const json& object, const char* key, const std::string& source)
{
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string())
        throw HubError(HubErrorCode::Protocol, std::string("'") + key + "' is missing or not a string", source);
    return it->get<std::string>();
}

// Pickles and other frameworks' weights: never fetched, whatever --include says.
bool isNeverDownloaded(std::string_view path)
{
    for (const char* suffix : {".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".pkl", ".pickle"})
        if (endsWith(path, suffix))
            return true;
    return false;
}

// What loading BLIP-2 reads: the configs, the tokenizer and processor files, the weights.
bool isNeeded(std::string_view path)
{
    if (path.find('/') != std::string_view::npos)
        return false;  // BLIP-2 repositories keep everything at the top
    static const std::set<std::string_view> names = {
        "config.json",           "generation_config.json", "preprocessor_config.json", "processor_config.json",
        "tokenizer.json",        "tokenizer_config.json",  "special_tokens_map.json",  "added_tokens.json",
        "chat_template.json",    "vocab.json",             "merges.txt",               "spiece.model",
        "vocab.txt",             "model.safetensors.index.json"};
    return names.count(path) > 0 || endsWith(path, ".safetensors");
}

bool matchesAny(const std::string& path, const std::vector<std::string>& patterns)
{
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& pattern) { return ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0; });
}

}  // namespace

bool Headers::addLine(std::string_view line)
{
    bytes_ += line.size();
    if (bytes_ > kMaxHeaderBytes)
        return false;
    const std::string_view text = trim(line);
    if (text.empty())
        return true;  // the blank line that ends the headers
    if (text.rfind("HTTP/", 0) == 0) {
        entries_.clear();  // a new response (after 1xx): only its own headers count
        return true;
    }
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0)
        return true;  // not a header: ignored (folded lines are obsolete)
    if (entries_.size() >= kMaxHeaderCount)
        return false;
    entries_.emplace_back(std::string(trim(text.substr(0, colon))), std::string(trim(text.substr(colon + 1))));
    return true;
}

std::optional<std::string> Headers::get(std::string_view name) const
{
    for (const auto& [key, value] : entries_)
        if (equalsIgnoringCase(key, name))
            return value;
    return std::nullopt;
}

std::optional<std::uint64_t> parseUnsigned(std::string_view text)
{
    text = trim(text);
    if (text.empty() || text.size() > 19)
        return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        value = value * 10 + std::uint64_t(c - '0');
    }
    return value;
}

std::string normalizeEtag(std::string_view etag)
{
    etag = trim(etag);
    if (etag.rfind("W/", 0) == 0)
        etag.remove_prefix(2);
    while (!etag.empty() && etag.front() == '"')
        etag.remove_prefix(1);
    while (!etag.empty() && etag.back() == '"')
        etag.remove_suffix(1);
    return std::string(etag);
}

bool isBlobName(std::string_view etag)
{
    return !etag.empty() && etag.size() <= 128 &&
           std::all_of(etag.begin(), etag.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

std::optional<ContentRange> parseContentRange(std::string_view value)
{
    value = trim(value);
    if (value.rfind("bytes ", 0) != 0)
        return std::nullopt;
    value.remove_prefix(6);
    const auto dash = value.find('-');
    const auto slash = value.find('/');
    if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash)
        return std::nullopt;
    const auto first = parseUnsigned(value.substr(0, dash));
    const auto last = parseUnsigned(value.substr(dash + 1, slash - dash - 1));
    if (!first || !last || *last < *first)
        return std::nullopt;
    ContentRange range{*first, *last, std::nullopt};
    const std::string_view total = value.substr(slash + 1);
    if (total != "*") {
        range.total = parseUnsigned(total);
        if (!range.total || *range.total <= *last)
            return std::nullopt;
    }
    return range;
}

std::optional<std::string> nextPageLink(std::string_view link)
{
    // Link: <https://...?cursor=abc>; rel="next", <...>; rel="prev"
    while (!link.empty()) {
        const auto open = link.find('<');
        const auto close = link.find('>', open == std::string_view::npos ? 0 : open);
        if (open == std::string_view::npos || close == std::string_view::npos)
            return std::nullopt;
        const std::string_view target = link.substr(open + 1, close - open - 1);
        std::string_view rest = link.substr(close + 1);
        const auto comma = rest.find(',');
        const std::string_view parameters = rest.substr(0, comma);
        std::size_t at = 0;
        while ((at = parameters.find(';', at)) != std::string_view::npos) {
            std::string_view parameter = trim(parameters.substr(at + 1, parameters.find(';', at + 1) - at - 1));
            ++at;
            if (parameter.rfind("rel", 0) != 0)
                continue;
            parameter = trim(parameter.substr(3));
            if (parameter.empty() || parameter.front() != '=')
                continue;
            parameter = trim(parameter.substr(1));
            if (parameter.size() >= 2 && parameter.front() == '"' && parameter.back() == '"')
                parameter = parameter.substr(1, parameter.size() - 2);
            // rel may hold several space-separated relations.
            std::size_t word = 0;
            while (word < parameter.size()) {
                const auto space = parameter.find(' ', word);
                if (parameter.substr(word, space - word) == "next" && !target.empty())
                    return std::string(target);
                if (space == std::string_view::npos)
                    break;
                word = space + 1;
            }
        }
        if (comma == std::string_view::npos)
            return std::nullopt;
        link = rest.substr(comma + 1);
    }
    return std::nullopt;
}

std::optional<double> parseRetryAfter(std::string_view value, std::int64_t nowEpochSeconds)
{
    value = trim(value);
    if (const auto seconds = parseUnsigned(value))
        return double(std::min<std::uint64_t>(*seconds, 86400));
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    std::tm time{};
    const std::string text(value);
    const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &time);
    if (!end || *end != '\0')
        return std::nullopt;
    const std::int64_t when = std::int64_t(::timegm(&time));
    return double(std::max<std::int64_t>(0, when - nowEpochSeconds));
}

bool isSafeRepoPath(std::string_view path)
{
    if (path.empty() || path.size() > 1024 || path.front() == '/')
        return false;
    if (std::any_of(path.begin(), path.end(),
                    [](char c) { return c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
        return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        const auto slash = path.find('/', start);
        const std::string_view segment = path.substr(start, slash - start);
        if (segment.empty() || segment == "." || segment == ".." || segment.size() > io::kMaxFileNameBytes)
            return false;
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
    return true;
}

std::string percentEncode(std::string_view text, bool keepSlash)
{
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/')) {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

std::vector<TreeEntry> parseTreePage(std::string_view body, const std::string& source)
{
    const json document = parseJson(body, source);
    if (!document.is_array())
        throw HubError(HubErrorCode::Protocol, "the tree listing is not a JSON array", source);
    std::vector<TreeEntry> entries;
    for (const auto& item : document) {
        if (!item.is_object())
            throw HubError(HubErrorCode::Protocol, "a tree entry is not an object", source);
        TreeEntry entry;
        entry.type = stringField(item, "type", source);
        entry.path = stringField(item, "path", source);
        if (!isSafeRepoPath(entry.path))
            throw HubError(HubErrorCode::Protocol,
                           "unsafe path in the tree listing (absolute, '..', backslash or control character): '" +
                               printableText(entry.path) + "'",
                           source);
        if (entry.type == "directory")
            continue;
        if (entry.type != "file")
            continue;  // submodules and future types: not files we could fetch
        entry.size = unsignedField(item, "size", source);
        entry.oid = stringField(item, "oid", source);
        if (!isHex(entry.oid, 40))
            throw HubError(HubErrorCode::Protocol, "'" + printableText(entry.path) + "' has no git object id", source);
        if (const auto lfs = item.find("lfs"); lfs != item.end() && !lfs->is_null()) {
            if (!lfs->is_object())
                throw HubError(HubErrorCode::Protocol, "'" + printableText(entry.path) + "': 'lfs' is not an object", source);
            entry.lfsOid = stringField(*lfs, "oid", source);
            entry.lfsSize = unsignedField(*lfs, "size", source);
            if (!isHex(entry.lfsOid, 64))
                throw HubError(HubErrorCode::Protocol, "'" + printableText(entry.path) + "': lfs.oid is not a sha256", source);
            entry.size = entry.lfsSize;  // the file's size, not the pointer's
        }
        entries.push_back(std::move(entry));
    }
    return entries;
}

std::string parseRevisionCommit(std::string_view body, const std::string& source)
{
    const json document = parseJson(body, source);
    if (!document.is_object())
        throw HubError(HubErrorCode::Protocol, "the revision answer is not a JSON object", source);
    const std::string sha = stringField(document, "sha", source);
    if (!isHex(sha, 40))
        throw HubError(HubErrorCode::Protocol, "'sha' is not a 40-digit commit hash", source);
    return sha;
}

std::vector<std::string> parseIndexShards(std::string_view body, const std::string& source)
{
    const json document = parseJson(body, source);
    const auto map = document.is_object() ? document.find("weight_map") : document.end();
    if (!document.is_object() || map == document.end() || !map->is_object())
        throw HubError(HubErrorCode::Protocol, "no 'weight_map' object", source);
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : map->items()) {
        if (!shard.is_string() || !isSafeRepoPath(shard.get<std::string>()) ||
            !endsWith(shard.get<std::string>(), ".safetensors"))
            throw HubError(HubErrorCode::Protocol, "weight_map['" + printableText(tensor) + "'] is not a safetensors file name", source);
        shards.insert(shard.get<std::string>());
    }
    return {shards.begin(), shards.end()};
}

bool isRetryableStatus(int status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

HubError errorForResponse(int status, const Headers& headers, const std::string& repo, const std::string& what,
                          bool sentToken)
{
    const std::string code = headers.get("X-Error-Code").value_or("");
    std::string serverMessage = headers.get("X-Error-Message").value_or("");
    if (serverMessage.size() > 300)
        serverMessage = serverMessage.substr(0, 300) + "...";
    const std::string said = serverMessage.empty() ? "" : " (the Hub says: " + serverMessage + ")";
    const std::string page = "the repository's page on the Hub";
    if (code == "GatedRepo") {
        if (status == 401 || !sentToken)
            return HubError(HubErrorCode::GatedRepo,
                            repo + " is gated: log in with a token that may read it (set HF_TOKEN or run "
                                   "`huggingface-cli login`), after accepting its conditions on " + page + said,
                            what, status);
        return HubError(HubErrorCode::GatedRepo,
                        repo + " is gated and your token has no access yet: ask for access on " + page +
                            " and wait for it to be granted" + said,
                        what, status);
    }
    if (code == "RevisionNotFound")
        return HubError(HubErrorCode::RevisionNotFound,
                        "no such revision in " + repo + ": check the branch, tag or commit after '@'" + said, what, status);
    if (code == "EntryNotFound")
        return HubError(HubErrorCode::EntryNotFound, "not in this commit of " + repo + said, what, status);
    if (code == "RepoNotFound" || status == 404)
        return HubError(HubErrorCode::RepoNotFound,
                        "no repository " + repo + " on the Hub" +
                            (sentToken ? ", or your token may not see it (private)" : "") +
                            ": check the name" + (sentToken ? "" : ", or set HF_TOKEN if it is private") + said,
                        what, status);
    if (status == 401)
        return HubError(HubErrorCode::Unauthorized,
                        repo + " needs a token: it is private or does not exist; set HF_TOKEN (or run "
                               "`huggingface-cli login`) with a token that may read it" + said,
                        what, status);
    if (status == 403)
        return HubError(HubErrorCode::Unauthorized,
                        "access to " + repo + " was refused: your token lacks the permission to read it" + said, what,
                        status);
    if (status == 416)
        return HubError(HubErrorCode::Protocol, "the server refused the byte range asked for" + said, what, status);
    if (isRetryableStatus(status))
        return HubError(HubErrorCode::Network,
                        "the Hub kept answering HTTP " + std::to_string(status) + "; try again later" + said, what,
                        status);
    return HubError(HubErrorCode::Protocol, "unexpected HTTP " + std::to_string(status) + said, what, status);
}

FileSelection selectFiles(const std::vector<TreeEntry>& tree, const std::vector<std::string>& include)
{
    FileSelection selection;
    for (const auto& entry : tree) {
        if (isNeverDownloaded(entry.path)) {
            selection.skipped.push_back({entry.path, entry.size, "pickle or another framework's weights: never downloaded"});
            continue;
        }
        if (!isNeeded(entry.path) && !matchesAny(entry.path, include)) {
            selection.skipped.push_back({entry.path, entry.size, "not needed to run BLIP-2 (add it with --include)"});
            continue;
        }
        PlannedFile file;
        file.path = entry.path;
        file.size = entry.size;
        file.gitOid = entry.oid;
        file.sha256 = entry.lfsOid;
        selection.hasIndex |= entry.path == "model.safetensors.index.json";
        selection.hasConfig |= entry.path == "config.json";
        selection.files.push_back(std::move(file));
    }
    return selection;
}

void applyWeightRule(FileSelection& selection, const std::optional<std::vector<std::string>>& indexShards,
                     const std::vector<std::string>& include)
{
    if (indexShards)
        for (const auto& shard : *indexShards)
            if (std::none_of(selection.files.begin(), selection.files.end(),
                             [&](const PlannedFile& file) { return file.path == shard; }))
                throw HubError(HubErrorCode::Protocol,
                               "model.safetensors.index.json names the shard '" + shard +
                                   "', which this commit does not have",
                               "model.safetensors.index.json");
    std::vector<PlannedFile> kept;
    for (auto& file : selection.files) {
        const bool weights = endsWith(file.path, ".safetensors");
        const bool loaded = indexShards ? std::binary_search(indexShards->begin(), indexShards->end(), file.path)
                                        : file.path == "model.safetensors";
        if (weights && !loaded && !matchesAny(file.path, include)) {
            selection.skipped.push_back({file.path, file.size,
                                         indexShards ? "not in the weight_map of model.safetensors.index.json"
                                                     : "not the model's weights (no index names it)"});
            continue;
        }
        kept.push_back(std::move(file));
    }
    selection.files = std::move(kept);
}

std::string gitBlobHeader(std::uint64_t size) { return "blob " + std::to_string(size) + std::string(1, '\0'); }

}  // namespace querylens::hub::protocol
