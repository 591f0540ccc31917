#include "batch/image_prefetcher.h"

#include "batch/tar_archive.h"
#include "querylens/error.h"

#include <chrono>
#include <fstream>
#include <memory>
#include <set>

namespace querylens::batch {

namespace {

// No image file needs more; a larger one is a mistake (a video, a disk image) and would only
// exhaust memory.
constexpr std::int64_t kLargestImageBytes = std::int64_t(1) << 30;

using Clock = std::chrono::steady_clock;

double millisecondsSince(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot be opened (missing, or not readable)", path);
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size > kLargestImageBytes)
        throw Error("is " + std::to_string(size >> 20) + " MB, more than an image may be", path);
    in.seekg(0);
    std::string data(std::size_t(std::max<std::streamoff>(size, 0)), '\0');
    in.read(data.data(), std::streamsize(data.size()));
    if (!in)
        throw Error("cannot be read", path);
    return data;
}

// Members of one shard in the order they come: inputs from a shard are in member order, so the
// archive is read once, front to back.
class ShardCursor {
public:
    std::string read(const DatasetItem& item)
    {
        if (!reader_ || reader_->path() != item.path || passed_.count(item.member)) {
            reader_ = std::make_unique<TarReader>(item.path);
            passed_.clear();
        }
        while (reader_->next()) {
            passed_.insert(reader_->name());
            if (reader_->name() == item.member)
                return reader_->read(kLargestImageBytes);
        }
        reader_.reset();
        throw Error("member " + item.member + " is no longer in the shard (it changed after it was listed)", item.path);
    }

private:
    std::unique_ptr<TarReader> reader_;
    std::set<std::string> passed_;
};

}  // namespace

ImagePrefetcher::ImagePrefetcher(std::vector<DatasetItem> items, ImageLoader load, int threads, std::size_t ahead)
    : items_(std::move(items)), load_(std::move(load)), ahead_(std::max<std::size_t>(ahead, 1))
{
    reader_ = std::thread([this] { readAll(); });
    for (int i = 0; i < std::max(threads, 1); ++i)
        decoders_.emplace_back([this] { decodeJobs(); });
}

ImagePrefetcher::~ImagePrefetcher()
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    reader_.join();
    for (auto& decoder : decoders_)
        decoder.join();
}

void ImagePrefetcher::readAll()
{
    ShardCursor shard;
    for (std::size_t index = 0; index < items_.size(); ++index) {
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return stopping_ || index < taken_ + ahead_; });
            if (stopping_)
                break;
        }
        const DatasetItem& item = items_[index];
        const auto start = Clock::now();
        Job job{index, {}, 0};
        try {
            job.bytes = item.inShard() ? shard.read(item) : readFile(item.path);
        } catch (const std::exception& e) {
            PrefetchedImage failed{item, {}, millisecondsSince(start)};
            failed.loaded.error = e.what();
            finish(index, std::move(failed));
            continue;
        }
        job.readMs = millisecondsSince(start);
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
        }
        changed_.notify_all();
    }
    {
        std::lock_guard lock(mutex_);
        readingDone_ = true;
    }
    changed_.notify_all();
}

void ImagePrefetcher::decodeJobs()
{
    while (true) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return stopping_ || !jobs_.empty() || readingDone_; });
            if (stopping_ || (jobs_.empty() && readingDone_))
                return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        const DatasetItem& item = items_[job.index];
        const auto start = Clock::now();
        PrefetchedImage image{item, {}, 0};
        try {
            image.loaded = load_(item, job.bytes);
        } catch (const std::exception& e) {
            image.loaded.error = item.key + ": " + e.what();
        } catch (...) {
            image.loaded.error = item.key + ": the image decoder failed";
        }
        if (image.loaded.error.empty() && image.loaded.image.empty())
            image.loaded.error = item.key + ": holds no image";
        image.loadMs = job.readMs + millisecondsSince(start);
        finish(job.index, std::move(image));
    }
}

void ImagePrefetcher::finish(std::size_t index, PrefetchedImage image)
{
    {
        std::lock_guard lock(mutex_);
        ready_.emplace(index, std::move(image));
    }
    changed_.notify_all();
}

std::optional<PrefetchedImage> ImagePrefetcher::next()
{
    std::unique_lock lock(mutex_);
    if (taken_ >= items_.size())
        return std::nullopt;
    changed_.wait(lock, [&] { return ready_.count(taken_) > 0; });
    PrefetchedImage image = std::move(ready_.at(taken_));
    ready_.erase(taken_);
    ++taken_;
    lock.unlock();
    changed_.notify_all();
    return image;
}

}  // namespace querylens::batch
