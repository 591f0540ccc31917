#pragma once
// config.json and friends: reading with errors that name the file and the key, and defaults
// for the keys that Hugging Face configs leave out.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace querylens::io {

// Bounds on what the readers accept, so that a hostile or broken file is refused with a
// message instead of exhausting memory or the stack. Real BLIP-2 files are far inside them:
// tokenizer.json ~2 MB, vocab.json ~1 MB, spiece.model ~0.8 MB, configs nest 3 levels.
constexpr std::uintmax_t kMaxJsonFileBytes = std::uintmax_t(64) << 20;
constexpr std::uintmax_t kMaxTokenizerFileBytes = std::uintmax_t(64) << 20;
constexpr int kMaxJsonDepth = 64;

// Throws Error naming `path` when the file is larger than `maxBytes` (a missing file passes:
// the reader says so in its own words).
void checkFileSize(const std::string& path, std::uintmax_t maxBytes);
// Throws Error naming `source` when arrays and objects nest deeper than `maxDepth`.
void checkJsonNesting(std::string_view text, const std::string& source, int maxDepth = kMaxJsonDepth);

// What went wrong in a parse that nlohmann refused with something other than a parse_error
// (out_of_range 406: a number past the range of a double), without nlohmann's "[json.exception...]"
// prefix, its quoted bytes made printable.
std::string jsonProblem(const nlohmann::json::exception& e);

// `value` as an int when it is an integer inside int's range, else nothing. nlohmann's get<int>()
// converts without looking: a float such as 3.3e54 is undefined behaviour, and 2^32 + 16 becomes 16.
std::optional<int> intValue(const nlohmann::json& value);
// object[key] as an int; a missing key is nlohmann's out_of_range, anything but an int is an Error
// naming `file` and `key`.
int intAt(const nlohmann::json& object, const char* key, const std::string& file);

// Parses a JSON file; a missing file, bad JSON, a file over kMaxJsonFileBytes or nesting past
// kMaxJsonDepth is an Error naming the file (and the byte where parsing stopped).
nlohmann::json readJsonFile(const std::string& path);
// Throws Error naming `path` ("expected a JSON object of <what>, found null") unless `json` (read
// from that file) is an object: files that must be objects are checked before value() or
// items(), which throw nlohmann's type_error on a `null` written by hand or a list.
void requireObject(const nlohmann::json& json, const std::string& path, const std::string& what = {});

// A view of one JSON object of a config file. Keys that are absent or null take the default
// given by the caller (Hugging Face writes null for unset fields); a key of the wrong type is
// an Error naming the file and the dotted key path.
class ConfigReader {
public:
    ConfigReader(const nlohmann::json& object, std::string file, std::string path = {});

    bool has(const std::string& key) const;
    ConfigReader child(const std::string& key) const;  // an absent child reads as {}

    int getInt(const std::string& key, int fallback) const;
    double getDouble(const std::string& key, double fallback) const;
    bool getBool(const std::string& key, bool fallback) const;
    std::string getString(const std::string& key, const std::string& fallback) const;
    std::vector<double> getDoubles(const std::string& key, const std::vector<double>& fallback) const;
    // Token ids that may be written as one number or as a list (e.g. eos_token_id: [1, 2]).
    std::vector<int> getIds(const std::string& key, const std::vector<int>& fallback) const;
    std::optional<int> getOptionalInt(const std::string& key) const;

    const std::string& file() const { return file_; }
    std::string keyPath(const std::string& key) const;

private:
    const nlohmann::json* find(const std::string& key) const;
    [[noreturn]] void wrongType(const std::string& key, const char* expected) const;

    nlohmann::json object_;
    std::string file_;
    std::string path_;
};

}  // namespace querylens::io
