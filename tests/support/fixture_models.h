#pragma once
// The fixture checkpoints through the public API, loaded and encoded once per test process:
// what the decoding suites (generation, branch caches, batches) start from.

#include "querylens/decoding_options.h"
#include "querylens/image_encoding.h"
#include "querylens/model.h"

#include <memory>
#include <string>

namespace testsupport {

// ../shared/fixtures/<config> on one thread (the suites compare against one-thread goldens and
// run beside others).
std::shared_ptr<const querylens::Model> fixtureModel(const std::string& config);
// The fixture photo (variant 0) or another fixtureVariant, encoded by fixtureModel(config).
std::shared_ptr<const querylens::ImageEncoding> fixtureEncoding(const std::string& config, int variant = 0);
// Greedy decoding of at most `tokens` new tokens.
querylens::DecodingOptions greedy(int tokens);

}  // namespace testsupport
