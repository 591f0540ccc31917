#include "train/sharded_backward.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace querylens::train {

int shardCount(int shards, std::int64_t rows)
{
    return int(std::max<std::int64_t>(1, std::min<std::int64_t>(shards, rows)));
}

void inShards(int shards, std::int64_t rows, const std::function<void(const Shard&)>& work)
{
    shards = shardCount(shards, rows);
    std::vector<std::exception_ptr> failures(static_cast<std::size_t>(shards));
    auto run = [&](int index) {
        try {
            at::set_num_threads(1);  // a new thread's torch (and OpenBLAS) would start with every core
            const std::int64_t first = rows * index / shards;
            work(Shard{index, first, rows * (index + 1) / shards - first});
        } catch (...) {
            failures[std::size_t(index)] = std::current_exception();
        }
    };
    std::vector<std::thread> workers;
    for (int index = 1; index < shards; ++index)
        workers.emplace_back(run, index);
    run(0);
    for (std::thread& worker : workers)
        worker.join();
    for (const std::exception_ptr& failure : failures)
        if (failure)
            std::rethrow_exception(failure);
}

ShardLosses backwardInShards(int shards, std::int64_t rows, const std::function<ShardLosses(const Shard&)>& lossesOf)
{
    std::vector<ShardLosses> losses(static_cast<std::size_t>(shardCount(shards, rows)));
    inShards(shards, rows, [&](const Shard& shard) {
        ShardLosses shardLosses = lossesOf(shard);
        shardLosses.at("total").backward();
        for (auto& [name, value] : shardLosses)
            value = value.detach();
        losses[std::size_t(shard.index)] = std::move(shardLosses);
    });

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
