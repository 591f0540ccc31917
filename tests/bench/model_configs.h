#pragma once
// The real BLIP-2 architectures as config.json objects, for building them with random weights.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

// "blip2-opt-2.7b" or "blip2-flan-t5-xl", with each stack's layer count multiplied by `scale`
// (at least one layer; widths unchanged). Throws std::invalid_argument for another name.
nlohmann::json realModelConfig(const std::string& name, double scale);
std::vector<std::string> realModelNames();
