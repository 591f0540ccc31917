#include "hub/hub_connection.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace querylens::hub {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxRedirects = 5;

bool isRedirect(int status) { return status >= 300 && status <= 399; }

std::optional<double> retryAfterOf(const HttpResponse& response)
{
    const auto value = response.headers.get("Retry-After");
    if (!value)
        return std::nullopt;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return protocol::parseRetryAfter(*value, now.count());
}

std::string describeFailure(const HttpResponse& response)
{
    if (response.stalled)
        return "no data arrived for a while";
    if (!response.networkError.empty())
        return response.networkError;
    return "HTTP " + std::to_string(response.status);
}

}  // namespace

HubConnection::HubConnection(const HubSettings& settings, StopCheck stop, WaitReport waiting)
    : settings_(settings), http_(settings.connectTimeoutSeconds, settings.stallSeconds), stop_(std::move(stop)),
      waiting_(std::move(waiting))
{
    while (!settings_.endpoint.empty() && settings_.endpoint.back() == '/')
        settings_.endpoint.pop_back();
    endpointOrigin_ = HttpClient::origin(settings_.endpoint);
    if (endpointOrigin_.empty())
        throw HubError(HubErrorCode::Protocol, "not an http(s) address: " + settings_.endpoint, "HF_ENDPOINT");
}

std::string HubConnection::apiUrl(const std::string& repo, const std::string& tail) const
{
    return settings_.endpoint + "/api/models/" + repo + "/" + tail;
}

std::string HubConnection::resolveUrl(const std::string& repo, const std::string& commit, const std::string& path) const
{
    return settings_.endpoint + "/" + repo + "/resolve/" + protocol::percentEncode(commit, false) + "/" +
           protocol::percentEncode(path, true);
}

std::string HubConnection::tokenFor(const std::string& url) const
{
    if (settings_.token.empty() || HttpClient::origin(url) != endpointOrigin_)
        return {};
    return settings_.token;
}

void HubConnection::throwIfStopped() const
{
    if (stopRequested())
        throw Cancelled();
}

void HubConnection::backOff(int attempt, std::optional<double> retryAfter, const std::string& why)
{
    static thread_local std::mt19937 random{std::random_device{}()};
    double seconds = 0;
    if (retryAfter) {
        seconds = std::min(*retryAfter, settings_.maxBackoffSeconds);
    } else {
        const double base = std::min(settings_.maxBackoffSeconds,
                                     settings_.firstBackoffSeconds * double(1 << std::min(attempt - 1, 10)));
        seconds = base * std::uniform_real_distribution<double>(0.5, 1.5)(random);
        seconds = std::min(seconds, settings_.maxBackoffSeconds);
    }
    if (waiting_) {
        char text[64];
        std::snprintf(text, sizeof text, ", trying again in %.1f s", seconds);
        waiting_(why + text);
    }
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
    while (std::chrono::steady_clock::now() < until) {
        throwIfStopped();
        const std::chrono::steady_clock::duration left = until - std::chrono::steady_clock::now();
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(50), left));
    }
}

std::string HubConnection::getText(const std::string& url, const std::string& repo, const std::string& what,
                                   bool followAbsolute, protocol::Headers* finalHeaders,
                                   std::optional<std::uint64_t> rangeStart, std::optional<std::uint64_t> rangeEnd)
{
    if (settings_.offline)
        throw HubError(HubErrorCode::Offline, "HF_HUB_OFFLINE is set: the Hub is not asked", what);
    std::string lastFailure;
    for (int attempt = 1; attempt <= settings_.maxAttempts; ++attempt) {
        std::string current = url;
        HttpResponse response;
        for (int hop = 0;; ++hop) {
            HttpRequest request;
            request.url = current;
            request.bearerToken = tokenFor(current);
            request.rangeStart = rangeStart;
            request.rangeEnd = rangeEnd;
            response = http_.perform(
                request,
                [](int status, const protocol::Headers&) {
                    return isRedirect(status) ? HttpClient::BodyTarget::Discard : HttpClient::BodyTarget::Memory;
                },
                {}, [this] { return stopRequested(); });
            throwIfStopped();
            if (response.headersTooLarge)
                throw HubError(HubErrorCode::Protocol, "the server sent more than 64 kB of headers", what);
            if (response.bodyTooLarge)
                throw HubError(HubErrorCode::Protocol, "the answer is larger than QueryLens accepts", what);
            if (!isRedirect(response.status) || !response.networkError.empty())
                break;
            const auto location = response.headers.get("Location");
            if (!location || hop >= kMaxRedirects)
                throw HubError(HubErrorCode::Protocol, "a redirect without a target, or too many redirects", what,
                               response.status);
            if (HttpClient::isAbsoluteLocation(*location) && !followAbsolute)
                throw HubError(HubErrorCode::Protocol, "unexpected redirect to another host: " + location->substr(0, 200),
                               what, response.status);
            const auto next = HttpClient::resolve(current, *location);
            if (!next)
                throw HubError(HubErrorCode::Protocol, "a redirect to an address that is not http(s)", what,
                               response.status);
            current = *next;
        }
        if (response.networkError.empty() && response.status >= 200 && response.status <= 299) {
            if (finalHeaders)
                *finalHeaders = response.headers;
            return std::move(response.body);
        }
        if (response.networkError.empty() && !protocol::isRetryableStatus(response.status))
            throw protocol::errorForResponse(response.status, response.headers, repo, what, !tokenFor(current).empty());
        lastFailure = describeFailure(response);
        if (attempt < settings_.maxAttempts)
            backOff(attempt, retryAfterOf(response), lastFailure);
    }
    throw HubError(HubErrorCode::Network,
                   "the Hub could not be reached for " + repo + " (" + lastFailure + "); try again later", what);
}

FileMetadata HubConnection::head(const std::string& repo, const std::string& commit, const std::string& path)
{
    if (settings_.offline)
        throw HubError(HubErrorCode::Offline, "HF_HUB_OFFLINE is set: the Hub is not asked", path);
    std::string lastFailure;
    for (int attempt = 1; attempt <= settings_.maxAttempts; ++attempt) {
        std::string current = resolveUrl(repo, commit, path);
        HttpResponse response;
        FileMetadata metadata;
        for (int hop = 0;; ++hop) {
            HttpRequest request;
            request.method = "HEAD";
            request.url = current;
            request.bearerToken = tokenFor(current);
            response = http_.perform(request, {}, {}, [this] { return stopRequested(); }, protocol::kMaxErrorBodyBytes);
            throwIfStopped();
            if (response.headersTooLarge)
                throw HubError(HubErrorCode::Protocol, "the server sent more than 64 kB of headers", path);
            metadata.location = current;
            if (!isRedirect(response.status) || !response.networkError.empty())
                break;
            const auto location = response.headers.get("Location");
            if (!location || hop >= kMaxRedirects)
                throw HubError(HubErrorCode::Protocol, "a redirect without a target, or too many redirects", path,
                               response.status);
            const auto next = HttpClient::resolve(current, *location);
            if (!next)
                throw HubError(HubErrorCode::Protocol, "a redirect to an address that is not http(s)", path,
                               response.status);
            if (HttpClient::isAbsoluteLocation(*location)) {
                // Another host (the CDN of LFS files): not followed here; the GET goes there.
                metadata.location = *next;
                break;
            }
            current = *next;  // a renamed repository: same host, follow it
        }
        if (response.networkError.empty() && response.status >= 200 && response.status <= 399) {
            const auto repoCommit = response.headers.get("X-Repo-Commit");
            if (!repoCommit || !isCommitHash(*repoCommit))
                throw HubError(HubErrorCode::Protocol,
                               "the answer has no X-Repo-Commit header: the server is not a Hugging Face Hub", path,
                               response.status);
            metadata.commit = *repoCommit;
            const auto etag = response.headers.get("X-Linked-Etag") ? response.headers.get("X-Linked-Etag")
                                                                      : response.headers.get("ETag");
            if (!etag)
                throw HubError(HubErrorCode::Protocol, "the answer has no ETag", path, response.status);
            metadata.etag = protocol::normalizeEtag(*etag);
            if (const auto linked = response.headers.get("X-Linked-Size"))
                metadata.size = protocol::parseUnsigned(*linked);
            else if (!isRedirect(response.status))  // a redirect's Content-Length is its own body's
                if (const auto length = response.headers.get("Content-Length"))
                    metadata.size = protocol::parseUnsigned(*length);
            return metadata;
        }
        if (response.networkError.empty() && !protocol::isRetryableStatus(response.status)) {
            if (response.status == 404 && response.headers.get("X-Error-Code").value_or("") == "EntryNotFound") {
                const auto repoCommit = response.headers.get("X-Repo-Commit");
                if (repoCommit && isCommitHash(*repoCommit) && protocol::isSafeRepoPath(path)) {
                    const fs::path marker =
                        fs::path(repoFolder(settings_.cacheFolder, repo)) / ".no_exist" / *repoCommit / path;
                    std::error_code error;
                    fs::create_directories(marker.parent_path(), error);
                    std::ofstream{marker};
                }
            }
            throw protocol::errorForResponse(response.status, response.headers, repo, path, !tokenFor(current).empty());
        }
        lastFailure = describeFailure(response);
        if (attempt < settings_.maxAttempts)
            backOff(attempt, retryAfterOf(response), lastFailure);
    }
    throw HubError(HubErrorCode::Network, "the Hub could not be reached (" + lastFailure + "); try again later", path);
}

}  // namespace querylens::hub
