#pragma once
// Data parallelism for a training step whose rows are independent: the batch is cut into one
// contiguous shard per core, and each shard runs forward and backward on a thread of its own,
// adding its gradients into the shared parameters (libtorch's gradient accumulation is
// thread-safe). For models so small that a step is mostly the dispatch of hundreds of small
// operations, which libtorch's intra-op threads do not spread, this is what uses the cores.

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace querylens::train {

using ShardLosses = std::map<std::string, at::Tensor>;

// Shard `index` of a batch: its rows [first, first + count).
struct Shard {
    int index = 0;
    std::int64_t first = 0, count = 0;
};

// How many shards `rows` rows are cut into when `shards` are asked for (at least one row each).
int shardCount(int shards, std::int64_t rows);

// Calls work(shard) for each shard of `rows`, shard 0 on the calling thread and the others on
// threads of their own, each with torch kept to its thread. The first shard's exception, if
// any, is rethrown after all have ended.
void inShards(int shards, std::int64_t rows, const std::function<void(const Shard&)>& work);

// inShards, backpropagating each shard's "total" on its thread. For the shards' gradients to add
// up to the batch's, each shard's losses must be its share of the batch's (a mean over the
// batch's rows or tokens, not over the shard's). Returns every loss summed over the shards,
// detached.
ShardLosses backwardInShards(int shards, std::int64_t rows, const std::function<ShardLosses(const Shard&)>& lossesOf);

// Keeps libtorch's own parallelism to the calling thread while alive (then restores it): while
// shards run, an idle OpenMP team spinning for more work would take the cores they need.
class OneTorchThread {
public:
    OneTorchThread();
    ~OneTorchThread();
    OneTorchThread(const OneTorchThread&) = delete;
    OneTorchThread& operator=(const OneTorchThread&) = delete;
    int threadsBefore() const { return threads_; }

private:
    int threads_;
};

}  // namespace querylens::train
