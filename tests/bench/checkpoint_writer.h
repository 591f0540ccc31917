#pragma once
// Writes a randomly initialised model as a Hugging Face checkpoint folder (config.json, sharded
// model-0000i-of-0000N.safetensors and their index), so that the benchmark can measure the real
// loading path (memory map, shards, no conversion) at real sizes without a download.

#include "model/weight_loader.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <vector>

// `tensors` in float32 or bfloat16, as created; shards hold at most `shardBytes` each (the Hub's
// own checkpoints use 2-10 GB). Throws querylens::Error naming the file on failure.
void writeCheckpointFolder(const std::string& folder, const nlohmann::json& config,
                           const std::vector<querylens::model::NamedTensor>& tensors, std::size_t shardBytes);
