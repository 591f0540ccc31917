#include "generate/logits_processors.h"

#include <algorithm>
#include <limits>
#include <map>

namespace querylens::generate {

namespace {
constexpr float kMinusInfinity = -std::numeric_limits<float>::infinity();
}

void applyRepetitionPenalty(at::Tensor& scores, const Histories& histories, double penalty)
{
    if (penalty == 1.0)
        return;
    for (std::size_t r = 0; r < histories.size(); ++r) {
        if (histories[r].empty())
            continue;
        at::Tensor row = scores[std::int64_t(r)];
        const at::Tensor ids = at::tensor(std::vector<std::int64_t>(histories[r].begin(), histories[r].end()), at::kLong)
                                   .to(scores.device());
        const at::Tensor picked = row.gather(0, ids);
        row.scatter_(0, ids, at::where(picked < 0, picked * penalty, picked / penalty));
    }
}

void applyNoRepeatNgram(at::Tensor& scores, const Histories& histories, int n)
{
    if (n <= 0)
        return;
    for (std::size_t r = 0; r < histories.size(); ++r) {
        const auto& ids = histories[r];
        if (ids.size() + 1 < std::size_t(n))
            continue;
        // The last n-1 tokens; every earlier n-gram that starts with them bans its last token.
        const std::size_t start = ids.size() + 1 - std::size_t(n);
        at::Tensor row = scores[std::int64_t(r)];
        for (std::size_t i = 0; i + std::size_t(n) <= ids.size(); ++i) {
            if (std::equal(ids.begin() + std::ptrdiff_t(i), ids.begin() + std::ptrdiff_t(i) + n - 1,
                           ids.begin() + std::ptrdiff_t(start)))
                row[ids[i + std::size_t(n) - 1]] = kMinusInfinity;
        }
    }
}

void applyMinNewTokens(at::Tensor& scores, int generated, int minNewTokens, const std::vector<int>& eosIds)
{
    if (generated >= minNewTokens)
        return;
    for (int eos : eosIds)
        if (eos >= 0 && eos < scores.size(1))
            scores.select(1, eos).fill_(kMinusInfinity);
}

void applyTemperature(at::Tensor& scores, double temperature)
{
    if (temperature != 1.0)
        scores.div_(temperature);
}

void applyTopK(at::Tensor& scores, int topK, int minTokensToKeep)
{
    if (topK <= 0)
        return;
    const std::int64_t k = std::min<std::int64_t>(std::max(topK, minTokensToKeep), scores.size(-1));
    const at::Tensor kth = std::get<0>(scores.topk(k, -1)).narrow(-1, k - 1, 1);  // [B, 1]
    scores.masked_fill_(scores < kth, kMinusInfinity);
}

void applyTopP(at::Tensor& scores, double topP, int minTokensToKeep)
{
    if (topP >= 1.0)
        return;
    // Ascending order, as Hugging Face: drop the low tail whose total mass is at most 1 - top_p.
    const auto [sorted, order] = scores.sort(-1, /*descending=*/false);
    const at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
    at::Tensor removeSorted = cumulative <= (1.0 - topP);
    removeSorted.narrow(-1, removeSorted.size(-1) - minTokensToKeep, minTokensToKeep).fill_(false);
    const at::Tensor remove = removeSorted.scatter(-1, order, removeSorted);
    scores.masked_fill_(remove, kMinusInfinity);
}

}  // namespace querylens::generate
