#pragma once
// The golden fixtures (../shared/fixtures) for targets that run arbitrary input against a real
// tokenizer or checkpoint. QUERYLENS_FIXTURES is set by tests/CMakeLists.txt.

#include <string>

namespace fuzzfixtures {

inline std::string path(const std::string& relative) { return std::string(QUERYLENS_FIXTURES) + "/" + relative; }

}  // namespace fuzzfixtures
