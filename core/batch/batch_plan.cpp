#include "querylens/batch_runner.h"

#include <map>

namespace querylens {

BatchPlan planBatch(const std::vector<DatasetItem>& items, const ResultsContent& existing, const std::optional<Shard>& shard,
                    bool retryErrors)
{
    // A key is done when its last line is a result (or any line, unless errors are retried).
    std::map<std::string, bool> lastIsError;
    for (const ResultLine& line : existing.lines) {
        auto [it, added] = lastIsError.emplace(line.key, line.error);
        if (!added && it->second)
            it->second = line.error;
    }
    BatchPlan plan;
    for (const DatasetItem& item : items) {
        if (shard && !shard->contains(item.key))
            continue;
        ++plan.inShard;
        const auto it = lastIsError.find(item.key);
        if (it != lastIsError.end() && !(retryErrors && it->second))
            ++plan.alreadyDone;
        else
            plan.todo.push_back(item);
    }
    return plan;
}

}  // namespace querylens
