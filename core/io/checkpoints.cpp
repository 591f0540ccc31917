#include "querylens/checkpoints.h"

#include "io/json_file.h"
#include "io/weight_archive.h"
#include "querylens/error.h"
#include "querylens/hub_cache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace querylens {

namespace fs = std::filesystem;

std::string checkpointDisplayName(const std::string& folder)
{
    const fs::path path = fs::absolute(folder);
    for (const auto& part : path) {
        const std::string text = part.string();
        if (text.rfind("models--", 0) == 0) {
            std::string name = text.substr(8);
            const auto split = name.find("--");
            if (split != std::string::npos)
                name.replace(split, 2, "/");
            return name;
        }
    }
    return path.filename().empty() ? path.parent_path().filename().string() : path.filename().string();
}

CheckpointSummary inspectCheckpoint(const std::string& folder)
{
    CheckpointSummary summary;
    summary.folder = fs::absolute(folder).string();
    summary.name = checkpointDisplayName(folder);
    try {
        const std::string configPath = (fs::path(folder) / "config.json").string();
        const auto json = io::readJsonFile(configPath);
        io::requireObject(json, configPath);
        const io::ConfigReader config(json, configPath);
        if (config.getString("model_type", "") != "blip-2")
            throw Error("not a BLIP-2 checkpoint (model_type is not blip-2)", configPath, "model_type");
        const std::string text = config.child("text_config").getString("model_type", "opt");
        summary.languageModel = text == "t5" ? "Flan-T5" : text == "opt" ? "OPT" : text;
        for (const auto& architecture : json.value("architectures", nlohmann::json::array()))
            if (architecture == "Blip2ForImageTextRetrieval")
                summary.languageModel = "none (image-text matching)";
        summary.isTrainedDemo = config.getBool("querylens_trained_demo", false);
        summary.isDemo = config.getBool("querylens_demo", false) && !summary.isTrainedDemo;
        const auto archive = io::WeightArchive::openFolder(folder);
        for (const auto& name : archive.names())
            summary.parameters += archive.find(name)->record->numel();
        summary.fileBytes = archive.totalBytes();
    } catch (const Error& e) {
        summary.problem = e.what();
    }
    return summary;
}

std::string hubCacheFolder() { return hub::defaultCacheFolder(); }

std::vector<CheckpointSummary> findHubCheckpoints()
{
    std::vector<CheckpointSummary> found;
    std::error_code error;
    const fs::path cache = hubCacheFolder();
    for (const auto& model : fs::directory_iterator(cache, error)) {
        if (!model.is_directory() || model.path().filename().string().rfind("models--", 0) != 0)
            continue;
        for (const auto& snapshot : fs::directory_iterator(model.path() / "snapshots", error)) {
            const fs::path config = snapshot.path() / "config.json";
            if (!fs::exists(config))
                continue;
            try {
                const nlohmann::json json = io::readJsonFile(config.string());
                io::requireObject(json, config.string());
                if (json.value("model_type", "") != "blip-2")
                    continue;
            } catch (const Error&) {
                // A broken config (not JSON, not an object) is still listed, with its problem, below.
            }
            found.push_back(inspectCheckpoint(snapshot.path().string()));
        }
    }
    // A snapshot whose download is unfinished has some files and not others: say so rather
    // than let the load fail on a missing shard.
    for (const auto& download : hub::findIncompleteDownloads(cache.string(), hub::defaultStateFolder()))
        for (auto& summary : found)
            if (!download.snapshotFolder.empty() && fs::path(summary.folder) == fs::absolute(download.snapshotFolder))
                summary.problem = "the download is unfinished (" + download.describe() + "): resume it with "
                                  "`querylens download " + (download.revision == "main" ? download.repo
                                                                                         : download.repo + "@" + download.revision) + "`";
    return found;
}

std::size_t estimateWeightMemory(const std::vector<TensorShape>& tensors, Precision precision)
{
    std::size_t bytes = 0;
    for (const auto& tensor : tensors) {
        std::size_t numel = 1;
        for (const auto dimension : tensor.shape)
            numel *= std::size_t(dimension);
        const bool matrix = tensor.shape.size() == 2 && tensor.name.find("embed_positions") == std::string::npos;
        const bool languageMatrix = matrix && tensor.name.rfind("language_model.", 0) == 0;
        switch (precision) {
        case Precision::Float32: bytes += numel * 4; break;
        case Precision::BFloat16: bytes += numel * (matrix ? 2 : 4); break;
        case Precision::Int8:
            bytes += languageMatrix ? numel + std::size_t(tensor.shape[0]) * 4 : numel * (matrix ? 2 : 4);
            break;
        }
    }
    return bytes;
}

std::size_t estimateWeightMemory(const std::string& folder, Precision precision)
{
    const auto archive = io::WeightArchive::openFolder(folder);
    std::vector<TensorShape> tensors;
    for (const auto& name : archive.names())
        tensors.push_back({name, archive.find(name)->record->shape});
    return estimateWeightMemory(tensors, precision);
}

std::size_t availableMemoryBytes()
{
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    std::size_t value = 0;
    std::string unit;
    while (meminfo >> key >> value >> unit)
        if (key == "MemAvailable:")
            return value * 1024;
    return 0;
}

}  // namespace querylens
