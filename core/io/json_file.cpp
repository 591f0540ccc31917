#include "io/json_file.h"

#include "querylens/error.h"

#include <climits>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace querylens::io {

using nlohmann::json;

void checkFileSize(const std::string& path, std::uintmax_t maxBytes)
{
    std::error_code error;
    const std::uintmax_t size = std::filesystem::file_size(path, error);
    if (!error && size > maxBytes)
        throw Error("is " + std::to_string(size >> 20) + " MB; files of this kind are read up to " +
                        std::to_string(maxBytes >> 20) + " MB",
                    path);
}

void checkJsonNesting(std::string_view text, const std::string& source, int maxDepth)
{
    int depth = 0;
    bool inString = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (inString) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                inString = false;
        } else if (c == '"') {
            inString = true;
        } else if (c == '[' || c == '{') {
            if (++depth > maxDepth)
                throw Error("arrays and objects nest more than " + std::to_string(maxDepth) + " levels deep (byte " +
                                std::to_string(i + 1) + ")",
                            source);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
}

std::string jsonProblem(const json::exception& e)
{
    std::string_view what = e.what();
    if (what.rfind("[json.exception.", 0) == 0 && what.find("] ") != std::string_view::npos)
        what.remove_prefix(what.find("] ") + 2);
    return printableText(what, 120);
}

std::optional<int> intValue(const json& value)
{
    if (value.is_number_unsigned())
        return value.get<std::uint64_t>() <= std::uint64_t(INT_MAX) ? std::optional<int>(int(value.get<std::uint64_t>()))
                                                                     : std::nullopt;
    if (!value.is_number_integer())
        return std::nullopt;
    const std::int64_t v = value.get<std::int64_t>();
    return v >= INT_MIN && v <= INT_MAX ? std::optional<int>(int(v)) : std::nullopt;
}

int intAt(const json& object, const char* key, const std::string& file)
{
    const json& value = object.at(key);
    const std::optional<int> number = intValue(value);
    if (!number)
        throw Error("expected an integer that fits in 32 bits, found " + printableText(value.dump(), 40), file, key);
    return *number;
}

json readJsonFile(const std::string& path)
{
    checkFileSize(path, kMaxJsonFileBytes);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot open file", path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    checkJsonNesting(buffer.str(), path);
    try {
        return json::parse(buffer.str());
    } catch (const json::parse_error& e) {
        throw Error("not valid JSON (byte " + std::to_string(e.byte) + ")", path);
    } catch (const json::exception& e) {
        throw Error("not valid JSON (" + jsonProblem(e) + ")", path);
    }
}

void requireObject(const json& json, const std::string& path, const std::string& what)
{
    if (!json.is_object())
        throw Error("expected a JSON object" + (what.empty() ? std::string() : " of " + what) + ", found " +
                        json.type_name(),
                    path);
}

ConfigReader::ConfigReader(const json& object, std::string file, std::string path)
    : object_(object.is_object() ? object : json::object()), file_(std::move(file)), path_(std::move(path))
{
    if (!object.is_object() && !object.is_null())
        throw Error("expected a JSON object", file_, path_);
}

std::string ConfigReader::keyPath(const std::string& key) const
{
    return path_.empty() ? key : path_ + "." + key;
}

const json* ConfigReader::find(const std::string& key) const
{
    const auto it = object_.find(key);
    if (it == object_.end() || it->is_null())
        return nullptr;
    return &*it;
}

void ConfigReader::wrongType(const std::string& key, const char* expected) const
{
    throw Error(std::string("expected ") + expected + ", found " + printableText(find(key)->dump(), 80), file_, keyPath(key));
}

bool ConfigReader::has(const std::string& key) const { return find(key) != nullptr; }

ConfigReader ConfigReader::child(const std::string& key) const
{
    const json* value = find(key);
    if (value && !value->is_object())
        wrongType(key, "an object");
    return ConfigReader(value ? *value : json::object(), file_, keyPath(key));
}

int ConfigReader::getInt(const std::string& key, int fallback) const
{
    const json* value = find(key);
    if (!value)
        return fallback;
    const std::optional<int> number = intValue(*value);
    if (!number)
        wrongType(key, "an integer that fits in 32 bits");
    return *number;
}

double ConfigReader::getDouble(const std::string& key, double fallback) const
{
    const json* value = find(key);
    if (!value)
        return fallback;
    if (!value->is_number())
        wrongType(key, "a number");
    return value->get<double>();
}

bool ConfigReader::getBool(const std::string& key, bool fallback) const
{
    const json* value = find(key);
    if (!value)
        return fallback;
    if (!value->is_boolean())
        wrongType(key, "true or false");
    return value->get<bool>();
}

std::string ConfigReader::getString(const std::string& key, const std::string& fallback) const
{
    const json* value = find(key);
    if (!value)
        return fallback;
    if (!value->is_string())
        wrongType(key, "a string");
    return value->get<std::string>();
}

std::vector<double> ConfigReader::getDoubles(const std::string& key, const std::vector<double>& fallback) const
{
    const json* value = find(key);
    if (!value)
        return fallback;
    if (value->is_number())
        return {value->get<double>()};
    if (!value->is_array())
        wrongType(key, "a list of numbers");
    std::vector<double> result;
    for (const auto& item : *value) {
        if (!item.is_number())
            wrongType(key, "a list of numbers");
        result.push_back(item.get<double>());
    }
    return result;
}

std::vector<int> ConfigReader::getIds(const std::string& key, const std::vector<int>& fallback) const
{
    const json* value = find(key);
    if (!value)
        return fallback;
    const auto idOf = [&](const json& item) {
        const std::optional<int> id = intValue(item);
        if (!id)
            wrongType(key, "a token id or a list of them");
        return *id;
    };
    if (value->is_number())
        return {idOf(*value)};
    if (!value->is_array())
        wrongType(key, "a token id or a list of them");
    std::vector<int> result;
    for (const auto& item : *value)
        result.push_back(idOf(item));
    return result;
}

std::optional<int> ConfigReader::getOptionalInt(const std::string& key) const
{
    if (!has(key))
        return std::nullopt;
    return getInt(key, 0);
}

}  // namespace querylens::io
