#pragma once
// Finding BLIP-2 checkpoints and sizing them before loading, from config.json and the
// safetensors headers only (no weights read, no torch).

#include "querylens/model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace querylens {

struct CheckpointSummary {
    std::string folder;
    std::string name;             // "Salesforce/blip2-opt-2.7b" for a Hub cache snapshot, else the folder name
    std::string languageModel;    // "OPT" or "Flan-T5" (empty when unreadable)
    std::int64_t parameters = 0;
    std::size_t fileBytes = 0;    // weights as stored
    bool isDemo = false;          // the demo model with random weights
    bool isTrainedDemo = false;   // the demo model trained on synthetic shapes
    std::string problem;          // why it cannot be loaded, or empty
};

// Reads config.json and the safetensors headers. Never throws: problems go in `problem`.
CheckpointSummary inspectCheckpoint(const std::string& folder);

// Snapshots of BLIP-2 models in the Hugging Face cache (hub::defaultCacheFolder(): $HF_HUB_CACHE,
// else $HF_HOME/hub, else ~/.cache/huggingface/hub, ...); models--*/snapshots/* folders whose
// config.json says model_type "blip-2". A snapshot whose download is unfinished has a `problem`
// saying so.
std::vector<CheckpointSummary> findHubCheckpoints();
std::string hubCacheFolder();

// Memory the weights will take at `precision` (fp32: 4 bytes a parameter; bf16: 2 for
// matrices, 4 for vectors; int8: 1 for the language model's matrices plus a scale per row).
std::size_t estimateWeightMemory(const std::string& folder, Precision precision);
// The same from tensor names and shapes alone (e.g. read from a Hub repository's safetensors
// headers before downloading it).
struct TensorShape {
    std::string name;
    std::vector<std::int64_t> shape;
};
std::size_t estimateWeightMemory(const std::vector<TensorShape>& tensors, Precision precision);

// What the kernel reports as available to a new process (MemAvailable of /proc/meminfo).
std::size_t availableMemoryBytes();

// The folder name shown for a checkpoint path (see CheckpointSummary::name).
std::string checkpointDisplayName(const std::string& folder);

}  // namespace querylens
