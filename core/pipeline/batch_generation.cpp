#include "querylens/batch_generation.h"

#include "generate/generator.h"
#include "pipeline/model_impl.h"
#include "querylens/error.h"

#include <c10/core/InferenceMode.h>

#include <numeric>

namespace querylens {

std::vector<GenerationResult> generateBatch(const Model& model, const std::vector<BatchPrompt>& prompts,
                                            const DecodingOptions& options, const CancelCheck& cancel)
{
    c10::InferenceMode inference;
    const Model::Impl& impl = model.impl();
    if (!model.info().canGenerate)
        throw Error(capabilitySummary(model.info()));
    const model::LanguageModel& lm = impl.blip2->languageModel();
    const std::unique_ptr<model::LanguageModelState> state = lm.newState();

    generate::BatchContext context;
    context.model = &lm;
    context.state = state.get();
    context.tokenizer = impl.tokenizer.get();
    context.eosIds = impl.eosIds;
    context.padId = impl.padId;
    context.historyPrefix = impl.historyPrefix;
    context.cancelRequested = cancel;
    for (const BatchPrompt& prompt : prompts) {
        if (!prompt.image)
            throw Error("a batch prompt has no image: encode one first");
        generate::BatchInput input;
        input.queries = prompt.image->tensors().softPrompt;  // [1, Q, hidden]
        input.queryIndices.resize(std::size_t(prompt.image->queryCount()));
        std::iota(input.queryIndices.begin(), input.queryIndices.end(), 0);
        input.promptIds = impl.tokenizer->encode(prompt.prompt, true);
        context.inputs.push_back(std::move(input));
    }
    return generate::generateBatch(context, options);
}

}  // namespace querylens
