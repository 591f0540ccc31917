#pragma once
// All weight tensors of one checkpoint folder, across the shards named by
// model.safetensors.index.json, or in a single model.safetensors.

#include "io/safetensors.h"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace querylens::io {

class WeightArchive {
public:
    struct Entry {
        const SafetensorsFile* file = nullptr;
        const TensorRecord* record = nullptr;
    };

    // Opens `dir`/model.safetensors, or the shards that `dir`/model.safetensors.index.json lists.
    // A folder with only PyTorch .bin weights, a missing shard, or a tensor the index places in
    // a shard that lacks it, is an Error naming the file and key.
    static WeightArchive openFolder(const std::string& dir);
    // One file, for tests and tools.
    static WeightArchive openFile(const std::string& path);

    const Entry* find(const std::string& name) const;
    std::vector<std::string> names() const;  // sorted
    std::size_t totalBytes() const;
    const std::string& description() const { return description_; }  // the path to name in errors

private:
    void add(std::shared_ptr<const SafetensorsFile> file);

    std::vector<std::shared_ptr<const SafetensorsFile>> files_;
    std::unordered_map<std::string, Entry> entries_;
    std::string description_;
};

}  // namespace querylens::io
