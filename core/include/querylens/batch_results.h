#pragma once
// The results file of a batch: JSON Lines, one line per input, only ever appended to. A run
// killed mid-write leaves at most a torn last line, which the next run detects and cuts off
// (complete lines are never changed); then it skips the inputs already there.

#include "querylens/shard.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace querylens {

// One complete line of a results file, as far as resuming and merging need it.
struct ResultLine {
    std::string key;
    bool error = false;            // an error line ("error": the message), not a result
    std::optional<Shard> shard;    // "shard": {"index", "count"} when the run had --shard
    std::string json;              // the line, without its newline
    std::size_t lineNumber = 0;    // 1-based
};

struct ResultsContent {
    std::vector<ResultLine> lines;       // complete lines that hold a JSON object with a "key", in file order
    std::vector<std::string> problems;   // complete lines that do not ("line 7: not a JSON object with a key")
    bool tornEnd = false;                // the file ends inside a line (a run killed mid-write)
    std::uint64_t completeBytes = 0;     // bytes up to the end of the last complete line
};

// Reads a results file; a missing file is empty. Throws Error naming the file when it cannot be read.
ResultsContent readResults(const std::string& path);

// Appends lines to a results file: each line goes out in one write() (a kill leaves whole lines
// or one torn last line), and sync() makes them durable (fdatasync).
class ResultsLog {
public:
    // Opens (creating) `path` for appending. A torn last line is cut off first (ResultsContent
    // says so in tornEnd); complete lines are never touched. Throws Error naming the file.
    explicit ResultsLog(const std::string& path);
    ~ResultsLog();
    ResultsLog(const ResultsLog&) = delete;
    ResultsLog& operator=(const ResultsLog&) = delete;

    // What the file held when it was opened (after cutting a torn line).
    const ResultsContent& existing() const { return existing_; }
    // Appends one line (a newline is added). Throws Error naming the file (disk full, ...).
    void append(const std::string& json);
    void sync();
    const std::string& path() const { return path_; }

private:
    std::string path_;
    int fd_ = -1;
    ResultsContent existing_;
};

// What merge-results found.
struct MergeReport {
    std::size_t written = 0;                 // lines in the merged file (one per key)
    std::size_t errorLines = 0;              // of which error lines
    std::vector<std::string> duplicateKeys;  // keys with more than one result (the first one is kept)
    std::vector<std::string> missingKeys;    // expected inputs without a line (when the inputs were given)
    std::vector<std::string> unexpectedKeys; // lines for keys that are not among the inputs given
    int shardCount = 0;                      // N of the shards the lines came from (0: no shards)
    // Shards with no line at all. Without the inputs, a shard that had no inputs looks the same;
    // with them, only shards whose every input is missing count.
    std::vector<int> missingShards;
    std::vector<std::string> problems;       // torn or unreadable lines, shard counts that disagree
    bool complete() const;                   // every input once, no duplicates, no missing shard
};

// Merges results files into `output` (written atomically): one line per key, in the order of
// `expectedKeys` when given (else of first appearance). A later result replaces an earlier error
// line for the same key (a --retry-errors run); two results for one key are a duplicate.
// `expectedKeys` (optional) are every input's key, to find the missing ones. Throws Error
// naming a file that cannot be read or written.
MergeReport mergeResults(const std::vector<std::string>& inputs, const std::string& output,
                         const std::vector<std::string>* expectedKeys = nullptr);

}  // namespace querylens
