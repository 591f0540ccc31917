// The session file format: a Conversation to JSON and back, checked as it is read.

#include "io/json_file.h"
#include "querylens/error.h"
#include "querylens/session_store.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>
#include <type_traits>

namespace querylens {

using nlohmann::json;

namespace {

constexpr const char* kFormatPrefix = "querylens-session/";

// A float written with the fewest digits that read back as the same float ("0.1234", not
// "0.12340000271797180"): files half the size, and export -> import -> export stays identical.
double shortest(float value)
{
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, value).ptr;
    *end = '\0';
    return std::strtod(text, nullptr);
}

json floatsJson(const std::vector<float>& values)
{
    json list = json::array();
    for (float v : values)
        list.push_back(shortest(v));
    return list;
}

json optionsJson(const DecodingOptions& o)
{
    return {{"max_new_tokens", o.maxNewTokens},     {"min_new_tokens", o.minNewTokens},
            {"stop_at_eos", o.stopAtEos},           {"num_beams", o.numBeams},
            {"length_penalty", o.lengthPenalty},    {"early_stopping", o.earlyStopping},
            {"num_return_sequences", o.numReturnSequences}, {"do_sample", o.doSample},
            {"temperature", o.temperature},         {"top_k", o.topK},
            {"top_p", o.topP},                      {"seed", o.seed},
            {"repetition_penalty", o.repetitionPenalty}, {"no_repeat_ngram_size", o.noRepeatNgramSize},
            {"top_alternatives", o.topAlternatives}};
}

DecodingOptions optionsFrom(const json& object, const std::string& file, const std::string& path)
{
    const io::ConfigReader r(object, file, path);
    DecodingOptions d, o;
    o.maxNewTokens = r.getInt("max_new_tokens", d.maxNewTokens);
    o.minNewTokens = r.getInt("min_new_tokens", d.minNewTokens);
    o.stopAtEos = r.getBool("stop_at_eos", d.stopAtEos);
    o.numBeams = r.getInt("num_beams", d.numBeams);
    o.lengthPenalty = r.getDouble("length_penalty", d.lengthPenalty);
    o.earlyStopping = r.getBool("early_stopping", d.earlyStopping);
    o.numReturnSequences = r.getInt("num_return_sequences", d.numReturnSequences);
    o.doSample = r.getBool("do_sample", d.doSample);
    o.temperature = r.getDouble("temperature", d.temperature);
    o.topK = r.getInt("top_k", d.topK);
    o.topP = r.getDouble("top_p", d.topP);
    // Seeds use all 64 bits: read exactly, not through a double.
    if (object.contains("seed") && !object.at("seed").is_number_unsigned() && !object.at("seed").is_null())
        throw Error("must be a non-negative whole number", file, r.keyPath("seed"));
    o.seed = object.contains("seed") && !object.at("seed").is_null() ? object.at("seed").get<std::uint64_t>() : d.seed;
    o.repetitionPenalty = r.getDouble("repetition_penalty", d.repetitionPenalty);
    o.noRepeatNgramSize = r.getInt("no_repeat_ngram_size", d.noRepeatNgramSize);
    o.topAlternatives = r.getInt("top_alternatives", d.topAlternatives);
    return o;
}

json tokenJson(const GeneratedToken& token)
{
    json top = json::array();
    for (const auto& a : token.alternatives)
        top.push_back({{"id", a.id}, {"text", a.text}, {"probability", shortest(a.probability)}});
    return {{"id", token.id},
            {"text", token.text},
            {"probability", shortest(token.probability)},
            {"top", top},
            {"query_attention", floatsJson(token.queryAttention)}};
}

json reportJson(const GenerationResult& result)
{
    json sequences = json::array();
    for (const auto& s : result.sequences) {
        json tokens = json::array();
        for (const auto& t : s.tokens)
            tokens.push_back(tokenJson(t));
        sequences.push_back({{"text", s.text}, {"ids", s.ids}, {"score", s.score}, {"tokens", tokens}});
    }
    return {{"sequences", sequences},
            {"stop_reason", stopReasonName(result.stopReason)},
            {"prompt_tokens", result.promptTokens},
            {"reused_positions", result.reusedPositions},
            {"query_indices", result.queryIndices},
            {"notice", result.notice},
            {"timings_ms",
             {{"prefill", result.timings.prefillMs},
              {"first_token", result.timings.firstTokenMs},
              {"total", result.timings.totalMs}}},
            {"tokens_per_s", result.timings.tokensPerSecond}};
}

// Reading: every lookup names the file and the key path, so a hand-edited file that went
// wrong says where.
class Reader {
public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& path, const std::string& message) const { throw Error(message, file_, path); }

    const json& member(const json& object, const std::string& key, const std::string& path) const
    {
        if (!object.is_object())
            fail(path, "expected an object");
        const auto it = object.find(key);
        if (it == object.end())
            fail(join(path, key), "is missing");
        return *it;
    }
    template <typename T>
    T value(const json& object, const std::string& key, const std::string& path) const
    {
        const json& v = member(object, key, path);
        // Numbers are checked before they are converted: nlohmann casts without looking, and a
        // hand-edited 3.3e54 in a list of token ids would be undefined behaviour, not an error.
        if constexpr (std::is_same_v<T, int>) {
            return checkedInt(v, join(path, key));
        } else if constexpr (std::is_same_v<T, std::vector<int>>) {
            return checkedList(v, join(path, key), [this](const json& e, const std::string& p) { return checkedInt(e, p); });
        } else if constexpr (std::is_same_v<T, float>) {
            return checkedFloat(v, join(path, key));
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
            return checkedList(v, join(path, key), [this](const json& e, const std::string& p) { return checkedFloat(e, p); });
        } else {
            try {
                return v.get<T>();
            } catch (const json::exception&) {
                fail(join(path, key), std::string("has the wrong type (") + v.type_name() + ")");
            }
        }
    }
    int checkedInt(const json& v, const std::string& path) const
    {
        const std::optional<int> number = io::intValue(v);
        if (!number)
            fail(path, "expected an integer that fits in 32 bits, found " + printableText(v.dump(), 40));
        return *number;
    }
    template <typename Check>
    auto checkedList(const json& v, const std::string& path, Check check) const
    {
        if (!v.is_array())
            fail(path, std::string("expected a list, found ") + v.type_name());
        std::vector<decltype(check(v, path))> values;
        for (std::size_t i = 0; i < v.size(); ++i)
            values.push_back(check(v[i], at(path, i)));
        return values;
    }
    float checkedFloat(const json& v, const std::string& path) const
    {
        if (!v.is_number() || std::abs(v.get<double>()) > std::numeric_limits<float>::max())
            fail(path, "expected a number within a float's range, found " + printableText(v.dump(), 40));
        return v.get<float>();
    }
    template <typename T>
    T optional(const json& object, const std::string& key, const std::string& path, T fallback) const
    {
        if (!object.is_object() || !object.contains(key) || object.at(key).is_null())
            return fallback;
        return value<T>(object, key, path);
    }
    const json& array(const json& object, const std::string& key, const std::string& path) const
    {
        const json& v = member(object, key, path);
        if (!v.is_array())
            fail(join(path, key), "expected a list");
        return v;
    }
    static std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
    static std::string at(const std::string& path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }
    const std::string& file() const { return file_; }

private:
    std::string file_;
};

GeneratedToken tokenFrom(const Reader& r, const json& j, const std::string& path)
{
    GeneratedToken t;
    t.id = r.value<int>(j, "id", path);
    t.text = r.value<std::string>(j, "text", path);
    t.probability = r.value<float>(j, "probability", path);
    const json& top = r.array(j, "top", path);
    for (std::size_t i = 0; i < top.size(); ++i) {
        const std::string p = Reader::at(Reader::join(path, "top"), i);
        t.alternatives.push_back({r.value<int>(top[i], "id", p), r.value<std::string>(top[i], "text", p),
                                  r.value<float>(top[i], "probability", p)});
    }
    t.queryAttention = r.optional<std::vector<float>>(j, "query_attention", path, {});
    return t;
}

GenerationResult reportFrom(const Reader& r, const json& j, const std::string& path)
{
    GenerationResult result;
    const json& sequences = r.array(j, "sequences", path);
    for (std::size_t i = 0; i < sequences.size(); ++i) {
        const std::string p = Reader::at(Reader::join(path, "sequences"), i);
        GeneratedSequence s;
        s.text = r.value<std::string>(sequences[i], "text", p);
        s.ids = r.value<std::vector<int>>(sequences[i], "ids", p);
        s.score = r.optional<double>(sequences[i], "score", p, 0.0);
        const json& tokens = r.array(sequences[i], "tokens", p);
        for (std::size_t k = 0; k < tokens.size(); ++k)
            s.tokens.push_back(tokenFrom(r, tokens[k], Reader::at(Reader::join(p, "tokens"), k)));
        result.sequences.push_back(std::move(s));
    }
    const std::string reason = r.value<std::string>(j, "stop_reason", path);
    bool known = false;
    for (StopReason candidate : {StopReason::EndOfSequence, StopReason::MaxNewTokens, StopReason::ContextFull,
                                 StopReason::Cancelled})
        if (reason == stopReasonName(candidate)) {
            result.stopReason = candidate;
            known = true;
        }
    if (!known)
        r.fail(Reader::join(path, "stop_reason"), "is not a stop reason: \"" + reason + "\"");
    result.promptTokens = r.optional<int>(j, "prompt_tokens", path, 0);
    result.reusedPositions = r.optional<int>(j, "reused_positions", path, 0);
    result.queryIndices = r.optional<std::vector<int>>(j, "query_indices", path, {});
    result.notice = r.optional<std::string>(j, "notice", path, "");
    if (j.contains("timings_ms")) {
        const std::string p = Reader::join(path, "timings_ms");
        const json& t = j.at("timings_ms");
        result.timings.prefillMs = r.optional<double>(t, "prefill", p, 0.0);
        result.timings.firstTokenMs = r.optional<double>(t, "first_token", p, 0.0);
        result.timings.totalMs = r.optional<double>(t, "total", p, 0.0);
    }
    result.timings.tokensPerSecond = r.optional<double>(j, "tokens_per_s", path, 0.0);
    return result;
}

Turn turnFrom(const Reader& r, const json& j, const std::string& path)
{
    Turn t;
    t.id = r.value<int>(j, "id", path);
    t.parent = r.value<int>(j, "parent", path);
    t.question = r.value<std::string>(j, "question", path);
    t.answer = r.optional<std::string>(j, "answer", path, "");
    const std::string state = r.value<std::string>(j, "state", path);
    if (!parseTurnState(state, t.state))
        r.fail(Reader::join(path, "state"), "is not a turn state: \"" + state + "\"");
    t.error = r.optional<std::string>(j, "error", path, "");
    t.created = r.optional<std::string>(j, "created", path, "");
    t.model = r.optional<std::string>(j, "model", path, "");
    if (j.contains("settings"))
        t.options = optionsFrom(j.at("settings"), r.file(), Reader::join(path, "settings"));
    if (j.contains("report") && !j.at("report").is_null())
        t.result = reportFrom(r, j.at("report"), Reader::join(path, "report"));
    return t;
}

// Ids are unique and every parent is an existing turn with a smaller id (which rules out cycles).
void checkTree(const Reader& r, const std::vector<Turn>& turns, const std::map<int, int>& chosen)
{
    std::set<int> seen;
    for (std::size_t i = 0; i < turns.size(); ++i)
        if (turns[i].id <= 0 || !seen.insert(turns[i].id).second)
            r.fail(Reader::join(Reader::at("turns", i), "id"),
                   "must be a positive number used once (" + std::to_string(turns[i].id) + ")");
    for (std::size_t i = 0; i < turns.size(); ++i) {
        const Turn& t = turns[i];
        if (t.parent != 0 && (t.parent >= t.id || !seen.count(t.parent)))
            r.fail(Reader::join(Reader::at("turns", i), "parent"), "names no earlier turn (" + std::to_string(t.parent) + ")");
    }
    for (const auto& [parent, child] : chosen)
        if ((parent != 0 && !seen.count(parent)) || !seen.count(child))
            r.fail("chosen", "names a turn that does not exist (" + std::to_string(parent) + ", " +
                                 std::to_string(child) + ")");
}

}  // namespace

std::string sessionToJson(const Conversation& c)
{
    json turns = json::array();
    for (const Turn& t : c.turns()) {
        json turn = {{"id", t.id},
                     {"parent", t.parent},
                     {"question", t.question},
                     {"answer", t.answer},
                     {"state", turnStateName(t.state)},
                     {"created", t.created},
                     {"model", t.model},
                     {"settings", optionsJson(t.options)}};
        if (!t.error.empty())
            turn["error"] = t.error;
        turn["report"] = t.result.sequences.empty() ? json(nullptr) : reportJson(t.result);
        turns.push_back(std::move(turn));
    }
    json chosen = json::array();
    for (const auto& [parent, child] : c.chosenChildren())
        chosen.push_back({parent, child});
    const json file = {
        {"format", kFormatPrefix + std::to_string(kSessionFormatVersion)},
        {"title", c.title},
        {"created", c.created},
        {"updated", c.updated},
        {"image", {{"path", c.image.path}, {"sha256", c.image.sha256}, {"width", c.image.width}, {"height", c.image.height}}},
        {"model",
         {{"name", c.model.name}, {"folder", c.model.folder}, {"language_model", c.model.languageModel},
          {"precision", c.model.precision}}},
        {"settings", optionsJson(c.settings)},
        {"chosen", chosen},
        {"turns", turns},
    };
    return file.dump(1) + "\n";
}

Conversation sessionFromJson(const std::string& text, const std::string& file)
{
    const Reader r(file);
    json root;
    io::checkJsonNesting(text, file);
    try {
        root = json::parse(text);
    } catch (const json::parse_error& e) {
        throw Error("is not valid JSON (byte " + std::to_string(e.byte) + "): the file is kept as it is", file);
    } catch (const json::exception& e) {  // a number past the range of a double
        throw Error("is not valid JSON (" + io::jsonProblem(e) + "): the file is kept as it is", file);
    }
    if (!root.is_object() || !root.contains("format") || !root.at("format").is_string())
        throw Error("is not a QueryLens session (no \"format\")", file);
    const std::string format = root.at("format").get<std::string>();
    if (format.rfind(kFormatPrefix, 0) != 0)
        throw Error("is not a QueryLens session (format \"" + printableText(format) + "\")", file);
    const int version = std::atoi(format.c_str() + std::string(kFormatPrefix).size());
    if (version > kSessionFormatVersion)
        throw Error("was written by a newer QueryLens (" + format + "; this one reads up to " + kFormatPrefix +
                        std::to_string(kSessionFormatVersion) + "): update QueryLens to open it; the file is kept",
                    file);
    if (version < 1)
        throw Error("has an unknown format \"" + format + "\"", file);

    Conversation c;
    c.title = r.optional<std::string>(root, "title", "", "");
    c.created = r.optional<std::string>(root, "created", "", "");
    c.updated = r.optional<std::string>(root, "updated", "", "");
    const json& image = r.member(root, "image", "");
    c.image.path = r.value<std::string>(image, "path", "image");
    c.image.sha256 = r.value<std::string>(image, "sha256", "image");
    c.image.width = r.optional<int>(image, "width", "image", 0);
    c.image.height = r.optional<int>(image, "height", "image", 0);
    const json& model = r.member(root, "model", "");
    c.model.name = r.value<std::string>(model, "name", "model");
    c.model.folder = r.optional<std::string>(model, "folder", "model", "");
    c.model.languageModel = r.optional<std::string>(model, "language_model", "model", "");
    c.model.precision = r.optional<std::string>(model, "precision", "model", "");
    if (root.contains("settings"))
        c.settings = optionsFrom(root.at("settings"), file, "settings");

    std::vector<Turn> turns;
    const json& list = r.array(root, "turns", "");
    for (std::size_t i = 0; i < list.size(); ++i)
        turns.push_back(turnFrom(r, list[i], Reader::at("turns", i)));
    std::map<int, int> chosen;
    if (root.contains("chosen")) {
        const json& pairs = r.array(root, "chosen", "");
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            const bool isPair = pairs[i].is_array() && pairs[i].size() == 2;
            const std::optional<int> parent = isPair ? io::intValue(pairs[i][0]) : std::nullopt;
            const std::optional<int> child = isPair ? io::intValue(pairs[i][1]) : std::nullopt;
            if (!parent || !child)
                r.fail(Reader::at("chosen", i), "expected [parent, child]");
            chosen[*parent] = *child;
        }
    }
    checkTree(r, turns, chosen);
    c.setTurns(std::move(turns), std::move(chosen));
    return c;
}

}  // namespace querylens
