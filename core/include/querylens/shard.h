#pragma once
// One of N shards of a dataset, for spreading a batch over the tasks of a cluster job: an input
// belongs to shard (stable hash of its key) mod N. The hash depends only on the key, so an
// input stays in its shard when other files are added or removed, on every machine and run.

#include <cstdint>
#include <optional>
#include <string>

namespace querylens {

struct Shard {
    int index = 0;  // 0 .. count-1
    int count = 1;

    bool contains(const std::string& key) const;
    std::string text() const;  // "I/N"
};

// "I/N" with 0 <= I < N; nullopt for anything else.
std::optional<Shard> parseShard(const std::string& text);

// 64-bit FNV-1a of the key's bytes, then the splitmix64 finaliser (FNV's low bits alone are
// poorly spread for keys that differ only at the end, such as numbered files).
std::uint64_t stableKeyHash(const std::string& key);
int shardOfKey(const std::string& key, int count);

}  // namespace querylens
