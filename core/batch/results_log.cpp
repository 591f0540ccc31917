#include "querylens/batch_results.h"

#include "querylens/error.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

namespace querylens {

namespace {

std::string systemError() { return std::strerror(errno); }

// The fields of a line that resuming and merging need; false when it is not a result line.
bool parseLine(const std::string& text, ResultLine& line)
{
    const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object() || !json.contains("key") || !json["key"].is_string())
        return false;
    line.key = json["key"].get<std::string>();
    line.error = json.contains("error") && json["error"].is_string();
    if (json.contains("shard") && json["shard"].is_object()) {
        const auto& shard = json["shard"];
        if (shard.value("count", 0) >= 1 && shard.value("index", -1) >= 0 && shard.value("index", -1) < shard.value("count", 0))
            line.shard = Shard{shard.value("index", 0), shard.value("count", 1)};
    }
    line.json = text;
    return true;
}

}  // namespace

ResultsContent readResults(const std::string& path)
{
    ResultsContent content;
    std::error_code missing;
    if (!std::filesystem::exists(path, missing))
        return content;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error("cannot read the results file", path);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad())
        throw Error("cannot read the results file", path);
    const std::string data = buffer.str();

    std::size_t start = 0, number = 0;
    while (start < data.size()) {
        const std::size_t end = data.find('\n', start);
        ++number;
        if (end == std::string::npos) {
            // No newline: the line was being written when the run stopped.
            content.tornEnd = true;
            break;
        }
        const std::string text = data.substr(start, end - start);
        ResultLine line;
        line.lineNumber = number;
        if (parseLine(text, line))
            content.lines.push_back(std::move(line));
        else if (!text.empty())
            content.problems.push_back("line " + std::to_string(number) + ": not a JSON object with a \"key\"");
        start = end + 1;
        content.completeBytes = start;
    }
    return content;
}

ResultsLog::ResultsLog(const std::string& path) : path_(path)
{
    existing_ = readResults(path);
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw Error("cannot open the results file for writing: " + systemError(), path);
    if (existing_.tornEnd) {
        // Only the unfinished line after the last newline goes; its input is done again.
        if (::ftruncate(fd_, off_t(existing_.completeBytes)) != 0 || ::fdatasync(fd_) != 0) {
            const std::string reason = systemError();
            ::close(fd_);
            throw Error("cannot cut off the torn last line: " + reason, path);
        }
    }
}

ResultsLog::~ResultsLog()
{
    if (fd_ >= 0) {
        ::fdatasync(fd_);
        ::close(fd_);
    }
}

void ResultsLog::append(const std::string& json)
{
    const std::string line = json + "\n";
    std::size_t done = 0;
    while (done < line.size()) {
        // O_APPEND: each write lands at the end; a whole line normally goes out in one write.
        const ssize_t wrote = ::write(fd_, line.data() + done, line.size() - done);
        if (wrote < 0) {
            if (errno == EINTR)
                continue;
            throw Error("cannot append to the results file: " + systemError(), path_);
        }
        done += std::size_t(wrote);
    }
}

void ResultsLog::sync()
{
    if (::fdatasync(fd_) != 0)
        throw Error("cannot flush the results file to disk: " + systemError(), path_);
}

}  // namespace querylens
