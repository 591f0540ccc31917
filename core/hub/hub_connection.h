#pragma once
// Requests to one Hub endpoint: the URLs of its API and files, the token (sent only to the
// endpoint's own origin, never along a redirect to a CDN), redirects decided hop by hop,
// retries of 408/429/5xx and network failures with jittered exponential back-off (honouring
// Retry-After), and the Hub's error codes turned into HubErrors.

#include "hub/http_client.h"
#include "querylens/hub.h"

#include <functional>
#include <string>

namespace querylens::hub {

// What a HEAD of /{repo}/resolve/{commit}/{path} says about a file.
struct FileMetadata {
    std::string commit;    // X-Repo-Commit
    std::string etag;      // X-Linked-Etag, else ETag (normalised)
    std::optional<std::uint64_t> size;  // X-Linked-Size, else the Content-Length of a non-redirect
    std::string location;  // where to GET the bytes (a CDN for LFS files)
};

class HubConnection {
public:
    // `stop` is polled during transfers and waits (true: stop, the call throws Cancelled);
    // `waiting` hears about each retry ("HTTP 503, trying again in 2 s").
    using StopCheck = std::function<bool()>;
    using WaitReport = std::function<void(const std::string& message)>;

    HubConnection(const HubSettings& settings, StopCheck stop = {}, WaitReport waiting = {});

    const HubSettings& settings() const { return settings_; }
    HttpClient& http() { return http_; }

    std::string apiUrl(const std::string& repo, const std::string& tail) const;  // {endpoint}/api/models/{repo}/{tail}
    std::string resolveUrl(const std::string& repo, const std::string& commit, const std::string& path) const;
    // The token for a request to `url`: only to the endpoint's own scheme, host and port.
    std::string tokenFor(const std::string& url) const;

    // GET of an API answer or a small file, following relative redirects (a renamed
    // repository) and, when `followAbsolute`, absolute ones too (without the token); retried.
    // Returns the body and, through `finalHeaders`, the last response's headers.
    std::string getText(const std::string& url, const std::string& repo, const std::string& what,
                        bool followAbsolute = false, protocol::Headers* finalHeaders = nullptr,
                        std::optional<std::uint64_t> rangeStart = {}, std::optional<std::uint64_t> rangeEnd = {});

    // HEAD of a file at a commit, following relative redirects only; retried. A 404 with
    // EntryNotFound leaves the .no_exist marker huggingface_hub leaves.
    FileMetadata head(const std::string& repo, const std::string& commit, const std::string& path);

    // Waits after failure `attempt` (1, 2, ...): min(cap, first * 2^(attempt-1)) * [0.5, 1.5), or
    // Retry-After when the server gave one (capped too), in slices that notice a stop.
    void backOff(int attempt, std::optional<double> retryAfter, const std::string& why);
    bool stopRequested() const { return stop_ && stop_(); }
    void throwIfStopped() const;

private:
    HubSettings settings_;
    HttpClient http_;
    StopCheck stop_;
    WaitReport waiting_;
    std::string endpointOrigin_;
};

}  // namespace querylens::hub
