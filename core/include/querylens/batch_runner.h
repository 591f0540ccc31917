#pragma once
// Many images through one model (`querylens batch`, and the window's "Caption a folder..."):
// the images are read and decoded on a thread pool ahead of the model, encoded and captioned
// (or asked about) in batches, and each result is appended to the results file as soon as its
// batch is done. An image that cannot be decoded gets an error line, and the run goes on.

#include "querylens/batch_results.h"
#include "querylens/dataset_inputs.h"
#include "querylens/decoding_options.h"
#include "querylens/image.h"
#include "querylens/shard.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace querylens {

class Model;

// A decoded image, or what went wrong (naming the input and the problem).
struct LoadedImage {
    RgbImage image;
    std::string error;
};

// Decodes an input's bytes (a file's, or a shard member's). Called on the decoding threads,
// several at once: it must be thread-safe. Core decodes no image format itself.
using ImageLoader = std::function<LoadedImage(const DatasetItem& item, const std::string& bytes)>;

enum class BatchTask { Caption, Ask };

struct BatchSettings {
    BatchTask task = BatchTask::Caption;
    std::optional<std::string> prompt;              // caption: the text captions continue (default: the model's)
    std::string question;                           // ask: for inputs without a question of their own
    std::map<std::string, std::string> questions;   // ask: by key (--questions)
    DecodingOptions decoding;
    int batchSize = 8;                              // images encoded and decoded together
    int decodeThreads = 1;                          // threads decoding images ahead of the model
    std::optional<Shard> shard;                     // recorded in every line (merge-results checks it)
    bool tokenProbabilities = false;                // each token's probability and alternatives in the lines
};

// An input the run finished, for progress displays and the window's table.
struct BatchRecord {
    DatasetItem item;
    std::string text;             // empty for an error
    std::string error;            // the message, for an input that failed
    std::string question;         // the question asked (task Ask)
    double milliseconds = 0;      // its share of its batch's encoding and generation
    const RgbImage* image = nullptr;  // the decoded pixels (null for an error); valid during the callback
};

struct BatchProgress {
    std::size_t done = 0;         // inputs finished in this run (results and errors)
    std::size_t total = 0;        // inputs this run has to do
    std::size_t errors = 0;
    double elapsedSeconds = 0;
    double imagesPerSecond = 0;
    double etaSeconds = 0;        // at the rate so far; 0 until the first batch is done
};

struct BatchCallbacks {
    ImageLoader load;
    std::function<void(const BatchRecord&)> onRecord;     // after its line is written
    std::function<void(const BatchProgress&)> onProgress; // after each batch
    std::function<bool()> cancel;  // true: stop now; the inputs in flight are not written
    std::function<bool()> pause;   // true: stop once the batch in flight is written
};

enum class BatchOutcome { Finished, Paused, Cancelled };

struct BatchSummary {
    BatchOutcome outcome = BatchOutcome::Finished;
    BatchProgress progress;
};

// Which inputs a run still has to do: those of its shard that have no line in the results
// file yet (with retryErrors, error lines do not count).
struct BatchPlan {
    std::vector<DatasetItem> todo;
    std::size_t inShard = 0;       // inputs of this shard (all inputs without one)
    std::size_t alreadyDone = 0;   // of which the results file has a line
};
BatchPlan planBatch(const std::vector<DatasetItem>& items, const ResultsContent& existing, const std::optional<Shard>& shard,
                    bool retryErrors);

// Throws Error naming `path` when its lines were made with another model, precision, task,
// caption prompt or decoding settings: one results file holds one run's results.
void checkResumable(const ResultsContent& existing, const std::string& path, const Model& model,
                    const BatchSettings& settings);

// Runs `todo` (in order) and appends a line per input to `log`. Throws Error for settings that
// cannot work (a model that cannot generate, bad decoding options) before anything is written.
BatchSummary runBatch(const Model& model, const std::vector<DatasetItem>& todo, const BatchSettings& settings,
                      ResultsLog& log, const BatchCallbacks& callbacks);

// The questions of a --questions file: JSON Lines of {"key": ..., "question": ...}. Throws
// Error naming the file and line for a malformed line or a key given twice.
std::map<std::string, std::string> readQuestionFile(const std::string& path);

}  // namespace querylens
