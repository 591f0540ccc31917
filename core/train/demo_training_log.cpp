#include "train/demo_training_log.h"

#include "io/json_file.h"
#include "io/text_file.h"
#include "querylens/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace querylens::train {

namespace {

constexpr const char* kLogName = "training_log.json";

nlohmann::json lossesToJson(const std::vector<std::pair<std::string, double>>& losses)
{
    nlohmann::json object = nlohmann::json::object();
    for (const auto& [name, value] : losses)
        object[name] = value;
    return object;
}

std::vector<std::pair<std::string, double>> lossesFromJson(const nlohmann::json& object)
{
    std::vector<std::pair<std::string, double>> losses;
    for (const auto& [name, value] : object.items())
        losses.emplace_back(name, value.get<double>());
    return losses;
}

nlohmann::json stageToJson(const DemoStageSummary& s)
{
    return {{"name", s.name}, {"steps", s.steps}, {"seconds", s.seconds}, {"cpu_seconds", s.cpuSeconds},
            {"first_losses", lossesToJson(s.firstLosses)}, {"last_losses", lossesToJson(s.lastLosses)},
            {"curve_csv", s.curveCsv}};
}

DemoStageSummary stageFromJson(const nlohmann::json& j, const std::string& file)
{
    DemoStageSummary s;
    s.name = j.at("name").get<std::string>();
    s.steps = io::intAt(j, "steps", file);
    s.seconds = j.at("seconds").get<double>();
    s.cpuSeconds = j.at("cpu_seconds").get<double>();
    s.firstLosses = lossesFromJson(j.at("first_losses"));
    s.lastLosses = lossesFromJson(j.at("last_losses"));
    s.curveCsv = j.at("curve_csv").get<std::string>();
    return s;
}

}  // namespace

std::vector<DemoInvocation> readTrainingLog(const std::string& folder)
{
    const std::string path = (std::filesystem::path(folder) / kLogName).string();
    if (!std::filesystem::exists(path))
        return {};
    const nlohmann::json log = io::readJsonFile(path);
    std::vector<DemoInvocation> invocations;
    try {
        for (const auto& j : log.at("invocations")) {
            DemoInvocation run;
            run.arguments = j.at("arguments").get<std::string>();
            run.cpu = j.at("cpu").get<std::string>();
            run.threads = io::intAt(j, "threads", path);
            run.seconds = j.at("seconds").get<double>();
            run.visionAccuracy = j.at("vision_accuracy").get<std::string>();
            for (const auto& stage : j.at("stages"))
                run.stages.push_back(stageFromJson(stage, path));
            invocations.push_back(std::move(run));
        }
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": not a training log QueryLens wrote: " + io::jsonProblem(e));
    }
    return invocations;
}

void writeTrainingLog(const std::string& folder, const std::vector<DemoInvocation>& invocations)
{
    nlohmann::json list = nlohmann::json::array();
    for (const DemoInvocation& run : invocations) {
        nlohmann::json stages = nlohmann::json::array();
        for (const DemoStageSummary& stage : run.stages)
            stages.push_back(stageToJson(stage));
        list.push_back({{"arguments", run.arguments}, {"cpu", run.cpu}, {"threads", run.threads},
                        {"seconds", run.seconds}, {"vision_accuracy", run.visionAccuracy}, {"stages", stages}});
    }
    io::writeTextFile((std::filesystem::path(folder) / kLogName).string(),
                      nlohmann::json{{"invocations", list}}.dump(1) + "\n");
}

}  // namespace querylens::train
