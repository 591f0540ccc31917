#include "io/weight_archive.h"

#include "io/file_names.h"
#include "io/json_file.h"
#include "querylens/error.h"

#include <algorithm>
#include <filesystem>
#include <map>

namespace querylens::io {

namespace fs = std::filesystem;

namespace {

// Why `shard` cannot be the name of a file beside the index, or "" when it can. The index is
// input: a name with a '/' or ".." would open a file outside the checkpoint folder, an embedded
// NUL would open a shorter name than the one the message shows, and a name past NAME_MAX makes
// the file system calls fail rather than answer.
std::string shardNameProblem(const std::string& shard)
{
    if (shard.empty())
        return "names an empty shard";
    if (shard.size() > kMaxFileNameBytes)
        return "names a shard whose name is " + std::to_string(shard.size()) + " bytes long (a file name has at most " +
               std::to_string(kMaxFileNameBytes) + ")";
    if (shard == "." || shard == ".." || shard.find('/') != std::string::npos)
        return "names shard '" + printableText(shard) + "', which is not a file in the checkpoint folder";
    if (shard.find('\0') != std::string::npos)
        return "names a shard whose name holds a NUL byte";
    return {};
}

bool isFile(const fs::path& path)
{
    std::error_code error;
    return fs::is_regular_file(path, error);
}

}  // namespace

void WeightArchive::add(std::shared_ptr<const SafetensorsFile> file)
{
    for (const auto& record : file->tensors()) {
        const auto [it, inserted] = entries_.emplace(record.name, Entry{file.get(), &record});
        if (!inserted)
            throw Error("tensor stored twice, also in " + it->second.file->path(), file->path(), record.name);
    }
    files_.push_back(std::move(file));
}

WeightArchive WeightArchive::openFile(const std::string& path)
{
    WeightArchive archive;
    archive.description_ = path;
    archive.add(SafetensorsFile::open(path));
    return archive;
}

WeightArchive WeightArchive::openFolder(const std::string& dir)
{
    const fs::path folder(dir);
    const fs::path single = folder / "model.safetensors";
    const fs::path index = folder / "model.safetensors.index.json";
    if (isFile(index)) {
        const auto json = readJsonFile(index.string());
        const auto map = json.find("weight_map");
        if (map == json.end() || !map->is_object())
            throw Error("has no weight_map object", index.string(), "weight_map");
        // Open each shard once, in name order, and check that it holds what the index says.
        std::map<std::string, std::vector<std::string>> byShard;
        for (const auto& [name, shard] : map->items()) {
            if (!shard.is_string())
                throw Error("shard name is not a string", index.string(), name);
            const auto& shardName = shard.get_ref<const std::string&>();
            if (const std::string problem = shardNameProblem(shardName); !problem.empty())
                throw Error(problem, index.string(), name);
            byShard[shardName].push_back(name);
        }
        WeightArchive archive;
        archive.description_ = index.string();
        for (const auto& [shardName, names] : byShard) {
            const fs::path shardPath = folder / shardName;
            if (!isFile(shardPath))
                throw Error("names shard '" + printableText(shardName) + "', which is not in the folder", index.string(),
                            names.front());
            auto file = SafetensorsFile::open(shardPath.string());
            for (const auto& name : names)
                if (!file->find(name))
                    throw Error("the index places this tensor in " + shardName + ", which does not hold it",
                                index.string(), name);
            archive.add(std::move(file));
        }
        return archive;
    }
    if (isFile(single))
        return openFile(single.string());
    if (isFile(folder / "pytorch_model.bin") || isFile(folder / "pytorch_model.bin.index.json"))
        throw Error("holds only PyTorch .bin weights; QueryLens reads safetensors (download the "
                    "model.safetensors files of the same repository, or convert with safetensors' convert.py)",
                    dir);
    throw Error("has neither model.safetensors nor model.safetensors.index.json", dir);
}

const WeightArchive::Entry* WeightArchive::find(const std::string& name) const
{
    const auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
}

std::vector<std::string> WeightArchive::names() const
{
    std::vector<std::string> result;
    result.reserve(entries_.size());
    for (const auto& [name, entry] : entries_)
        result.push_back(name);
    std::sort(result.begin(), result.end());
    return result;
}

std::size_t WeightArchive::totalBytes() const
{
    std::size_t total = 0;
    for (const auto& [name, entry] : entries_)
        total += entry.record->nbytes;
    return total;
}

}  // namespace querylens::io
