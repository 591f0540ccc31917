#include "querylens/result_json.h"

namespace querylens {

nlohmann::json tokenJson(const GeneratedToken& token)
{
    nlohmann::json alternatives = nlohmann::json::array();
    for (const auto& alternative : token.alternatives)
        alternatives.push_back({{"id", alternative.id}, {"text", alternative.text}, {"probability", alternative.probability}});
    return {{"id", token.id}, {"text", token.text}, {"probability", token.probability}, {"top", alternatives}};
}

nlohmann::json decodingJson(const DecodingOptions& o)
{
    nlohmann::json json = {{"max_new_tokens", o.maxNewTokens},
                           {"min_new_tokens", o.minNewTokens},
                           {"stop_at_eos", o.stopAtEos},
                           {"num_beams", o.numBeams},
                           {"num_return_sequences", o.numReturnSequences},
                           {"do_sample", o.doSample},
                           {"repetition_penalty", o.repetitionPenalty},
                           {"no_repeat_ngram_size", o.noRepeatNgramSize}};
    if (o.numBeams > 1) {
        json["length_penalty"] = o.lengthPenalty;
        json["early_stopping"] = o.earlyStopping;
    }
    if (o.doSample) {
        json["temperature"] = o.temperature;
        json["top_k"] = o.topK;
        json["top_p"] = o.topP;
        json["seed"] = o.seed;
    }
    return json;
}

}  // namespace querylens
