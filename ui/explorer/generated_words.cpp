// Words of generated text, and word-level differences, for the explorer.

#include "explorer/explorer_panel.h"
#include "querylens/word_maps.h"

#include <numeric>

namespace querylens::ui {

std::vector<GeneratedWord> wordsOf(const GeneratedSequence& sequence)
{
    // Core's rule (querylens/word_maps.h), so that the window and `explain-words` agree on words.
    std::vector<GeneratedWord> words;
    for (const GeneratedWordSpan& span : generatedWords(sequence))
        words.push_back({QString::fromStdString(span.text), span.tokens});
    return words;
}

std::vector<int> inputQueries(const GenerationResult& result, int queryCount)
{
    if (!result.queryIndices.empty())
        return result.queryIndices;
    std::vector<int> all(std::size_t(std::max(0, queryCount)));
    std::iota(all.begin(), all.end(), 0);
    return all;
}

std::vector<float> wordQueryWeights(const GeneratedSequence& sequence, const GeneratedWord& word, std::size_t inputQueries)
{
    std::vector<float> weights(inputQueries, 0.0f);
    int counted = 0;
    for (int t : word.tokens) {
        const auto& attention = sequence.tokens.at(std::size_t(t)).queryAttention;
        if (attention.size() != inputQueries)
            continue;
        for (std::size_t i = 0; i < inputQueries; ++i)
            weights[i] += attention[i];
        ++counted;
    }
    for (float& w : weights)
        w /= float(std::max(1, counted));
    return weights;
}

std::vector<bool> changedWords(const QStringList& before, const QStringList& after)
{
    // Longest common subsequence: words of `after` outside it are the changes.
    const int n = int(before.size()), m = int(after.size());
    std::vector<std::vector<int>> lcs(std::size_t(n + 1), std::vector<int>(std::size_t(m + 1), 0));
    for (int i = n - 1; i >= 0; --i)
        for (int j = m - 1; j >= 0; --j)
            lcs[i][j] = before[i] == after[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    std::vector<bool> changed(std::size_t(m), true);
    for (int i = 0, j = 0; i < n && j < m;) {
        if (before[i] == after[j]) {
            changed[std::size_t(j)] = false;
            ++i;
            ++j;
        } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
            ++i;
        } else {
            ++j;
        }
    }
    return changed;
}

}  // namespace querylens::ui
