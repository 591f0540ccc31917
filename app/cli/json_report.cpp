#include "cli/json_report.h"

#include "querylens/result_json.h"

namespace querylens::cli {

using nlohmann::json;

json resultJson(const GenerationResult& result, const ModelInfo& model, const std::string& image,
                const std::string& prompt, const RunTimings& timings)
{
    const GeneratedSequence& best = result.sequences.front();
    json tokens = json::array();
    for (const auto& token : best.tokens)
        tokens.push_back(tokenJson(token));
    json sequences = json::array();
    for (const auto& sequence : result.sequences)
        sequences.push_back({{"text", sequence.text}, {"token_ids", sequence.ids}, {"score", sequence.score}});

    return {
        {"image", image},
        {"prompt", prompt},
        {"text", best.text},
        {"token_ids", best.ids},
        {"tokens", tokens},
        {"sequences", sequences},
        {"stop_reason", stopReasonName(result.stopReason)},
        {"prompt_tokens", result.promptTokens},
        {"reused_positions", result.reusedPositions},
        {"timings_ms",
         {{"load", timings.loadMs},
          {"image_encode", timings.encodeMs},
          {"prefill", result.timings.prefillMs},
          {"first_token", result.timings.firstTokenMs},
          {"total", result.timings.totalMs}}},
        {"tokens_per_s", result.timings.tokensPerSecond},
        {"notice", result.notice},
        {"model",
         {{"name", model.name},
          {"language_model", model.languageModel},
          {"precision", precisionName(model.precision)},
          {"device", model.device},
          {"threads", model.threads},
          {"random_weights", model.isDemo},
          {"kernels",
           {{"isa", model.kernels.isa},
            {"cpu", model.kernels.cpu},
            {"cpu_flags", model.kernels.cpuFlags},
            {"images", model.kernels.images},
            {"prompts", model.kernels.prompts},
            {"decode", model.kernels.decode},
            {"attention", model.kernels.attention}}},
          {"trained_demo", model.isTrainedDemo}}},
    };
}

}  // namespace querylens::cli
