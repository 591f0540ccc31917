#pragma once
// Reads and decodes a batch's images ahead of the model: one thread reads the inputs in order
// (files, or a tar shard's members as they stream by), a pool of threads decodes them with the
// caller's loader, and the model takes them in input order. At most `ahead` images are read or
// held at a time, so memory stays bounded however large the dataset.

#include "querylens/batch_runner.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace querylens::batch {

struct PrefetchedImage {
    DatasetItem item;
    LoadedImage loaded;     // pixels, or the error that names the input and the problem
    double loadMs = 0;      // reading and decoding it
};

class ImagePrefetcher {
public:
    ImagePrefetcher(std::vector<DatasetItem> items, ImageLoader load, int threads, std::size_t ahead);
    ~ImagePrefetcher();
    ImagePrefetcher(const ImagePrefetcher&) = delete;
    ImagePrefetcher& operator=(const ImagePrefetcher&) = delete;

    // The next input in order (waits until it is decoded); nullopt after the last.
    std::optional<PrefetchedImage> next();

private:
    struct Job {
        std::size_t index = 0;
        std::string bytes;
        double readMs = 0;
    };
    void readAll();
    void decodeJobs();
    void finish(std::size_t index, PrefetchedImage image);

    std::vector<DatasetItem> items_;
    ImageLoader load_;
    std::size_t ahead_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Job> jobs_;                           // read, waiting for a decoder
    std::map<std::size_t, PrefetchedImage> ready_;   // decoded, waiting for the model
    std::size_t taken_ = 0;                          // inputs handed to the model
    bool readingDone_ = false;
    bool stopping_ = false;

    std::thread reader_;
    std::vector<std::thread> decoders_;
};

}  // namespace querylens::batch
