#include "querylens/error.h"
#include "querylens/image_encoding.h"
#include "querylens/image_search.h"
#include "querylens/model.h"

#include <filesystem>
#include <map>
#include <sys/stat.h>

namespace querylens {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kBatch = 8;  // images encoded together

// The one place images become embeddings: a batch through the vision encoder and the
// Q-Former at once (B images x 257 tokens through every matrix product).
std::vector<ImageEmbedding> embedBatch(const Model& model, const std::vector<RgbImage>& images)
{
    std::vector<ImageEmbedding> out;
    for (const auto& encoding : model.encodeBatch(images))
        out.push_back(imageEmbedding(model, *encoding));
    return out;
}

struct FileStamp {
    std::int64_t size = -1;
    std::int64_t modified = 0;  // nanoseconds
};

FileStamp stampOf(const std::string& path)
{
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0)
        return {};
    return {std::int64_t(info.st_size), std::int64_t(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
}

}  // namespace

IndexReport ImageIndex::update(const Model& model, const std::vector<std::string>& paths, const ImageDecoder& decode,
                               const EmbeddingCache& cache, const ProgressCallback& progress)
{
    if (!model.info().canMatch)
        throw Error(capabilitySummary(model.info()));
    IndexReport report;
    std::map<std::string, IndexedImage> previous;
    for (auto& image : images_)
        previous.emplace(image.path, std::move(image));
    images_.clear();

    struct Pending {
        IndexedImage image;
        RgbImage pixels;
    };
    std::vector<Pending> batch;
    std::size_t done = 0;
    auto report_progress = [&](const char* stage) {
        if (progress && !progress(double(done) / double(std::max<std::size_t>(1, paths.size())), stage))
            throw Cancelled();
    };
    auto flush = [&] {
        if (batch.empty())
            return;
        std::vector<RgbImage> pixels;
        for (auto& p : batch)
            pixels.push_back(std::move(p.pixels));
        const std::vector<ImageEmbedding> embeddings = embedBatch(model, pixels);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            batch[i].image.embedding = embeddings[i];
            cache.store(batch[i].image.contentKey, embeddings[i]);
            images_.push_back(std::move(batch[i].image));
            ++report.encoded;
        }
        done += batch.size();
        batch.clear();
    };
    // Cancelled (thrown by report_progress) leaves what was indexed: in memory, and its
    // embeddings on disk.
    {
        for (const std::string& path : paths) {
            report_progress("indexing images");
            const FileStamp stamp = stampOf(path);
            const auto known = previous.find(path);
            if (known != previous.end() && stamp.size == known->second.size && stamp.modified == known->second.modified) {
                images_.push_back(std::move(known->second));
                previous.erase(known);
                ++report.unchanged;
                ++done;
                continue;
            }
            IndexedImage image;
            image.path = path;
            image.size = stamp.size;
            image.modified = stamp.modified;
            try {
                image.contentKey = fileContentKey(path);
                if (auto cached = cache.find(image.contentKey)) {
                    image.embedding = std::move(*cached);
                    images_.push_back(std::move(image));
                    ++report.fromCache;
                    ++done;
                    continue;
                }
                RgbImage pixels = decode(path);
                batch.push_back({std::move(image), std::move(pixels)});
            } catch (const Error& e) {
                ++report.failed;
                ++done;
                report.problems.push_back(e.what());
                continue;
            }
            if (batch.size() == kBatch)
                flush();
        }
        flush();
    }
    report.images = int(images_.size());
    if (progress)
        progress(1.0, "indexing images");
    return report;
}

}  // namespace querylens
