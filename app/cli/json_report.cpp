#include "cli/json_report.h"

#include "querylens/result_json.h"

namespace querylens::cli {

using nlohmann::json;

namespace {

// The measured kernel choice of each image product (rates in GFLOP/s on this machine).
json productsJson(const std::vector<ModelInfo::Kernels::Product>& products)
{
    json list = json::array();
    for (const ModelInfo::Kernels::Product& p : products)
        list.push_back({{"layer", p.layer},
                        {"weights", p.weights},
                        {"m", p.m},
                        {"n", p.n},
                        {"k", p.k},
                        {"kernel", p.kernel},
                        {"ours_gflops", p.oursGflops},
                        {"libtorch_gflops", p.libtorchGflops},
                        {"source", p.source}});
    return list;
}

}  // namespace

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
            {"attention", model.kernels.attention},
            {"choice", model.kernels.choice},
            {"products", productsJson(model.kernels.products)},
            {"calibration_s", model.kernels.calibrationSeconds}}},
          {"trained_demo", model.isTrainedDemo}}},
    };
}

}  // namespace querylens::cli
