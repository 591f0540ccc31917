#include "io/atomic_file.h"
#include "querylens/batch_results.h"
#include "querylens/error.h"

#include <algorithm>
#include <map>
#include <set>

namespace querylens {

bool MergeReport::complete() const
{
    return duplicateKeys.empty() && missingKeys.empty() && missingShards.empty();
}

MergeReport mergeResults(const std::vector<std::string>& inputs, const std::string& output,
                         const std::vector<std::string>* expectedKeys)
{
    MergeReport report;
    struct Kept {
        ResultLine line;
        std::size_t order = 0;
    };
    std::map<std::string, Kept> byKey;
    std::set<std::string> duplicates;
    std::map<int, std::size_t> linesPerShard;
    std::set<int> shardCounts;
    std::size_t order = 0;
    for (const std::string& input : inputs) {
        const ResultsContent content = readResults(input);
        for (const auto& problem : content.problems)
            report.problems.push_back(input + ": " + problem);
        if (content.tornEnd)
            report.problems.push_back(input + ": ends inside a line (a run stopped while writing it; resume it to redo that input)");
        for (const ResultLine& line : content.lines) {
            if (line.shard) {
                shardCounts.insert(line.shard->count);
                ++linesPerShard[line.shard->index];
            }
            auto it = byKey.find(line.key);
            if (it == byKey.end()) {
                byKey.emplace(line.key, Kept{line, order++});
            } else if (it->second.line.error) {
                it->second.line = line;  // a retry after an error line
            } else if (!line.error && duplicates.insert(line.key).second) {
                report.duplicateKeys.push_back(line.key);
            }
        }
    }
    if (shardCounts.size() > 1) {
        std::string counts;
        for (int count : shardCounts)
            counts += (counts.empty() ? "" : ", ") + std::to_string(count);
        report.problems.push_back("the lines come from runs with different shard counts (" + counts + ")");
    }
    report.shardCount = shardCounts.empty() ? 0 : *shardCounts.rbegin();

    std::vector<const ResultLine*> ordered;
    if (expectedKeys) {
        std::set<std::string> expected(expectedKeys->begin(), expectedKeys->end());
        std::map<int, std::pair<std::size_t, std::size_t>> perShard;  // expected, missing
        for (const std::string& key : *expectedKeys) {
            const auto it = byKey.find(key);
            const int shard = shardOfKey(key, std::max(report.shardCount, 1));
            ++perShard[shard].first;
            if (it == byKey.end()) {
                report.missingKeys.push_back(key);
                ++perShard[shard].second;
            } else {
                ordered.push_back(&it->second.line);
            }
        }
        if (report.shardCount > 1)
            for (const auto& [shard, counts] : perShard)
                if (counts.second == counts.first)
                    report.missingShards.push_back(shard);
        std::vector<std::pair<std::size_t, const ResultLine*>> extra;
        for (const auto& [key, kept] : byKey)
            if (!expected.count(key)) {
                report.unexpectedKeys.push_back(key);
                extra.emplace_back(kept.order, &kept.line);
            }
        std::sort(extra.begin(), extra.end());
        for (const auto& e : extra)
            ordered.push_back(e.second);
    } else {
        std::vector<std::pair<std::size_t, const ResultLine*>> all;
        for (const auto& [key, kept] : byKey)
            all.emplace_back(kept.order, &kept.line);
        std::sort(all.begin(), all.end());
        for (const auto& e : all)
            ordered.push_back(e.second);
        for (int shard = 0; shard < report.shardCount; ++shard)
            if (!linesPerShard.count(shard))
                report.missingShards.push_back(shard);
    }

    std::string merged;
    for (const ResultLine* line : ordered) {
        merged += line->json;
        merged += '\n';
        report.errorLines += line->error ? 1 : 0;
    }
    report.written = ordered.size();
    io::writeFileAtomically(output, merged);
    return report;
}

}  // namespace querylens
