#include "generate/token_report.h"

#include <algorithm>

namespace querylens::generate {

GeneratedToken describeToken(int id, const at::Tensor& logits, const at::Tensor& queryAttention,
                             const text::Tokenizer& tokenizer, int alternatives)
{
    GeneratedToken token;
    token.id = id;
    token.text = tokenizer.tokenText(id);
    const at::Tensor probs = logits.to(at::kCPU, at::kFloat).softmax(-1).contiguous();
    token.probability = probs.data_ptr<float>()[id];
    const std::int64_t k = std::min<std::int64_t>(std::max(alternatives, 0), probs.size(0));
    if (k > 0) {
        const auto [values, indices] = probs.topk(k);
        for (std::int64_t i = 0; i < k; ++i) {
            const int alternative = int(indices[i].item<std::int64_t>());
            token.alternatives.push_back({alternative, tokenizer.tokenText(alternative), values[i].item<float>()});
        }
    }
    if (queryAttention.defined()) {
        const at::Tensor attention = queryAttention.to(at::kCPU, at::kFloat).contiguous();
        token.queryAttention.assign(attention.data_ptr<float>(), attention.data_ptr<float>() + attention.numel());
    }
    return token;
}

}  // namespace querylens::generate
