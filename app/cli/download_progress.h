#pragma once
// How `querylens download` shows progress on stderr. On a terminal: a line per finished file
// and one status line redrawn in place (file, phase, bytes, total, rate, ETA), fitted to the
// terminal's width. Otherwise (a log, a pipe): plain lines, one when a file starts or ends and
// one every few seconds, so that logs stay readable.

#include "querylens/hub.h"

#include <chrono>
#include <string>

namespace querylens::cli {

class DownloadProgressView {
public:
    explicit DownloadProgressView(bool terminal);
    void show(const hub::DownloadProgress& progress);
    void finish();  // clears the status line

    static std::string duration(double seconds);   // "1m48s", "2h03m", "12s"
    static std::string rate(double bytesPerSecond); // "112 MB/s"

private:
    void fileDone(int index);
    std::string statusLine(const hub::DownloadProgress& progress) const;

    bool terminal_;
    int lastFile_ = -1;
    bool lastFileComplete_ = false;
    std::string lastFileName_;
    std::uint64_t lastFileSize_ = 0;
    int fileCount_ = 0;
    std::chrono::steady_clock::time_point lastLine_{};
    std::chrono::steady_clock::time_point lastDraw_{};
    hub::DownloadPhase lastPhase_ = hub::DownloadPhase::Downloading;
    std::string lastMessage_;
};

}  // namespace querylens::cli
