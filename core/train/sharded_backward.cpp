#include "train/sharded_backward.h"

#include <ATen/Parallel.h>

#include <exception>
#include <thread>
#include <vector>

namespace querylens::train {

ShardLosses backwardInShards(int shards, std::int64_t rows,
                             const std::function<ShardLosses(std::int64_t first, std::int64_t count)>& lossesOf)
{
    shards = int(std::max<std::int64_t>(1, std::min<std::int64_t>(shards, rows)));
    std::vector<ShardLosses> losses(static_cast<std::size_t>(shards));
    std::vector<std::exception_ptr> failures(static_cast<std::size_t>(shards));
    auto run = [&](int shard) {
        try {
            at::set_num_threads(1);  // a new thread's torch (and OpenBLAS) would start with every core
            const std::int64_t first = rows * shard / shards, count = rows * (shard + 1) / shards - first;
            ShardLosses shardLosses = lossesOf(first, count);
            shardLosses.at("total").backward();
            for (auto& [name, value] : shardLosses)
                value = value.detach();
            losses[std::size_t(shard)] = std::move(shardLosses);
        } catch (...) {
            failures[std::size_t(shard)] = std::current_exception();
        }
    };
    std::vector<std::thread> workers;
    for (int shard = 1; shard < shards; ++shard)
        workers.emplace_back(run, shard);
    run(0);
    for (std::thread& worker : workers)
        worker.join();
    for (const std::exception_ptr& failure : failures)
        if (failure)
            std::rethrow_exception(failure);

    // With two shards each gradient is one addition, the same whichever shard finished first.
    ShardLosses sum = losses.front();
    for (std::size_t shard = 1; shard < losses.size(); ++shard)
        for (auto& [name, value] : sum)
            value = value + losses[shard].at(name);
    return sum;
}

OneTorchThread::OneTorchThread() : threads_(at::get_num_threads()) { at::set_num_threads(1); }

OneTorchThread::~OneTorchThread() { at::set_num_threads(threads_); }

}  // namespace querylens::train
