#pragma once
// Search a folder of images by text with an image-text matching model (BLIP-2's retrieval
// recipe): every image's ITC embeddings (one unit vector per query) are computed once and kept
// in a cache on disk keyed by the file's content and the model; a text is ranked against them
// all by ITC (the best query's cosine), the best few are re-ranked by ITM (the Q-Former reading
// image and text together), and each hit gets its localisation map. Decoding image files is
// the caller's business (core has no image codecs): it passes a decoder.

#include "querylens/image.h"
#include "querylens/matching.h"
#include "querylens/progress.h"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace querylens {

class Model;

// Decodes one image file; throws Error naming the file when it cannot.
using ImageDecoder = std::function<RgbImage(const std::string& path)>;

// SHA-256 of a file's bytes, as 64 hex digits. Throws Error naming the file.
std::string fileContentKey(const std::string& path);
// What identifies a loaded model's embeddings: SHA-256 over config.json and the preprocessing
// files, every weight's name, dtype, shape and first 4 KiB of values (a fine-tune of the same
// shapes differs there), the content-addressed blob names when the files are links into the
// Hugging Face cache, and the precision. 64 hex digits.
std::string modelFingerprint(const Model& model);

// Image embeddings on disk: <folder>/<model fingerprint>/<first two hex digits>/<content key>.emb,
// each written atomically; a file that is torn or of another shape is treated as missing.
class EmbeddingCache {
public:
    EmbeddingCache(std::string folder, std::string modelKey);
    // $QUERYLENS_CACHE, else $XDG_CACHE_HOME/querylens/embeddings, else ~/.cache/querylens/embeddings.
    static std::string defaultFolder();

    std::optional<ImageEmbedding> find(const std::string& contentKey) const;
    // Throws Error naming the file when it cannot be written.
    void store(const std::string& contentKey, const ImageEmbedding& embedding) const;
    std::string pathOf(const std::string& contentKey) const;
    const std::string& folder() const { return folder_; }

private:
    std::string folder_;
};

struct IndexedImage {
    std::string path;
    std::string contentKey;
    std::int64_t size = 0;           // bytes, and the modification time, to notice changed files
    std::int64_t modified = 0;
    ImageEmbedding embedding;
};

struct IndexReport {
    int images = 0;         // in the index after the update
    int unchanged = 0;      // already indexed, file unchanged
    int fromCache = 0;      // embeddings read from the cache
    int encoded = 0;        // run through the model
    int failed = 0;         // could not be read or decoded
    std::vector<std::string> problems;  // one message per failed file
};

class ImageIndex {
public:
    // Brings the index to `paths`: files already indexed and unchanged are kept, the others
    // come from the cache or are encoded (a batch at a time) and stored in it; files no longer
    // listed leave the index. Cancelled (from `progress`) keeps everything done so far, in
    // memory and on disk. Throws Error for a model that cannot match.
    IndexReport update(const Model& model, const std::vector<std::string>& paths, const ImageDecoder& decode,
                       const EmbeddingCache& cache, const ProgressCallback& progress = {});
    const std::vector<IndexedImage>& images() const { return images_; }
    void clear() { images_.clear(); }

private:
    std::vector<IndexedImage> images_;
};

struct SearchOptions {
    int top = 10;        // hits returned
    int rerank = 10;     // how many of the best by ITC are re-ranked by ITM (0: none)
    bool maps = true;    // a localisation map for each returned hit
};

struct SearchHit {
    std::string path;
    double itcSimilarity = 0;
    int bestQuery = 0;
    int itcRank = 0;                    // its place in the ITC ranking (0 = first)
    bool reranked = false;              // ITM scores below are set
    std::array<float, 2> itmLogits{};
    double itmProbability = 0;
    std::vector<float> map;             // [grid * grid]: the phrase's localisation map, when asked
    int gridSize = 0;
};

struct SearchResult {
    std::string text;
    std::vector<int> inputIds;
    int searched = 0;                   // images ranked
    std::vector<SearchHit> hits;        // best first: the re-ranked ones by ITM, then the rest by ITC
    std::vector<std::string> problems;  // hits whose image could no longer be read
};

// Throws Error for a model that cannot match; Cancelled from `progress`.
SearchResult searchImages(const Model& model, const ImageIndex& index, const std::string& text,
                          const SearchOptions& options, const ImageDecoder& decode, const ProgressCallback& progress = {});

}  // namespace querylens
