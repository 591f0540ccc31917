#include "hub/http_client.h"

#include "querylens/error.h"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace querylens::hub {

namespace {

void initialiseCurlOnce()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            throw Error("libcurl could not be initialised");
    });
}

// What one transfer collects; libcurl's callbacks reach it through their user pointer.
struct Transfer {
    CURL* curl = nullptr;
    HttpResponse* response = nullptr;
    const HttpClient::HeadersDecision* decide = nullptr;
    const HttpClient::BodySink* sink = nullptr;
    const HttpClient::AbortCheck* abort = nullptr;
    std::size_t memoryLimit = 0;
    bool decided = false;
    HttpClient::BodyTarget target = HttpClient::BodyTarget::Memory;
};

long responseCode(CURL* curl)
{
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user)
{
    auto* transfer = static_cast<Transfer*>(user);
    const std::size_t bytes = size * count;
    if (!transfer->response->headers.addLine(std::string_view(data, bytes))) {
        transfer->response->headersTooLarge = true;
        return 0;  // stops the transfer
    }
    return bytes;
}

void decideTarget(Transfer& transfer)
{
    if (transfer.decided)
        return;
    transfer.decided = true;
    transfer.response->status = int(responseCode(transfer.curl));
    transfer.target = *transfer.decide ? (*transfer.decide)(transfer.response->status, transfer.response->headers)
                                       : HttpClient::BodyTarget::Memory;
}

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user)
{
    auto* transfer = static_cast<Transfer*>(user);
    const std::size_t bytes = size * count;
    decideTarget(*transfer);
    switch (transfer->target) {
    case HttpClient::BodyTarget::Discard:
        return bytes;
    case HttpClient::BodyTarget::Memory:
        if (transfer->response->body.size() + bytes > transfer->memoryLimit) {
            transfer->response->bodyTooLarge = true;
            return 0;
        }
        transfer->response->body.append(data, bytes);
        return bytes;
    case HttpClient::BodyTarget::Sink:
        if (!(*transfer->sink)(data, bytes)) {
            transfer->response->aborted = true;
            return 0;
        }
        return bytes;
    }
    return 0;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t)
{
    auto* transfer = static_cast<Transfer*>(user);
    if (*transfer->abort && (*transfer->abort)()) {
        transfer->response->aborted = true;
        return 1;
    }
    return 0;
}

struct UrlHandle {
    CURLU* url = curl_url();
    ~UrlHandle() { curl_url_cleanup(url); }
    std::string get(CURLUPart part, unsigned flags = 0) const
    {
        char* text = nullptr;
        if (curl_url_get(url, part, &text, flags) != CURLUE_OK)
            return {};
        std::string value = text;
        curl_free(text);
        return value;
    }
};

}  // namespace

struct HttpClient::Impl {
    CURL* curl = nullptr;
    double connectTimeout = 10;
    double stallSeconds = 30;
};

HttpClient::HttpClient(double connectTimeoutSeconds, double stallSeconds) : impl_(new Impl)
{
    initialiseCurlOnce();
    impl_->curl = curl_easy_init();
    if (!impl_->curl) {
        delete impl_;
        throw Error("libcurl could not create a transfer handle");
    }
    impl_->connectTimeout = connectTimeoutSeconds;
    impl_->stallSeconds = stallSeconds;
}

HttpClient::~HttpClient()
{
    curl_easy_cleanup(impl_->curl);
    delete impl_;
}

HttpResponse HttpClient::perform(const HttpRequest& request, const HeadersDecision& decide, const BodySink& sink,
                                 const AbortCheck& abort, std::size_t memoryLimit)
{
    CURL* curl = impl_->curl;
    curl_easy_reset(curl);  // keeps the connection cache
    HttpResponse response;
    Transfer transfer;
    transfer.curl = curl;
    transfer.response = &response;
    transfer.decide = &decide;
    transfer.sink = &sink;
    transfer.abort = &abort;
    transfer.memoryLimit = memoryLimit;

    curl_slist* headers = nullptr;
    // The Hub's own client asks for the bytes as stored: a compressed answer would make sizes,
    // ranges and digests refer to different bytes.
    headers = curl_slist_append(headers, "Accept-Encoding: identity");
    if (!request.bearerToken.empty())
        headers = curl_slist_append(headers, ("Authorization: Bearer " + request.bearerToken).c_str());
    std::string range;
    if (request.rangeStart) {
        range = std::to_string(*request.rangeStart) + "-" + (request.rangeEnd ? std::to_string(*request.rangeEnd) : "");
        curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "querylens/" QUERYLENS_HUB_VERSION " (huggingface_hub-compatible; libcurl)");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, long(impl_->connectTimeout * 1000));
    // A stall is "under 1 byte/s for stallSeconds"; libcurl counts whole seconds.
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, long(std::max(1.0, std::ceil(impl_->stallSeconds))));
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
    if (request.method == "HEAD")
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);

    const CURLcode result = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (!transfer.decided && (result == CURLE_OK || responseCode(curl) != 0))
        decideTarget(transfer);  // a response without a body
    if (response.status == 0)
        response.status = int(responseCode(curl));
    if (result != CURLE_OK && !response.aborted && !response.headersTooLarge && !response.bodyTooLarge) {
        response.stalled = result == CURLE_OPERATION_TIMEDOUT;
        response.networkError = curl_easy_strerror(result);
    }
    return response;
}

std::optional<std::string> HttpClient::resolve(const std::string& base, const std::string& location)
{
    UrlHandle url;
    if (curl_url_set(url.url, CURLUPART_URL, base.c_str(), 0) != CURLUE_OK)
        return std::nullopt;
    if (curl_url_set(url.url, CURLUPART_URL, location.c_str(), 0) != CURLUE_OK)
        return std::nullopt;
    const std::string scheme = url.get(CURLUPART_SCHEME);
    if (scheme != "http" && scheme != "https")
        return std::nullopt;
    const std::string resolved = url.get(CURLUPART_URL);
    if (resolved.empty())
        return std::nullopt;
    return resolved;
}

std::string HttpClient::origin(const std::string& text)
{
    UrlHandle url;
    if (curl_url_set(url.url, CURLUPART_URL, text.c_str(), 0) != CURLUE_OK)
        return {};
    const std::string scheme = url.get(CURLUPART_SCHEME);
    std::string host = url.get(CURLUPART_HOST);
    std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    const std::string port = url.get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (scheme.empty() || host.empty())
        return {};
    return scheme + "://" + host + ":" + port;
}

bool HttpClient::isAbsoluteLocation(const std::string& location)
{
    // "//host/path" is absolute too (scheme-relative).
    if (location.rfind("//", 0) == 0)
        return true;
    const auto colon = location.find(':');
    const auto slash = location.find('/');
    return colon != std::string::npos && (slash == std::string::npos || colon < slash);
}

}  // namespace querylens::hub
