#include "querylens/shard.h"

#include <cctype>

namespace querylens {

std::uint64_t stableKeyHash(const std::string& key)
{
    std::uint64_t hash = 14695981039346656037ull;  // FNV-1a offset basis
    for (unsigned char c : key) {
        hash ^= c;
        hash *= 1099511628211ull;  // FNV prime
    }
    hash ^= hash >> 30;
    hash *= 0xbf58476d1ce4e5b9ull;
    hash ^= hash >> 27;
    hash *= 0x94d049bb133111ebull;
    hash ^= hash >> 31;
    return hash;
}

int shardOfKey(const std::string& key, int count)
{
    return count <= 1 ? 0 : int(stableKeyHash(key) % std::uint64_t(count));
}

bool Shard::contains(const std::string& key) const { return shardOfKey(key, count) == index; }

std::string Shard::text() const { return std::to_string(index) + "/" + std::to_string(count); }

std::optional<Shard> parseShard(const std::string& text)
{
    const auto slash = text.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == text.size())
        return std::nullopt;
    auto number = [](const std::string& digits) -> std::optional<long> {
        if (digits.empty() || digits.size() > 9)
            return std::nullopt;
        for (char c : digits)
            if (!std::isdigit(static_cast<unsigned char>(c)))
                return std::nullopt;
        return std::stol(digits);
    };
    const auto index = number(text.substr(0, slash));
    const auto count = number(text.substr(slash + 1));
    if (!index || !count || *count < 1 || *index >= *count)
        return std::nullopt;
    return Shard{int(*index), int(*count)};
}

}  // namespace querylens
