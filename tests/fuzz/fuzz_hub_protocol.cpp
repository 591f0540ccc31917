// The Hub client's parsing of server answers, all of it from the input (parts: the header
// lines of a response, a tree page, a revision answer, model.safetensors.index.json, --include
// patterns one a line): headers stay within their bounds, Content-Range, Link, Retry-After and
// sizes parse strictly, every path the plan would write is safe, and every error is a HubError
// whose message is printable.

#include "fuzz_support.h"
#include "hub/hub_protocol.h"

#include <cctype>
#include <cmath>
#include <sstream>

namespace {

using namespace querylens::hub;

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line) && out.size() < 1000)
        out.push_back(line + "\n");
    return out;
}

void checkPrintable(const std::string& message)
{
    for (char c : message)
        FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 || c == '\n' || c == '\t', "a raw control byte in: " + message);
}

bool isPercentEncoded(const std::string& encoded, bool keepSlash)
{
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        const auto c = static_cast<unsigned char>(encoded[i]);
        if (c == '%') {
            if (i + 2 >= encoded.size())
                return false;
            if (!std::isxdigit(static_cast<unsigned char>(encoded[i + 1])) ||
                !std::isxdigit(static_cast<unsigned char>(encoded[i + 2])))
                return false;
            i += 2;
        } else if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/'))) {
            return false;
        }
    }
    return true;
}

void checkHeaders(const std::string& block)
{
    protocol::Headers headers;
    bool within = true;
    for (const std::string& line : lines(block))
        if (!headers.addLine(line)) {
            within = false;
            break;
        }
    FUZZ_CHECK(headers.entries().size() <= protocol::kMaxHeaderCount, "too many headers kept");
    FUZZ_CHECK(!within || headers.bytes() <= protocol::kMaxHeaderBytes, "header bytes past the bound accepted");
    for (const auto& [name, value] : headers.entries()) {
        FUZZ_CHECK(headers.get(name).has_value(), "a header kept cannot be found by its name: " + name);
        if (const auto size = protocol::parseUnsigned(value))
            FUZZ_CHECK(value.find_first_not_of(" \t\r\n0123456789") == std::string::npos, "a size with other characters");
        if (const auto range = protocol::parseContentRange(value)) {
            FUZZ_CHECK(range->first <= range->last, "Content-Range first > last: " + value);
            FUZZ_CHECK(!range->total || *range->total > range->last, "Content-Range past its total: " + value);
        }
        if (const auto next = protocol::nextPageLink(value))
            FUZZ_CHECK(!next->empty() && value.find(*next) != std::string::npos, "a next link not in the header");
        if (const auto wait = protocol::parseRetryAfter(value, 1'700'000'000))
            FUZZ_CHECK(std::isfinite(*wait) && *wait >= 0, "Retry-After negative or not finite");
        const std::string etag = protocol::normalizeEtag(value);
        FUZZ_CHECK(etag.empty() || (etag.front() != '"' && etag.back() != '"'), "etag keeps a quote");
        for (const bool keepSlash : {false, true})
            FUZZ_CHECK(isPercentEncoded(protocol::percentEncode(value, keepSlash), keepSlash), "percent-encoding");
    }
    const int status = block.empty() ? 500 : 100 + static_cast<unsigned char>(block[0]) * 2;
    const HubError error = protocol::errorForResponse(status, headers, "user/repo", "config.json", block.size() % 2);
    checkPrintable(error.what());
    protocol::isRetryableStatus(status);
}

}  // namespace

QUERYLENS_FUZZ_TARGET(hub_protocol)
{
    const auto parts = fuzzsupport::splitParts(data, size, 5);
    checkHeaders(parts[0]);
    std::vector<protocol::TreeEntry> tree;
    try {
        tree = protocol::parseTreePage(parts[1], "tree");
        for (const auto& entry : tree)
            FUZZ_CHECK(protocol::isSafeRepoPath(entry.path), "an unsafe path from the tree: " + entry.path);
    } catch (const HubError& e) {
        checkPrintable(e.what());
    }
    try {
        const std::string commit = protocol::parseRevisionCommit(parts[2], "revision");
        FUZZ_CHECK(commit.size() == 40, "a commit hash of " + std::to_string(commit.size()) + " characters");
    } catch (const HubError& e) {
        checkPrintable(e.what());
    }
    std::optional<std::vector<std::string>> shards;
    try {
        shards = protocol::parseIndexShards(parts[3], "model.safetensors.index.json");
        for (const auto& shard : *shards)
            FUZZ_CHECK(protocol::isSafeRepoPath(shard), "an unsafe shard name: " + shard);
    } catch (const HubError& e) {
        checkPrintable(e.what());
    }
    std::vector<std::string> include;
    for (std::string pattern : lines(parts[4]))
        include.push_back(pattern.substr(0, pattern.size() - 1));
    auto selection = protocol::selectFiles(tree, include);
    try {
        protocol::applyWeightRule(selection, shards, include);
    } catch (const HubError& e) {
        checkPrintable(e.what());
    }
    FUZZ_CHECK(selection.files.size() + selection.skipped.size() == tree.size(), "a file of the tree lost or planned twice");
    for (const auto& file : selection.files)
        FUZZ_CHECK(protocol::isSafeRepoPath(file.path), "an unsafe path planned: " + file.path);
    return 0;
}
