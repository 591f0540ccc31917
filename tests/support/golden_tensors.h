#pragma once
// Golden tensors as ATen tensors, for the suites that run the model math (header-only, so the
// support library itself stays free of torch).

#include "fixtures.h"

#include "model/language_model.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace testsupport {

inline at::Tensor goldenTensor(const std::string& config, const std::string& name)
{
    std::vector<float> values = goldenFloats(config, name);
    return at::tensor(values).view(goldenShape(config, name));
}

inline std::vector<float> floats(const at::Tensor& t)
{
    const at::Tensor c = t.to(at::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

inline std::vector<int> goldenIdList(const std::string& config, const std::string& name)
{
    const auto wide = goldenInts(config, name);
    return std::vector<int>(wide.begin(), wide.end());
}

// Greedy decoding straight on the language model: exactly `count` new tokens (the fixtures' 20).
inline std::vector<int> greedyIds(const querylens::model::LanguageModel& lm, const at::Tensor& queries,
                                  const std::vector<int>& prompt, int count)
{
    auto state = lm.newState();
    querylens::model::StepOutput out = lm.prefill(*state, queries, prompt);
    std::vector<int> generated;
    for (int i = 0; i < count; ++i) {
        const auto next = out.logits.argmax(-1);
        generated.push_back(int(next.item<std::int64_t>()));
        if (i + 1 < count)
            out = lm.step(*state, next);
    }
    return generated;
}

}  // namespace testsupport
