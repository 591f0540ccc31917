#pragma once
// The Hub's HTTP protocol as small pure functions: headers, Content-Range, Link pagination,
// Retry-After, tree listings, error codes, paths and percent-encoding. Every server answer is
// treated as hostile: sizes are bounded, paths checked, numbers parsed strictly. Unit-tested
// (tests/hub/test_hub_protocol.cpp) and ready for fuzzing.

#include "querylens/hub.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace querylens::hub::protocol {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;     // all header lines of one response
constexpr std::size_t kMaxHeaderCount = 200;
constexpr std::size_t kMaxJsonBytes = 32 * 1024 * 1024;  // one API answer (a tree page, an index)
constexpr std::size_t kMaxErrorBodyBytes = 64 * 1024;
constexpr std::size_t kMaxTreePages = 1000;
constexpr std::size_t kMaxTreeEntries = 200000;
constexpr std::uint64_t kMaxSafetensorsHeader = 25'000'000;  // huggingface_hub's SAFETENSORS_MAX_HEADER_LENGTH

// The headers of one response, in order; names compare case-insensitively.
class Headers {
public:
    // One raw line as libcurl hands it ("Name: value\r\n"). A status line ("HTTP/1.1 302 ...")
    // starts a new response (after a 100 Continue). Returns false when the bounds are exceeded.
    bool addLine(std::string_view line);
    std::optional<std::string> get(std::string_view name) const;
    std::size_t bytes() const { return bytes_; }
    const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

private:
    std::vector<std::pair<std::string, std::string>> entries_;
    std::size_t bytes_ = 0;
};

// A decimal number of at most 19 digits, nothing else (no sign, no spaces inside).
std::optional<std::uint64_t> parseUnsigned(std::string_view text);

// ETag as huggingface_hub keeps it: without a weak "W/" prefix and without quotes.
std::string normalizeEtag(std::string_view etag);
// An etag that can name a blob file: 1..128 ASCII letters and digits.
bool isBlobName(std::string_view etag);

struct ContentRange {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::optional<std::uint64_t> total;  // nullopt for "*"
};
// "bytes 100-199/1000" or "bytes 100-199/*".
std::optional<ContentRange> parseContentRange(std::string_view value);

// The target of the rel="next" link in a Link header, or nullopt.
std::optional<std::string> nextPageLink(std::string_view link);

// Retry-After in seconds: a number of seconds, or an HTTP date relative to `nowEpochSeconds`.
std::optional<double> parseRetryAfter(std::string_view value, std::int64_t nowEpochSeconds);

// A relative path inside a repository that is safe to join to a folder: no empty, "." or ".."
// segment, not absolute, no backslash, no control character, at most 1024 bytes.
bool isSafeRepoPath(std::string_view path);

// Percent-encoding of everything but RFC 3986 unreserved characters; with `keepSlash` '/'
// stays (a path), without it it becomes %2F (a revision such as "refs/pr/1").
std::string percentEncode(std::string_view text, bool keepSlash);

// One entry of GET /api/models/{repo}/tree/{commit}.
struct TreeEntry {
    std::string type;           // "file" or "directory"
    std::string path;
    std::uint64_t size = 0;
    std::string oid;            // git object id
    std::string lfsOid;         // sha256 for LFS files
    std::uint64_t lfsSize = 0;
};
// Parses one page (a JSON array). Throws HubError Protocol naming `source` for bad JSON, a
// missing or mistyped field, or an unsafe path.
std::vector<TreeEntry> parseTreePage(std::string_view body, const std::string& source);

// The "sha" of GET /api/models/{repo}/revision/{rev}; HubError Protocol when absent or not a commit hash.
std::string parseRevisionCommit(std::string_view body, const std::string& source);

// The names of the shards that model.safetensors.index.json's weight_map points to (sorted,
// unique); HubError Protocol for a malformed index or an unsafe shard name.
std::vector<std::string> parseIndexShards(std::string_view body, const std::string& source);

// The error for a non-2xx answer about `what` (e.g. "repository Salesforce/blip2-opt-2.7b"),
// from X-Error-Code / X-Error-Message and the status, saying what to do.
HubError errorForResponse(int status, const Headers& headers, const std::string& repo, const std::string& what,
                          bool sentToken);

// 408, 429 and 5xx: worth trying again.
bool isRetryableStatus(int status);

// Which files of a commit to fetch, and why the others are skipped.
struct FileSelection {
    std::vector<PlannedFile> files;
    std::vector<SkippedFile> skipped;
    bool hasIndex = false;
    bool hasConfig = false;
};
FileSelection selectFiles(const std::vector<TreeEntry>& tree, const std::vector<std::string>& include);
// The weights loading reads: with an index, the shards its weight_map names (HubError Protocol
// when it names one the commit does not have); without one, model.safetensors. Other
// .safetensors files move to `skipped` unless `include` names them.
void applyWeightRule(FileSelection& selection, const std::optional<std::vector<std::string>>& indexShards,
                     const std::vector<std::string>& include);

// Git's blob id prefix: sha1("blob {size}\0" + content) is the etag of a small file.
std::string gitBlobHeader(std::uint64_t size);

}  // namespace querylens::hub::protocol
