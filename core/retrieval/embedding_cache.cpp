#include "io/atomic_file.h"
#include "io/user_folders.h"
#include "querylens/error.h"
#include "querylens/image_search.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace querylens {

namespace fs = std::filesystem;

namespace {

// File layout: 8 bytes of magic, int32 queries, int32 size, then queries x size float32, all
// little-endian (the machines this runs on).
constexpr char kMagic[8] = {'Q', 'L', 'E', 'M', 'B', '\x01', '\0', '\0'};
constexpr std::size_t kHeader = 16;

}  // namespace

EmbeddingCache::EmbeddingCache(std::string folder, std::string modelKey)
    : folder_((fs::path(std::move(folder)) / modelKey).string())
{
}

std::string EmbeddingCache::defaultFolder()
{
    return io::querylensUserPath(io::UserFolder::Cache, "embeddings", "QUERYLENS_CACHE");
}

std::string EmbeddingCache::pathOf(const std::string& contentKey) const
{
    return (fs::path(folder_) / contentKey.substr(0, 2) / (contentKey + ".emb")).string();
}

std::optional<ImageEmbedding> EmbeddingCache::find(const std::string& contentKey) const
{
    std::ifstream in(pathOf(contentKey), std::ios::binary);
    if (!in)
        return std::nullopt;
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    if (bytes.size() < kHeader || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
        return std::nullopt;
    std::int32_t queries = 0, size = 0;
    std::memcpy(&queries, bytes.data() + 8, 4);
    std::memcpy(&size, bytes.data() + 12, 4);
    if (queries <= 0 || size <= 0 || bytes.size() != kHeader + std::size_t(queries) * std::size_t(size) * 4)
        return std::nullopt;  // torn or foreign: encoded again and replaced
    ImageEmbedding e;
    e.queries = queries;
    e.size = size;
    e.values.resize(std::size_t(queries) * std::size_t(size));
    std::memcpy(e.values.data(), bytes.data() + kHeader, e.values.size() * 4);
    return e;
}

void EmbeddingCache::store(const std::string& contentKey, const ImageEmbedding& embedding) const
{
    if (embedding.values.size() != std::size_t(embedding.queries) * std::size_t(embedding.size))
        throw Error("an image embedding whose values do not match its shape");
    const std::string path = pathOf(contentKey);
    std::error_code error;
    fs::create_directories(fs::path(path).parent_path(), error);
    if (error)
        throw Error("cannot create the embedding cache folder: " + error.message(), fs::path(path).parent_path().string());
    std::string bytes(kHeader + embedding.values.size() * 4, '\0');
    std::memcpy(bytes.data(), kMagic, sizeof kMagic);
    const std::int32_t queries = embedding.queries, size = embedding.size;
    std::memcpy(bytes.data() + 8, &queries, 4);
    std::memcpy(bytes.data() + 12, &size, 4);
    std::memcpy(bytes.data() + kHeader, embedding.values.data(), embedding.values.size() * 4);
    io::writeFileAtomically(path, bytes);
}

}  // namespace querylens
