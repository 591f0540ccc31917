#pragma once
// Generation results as JSON, in the forms the command line's --json and batch results files
// share (field names follow Hugging Face's where it has one).

#include "querylens/decoding_options.h"
#include "querylens/generation.h"

#include <nlohmann/json.hpp>

namespace querylens {

// {"id", "text", "probability", "top": [{"id", "text", "probability"}, ...]}
nlohmann::json tokenJson(const GeneratedToken& token);
// Generate()'s argument names: max_new_tokens, num_beams, do_sample, temperature, ...
nlohmann::json decodingJson(const DecodingOptions& options);

}  // namespace querylens
