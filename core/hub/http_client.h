#pragma once
// One libcurl easy handle (its connections are reused between requests) with what the Hub
// client needs and nothing else: no automatic redirects (each hop is decided by the caller, so
// the token never follows one to another host), http/https only, bounded headers, stall
// detection, and an abort check polled during the transfer.

#include "hub/hub_protocol.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace querylens::hub {

struct HttpRequest {
    std::string method = "GET";                // GET or HEAD
    std::string url;
    std::optional<std::uint64_t> rangeStart;   // Range: bytes=N-
    std::optional<std::uint64_t> rangeEnd;     // with rangeStart: bytes=N-M
    std::string bearerToken;                   // sent as Authorization only when not empty
};

struct HttpResponse {
    int status = 0;                    // 0 when no response arrived
    protocol::Headers headers;
    std::string body;                  // bodies not given to the sink (API answers, errors), bounded
    bool bodyTooLarge = false;
    bool headersTooLarge = false;
    bool aborted = false;              // the abort check or the sink stopped it
    bool stalled = false;              // no byte for stallSeconds
    std::string networkError;          // libcurl's description when the transfer failed
};

class HttpClient {
public:
    // What to do with the body of a response, decided once its headers are in.
    enum class BodyTarget { Memory, Sink, Discard };
    using HeadersDecision = std::function<BodyTarget(int status, const protocol::Headers& headers)>;
    using BodySink = std::function<bool(const char* data, std::size_t size)>;  // false: stop
    using AbortCheck = std::function<bool()>;                                  // true: stop now

    HttpClient(double connectTimeoutSeconds, double stallSeconds);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Without `decide`, bodies go to memory up to `memoryLimit` bytes.
    HttpResponse perform(const HttpRequest& request, const HeadersDecision& decide = {}, const BodySink& sink = {},
                         const AbortCheck& abort = {}, std::size_t memoryLimit = protocol::kMaxJsonBytes);

    // Absolute form of a Location header relative to `base`; nullopt for anything but http(s).
    static std::optional<std::string> resolve(const std::string& base, const std::string& location);
    // scheme://host:port of a URL (the port made explicit), or "" when it does not parse.
    static std::string origin(const std::string& url);
    // Whether a Location header names another host (absolute) rather than a path on this one.
    static bool isAbsoluteLocation(const std::string& location);

private:
    struct Impl;
    Impl* impl_;
};

}  // namespace querylens::hub
