#include "checkpoint_writer.h"

#include "io/safetensors.h"
#include "io/text_file.h"
#include "querylens/error.h"

#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;
using querylens::model::NamedTensor;

namespace {

querylens::io::DType dtypeOf(const NamedTensor& t)
{
    switch (t.tensor.scalar_type()) {
    case at::kFloat: return querylens::io::DType::F32;
    case at::kBFloat16: return querylens::io::DType::BF16;
    case at::kHalf: return querylens::io::DType::F16;
    default: break;
    }
    throw querylens::Error("only float32, bfloat16 and float16 tensors can be written", "", t.name);
}

std::string shardName(std::size_t index, std::size_t count)
{
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index + 1, count);
    return name;
}

}  // namespace

void writeCheckpointFolder(const std::string& folder, const nlohmann::json& config,
                           const std::vector<NamedTensor>& tensors, std::size_t shardBytes)
{
    fs::create_directories(folder);
    querylens::io::writeTextFile((fs::path(folder) / "config.json").string(), config.dump(2) + "\n");

    // Shards in creation order, a new one when the next tensor would overflow the current.
    std::vector<std::vector<const NamedTensor*>> shards(1);
    std::size_t filled = 0, total = 0;
    for (const auto& t : tensors) {
        const std::size_t bytes = t.tensor.nbytes();
        if (filled > 0 && filled + bytes > shardBytes) {
            shards.emplace_back();
            filled = 0;
        }
        shards.back().push_back(&t);
        filled += bytes;
        total += bytes;
    }

    nlohmann::json weightMap = nlohmann::json::object();
    for (std::size_t i = 0; i < shards.size(); ++i) {
        const std::string name = shardName(i, shards.size());
        std::vector<querylens::io::TensorToWrite> records;
        for (const NamedTensor* t : shards[i]) {
            if (!t->tensor.is_contiguous())
                throw querylens::Error("tensor is not contiguous", t->name);
            records.push_back({t->name, dtypeOf(*t), t->tensor.sizes().vec(), t->tensor.data_ptr()});
            weightMap[t->name] = name;
        }
        querylens::io::writeSafetensors((fs::path(folder) / name).string(), records, {{"format", "pt"}});
    }
    const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weightMap}};
    querylens::io::writeTextFile((fs::path(folder) / "model.safetensors.index.json").string(), index.dump(2) + "\n");
}
