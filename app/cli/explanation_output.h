#pragma once
// What localize and explain-words share: the faithfulness options and their JSON, the model
// summary in JSON, and writing maps as safetensors or a PNG sheet.

#include "explain/map_sheet.h"
#include "querylens/faithfulness.h"
#include "querylens/model.h"

#include <QCommandLineParser>
#include <QImage>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace querylens::cli {

void addFaithfulnessOptions(QCommandLineParser& parser);
// Null when --faithfulness is not given.
std::optional<FaithfulnessOptions> faithfulnessOptions(const QCommandLineParser& parser);
nlohmann::json faithfulnessJson(const FaithfulnessReport& report);
// One line for people: areas against the random orders.
std::string faithfulnessLine(const FaithfulnessReport& report);

nlohmann::json modelJson(const ModelInfo& info);

// A float32 tensor to write: its shape and values.
struct NamedArray {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<float> values;
};
// Writes `arrays` to `path` (safetensors, atomically); throws Error naming the path.
void writeArrays(const std::string& path, const std::vector<NamedArray>& arrays,
                 const std::map<std::string, std::string>& metadata);
// Writes a sheet of maps over `image` as PNG; throws Error naming the path.
void writeMapSheet(const QString& path, const QImage& image, const std::vector<ui::TitledMap>& maps, int grid);

}  // namespace querylens::cli
