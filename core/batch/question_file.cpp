#include "querylens/batch_runner.h"
#include "querylens/error.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace querylens {

std::map<std::string, std::string> readQuestionFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read the questions file", path);
    std::map<std::string, std::string> questions;
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        const auto where = "line " + std::to_string(number);
        const nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!json.is_object() || !json.contains("key") || !json["key"].is_string() || !json.contains("question") ||
            !json["question"].is_string())
            throw Error(where + ": expected a JSON object with \"key\" and \"question\" strings", path);
        const std::string question = json["question"].get<std::string>();
        if (question.find_first_not_of(" \t\r\n") == std::string::npos)
            throw Error(where + ": the question is empty", path);
        if (!questions.emplace(json["key"].get<std::string>(), question).second)
            throw Error(where + ": key " + json["key"].get<std::string>() + " has a question already", path);
    }
    if (in.bad())
        throw Error("cannot read the questions file", path);
    return questions;
}

}  // namespace querylens
