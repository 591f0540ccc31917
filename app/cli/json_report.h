#pragma once
// The --json output of the generating commands: one JSON object per result.

#include "querylens/generation.h"
#include "querylens/model.h"

#include <nlohmann/json.hpp>

#include <string>

namespace querylens::cli {

struct RunTimings {
    double loadMs = 0;
    double encodeMs = 0;
};

nlohmann::json resultJson(const GenerationResult& result, const ModelInfo& model, const std::string& image,
                          const std::string& prompt, const RunTimings& timings);

}  // namespace querylens::cli
