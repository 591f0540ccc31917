#pragma once
// Turns what the fetcher does into DownloadProgress reports: bytes on disk per file and in
// total, the network rate over the last few seconds, the ETA, and the phase. Byte updates are
// reported at most 10 times a second; a change of file or phase at once. The callback's "stop"
// answer is kept for the fetcher to see.

#include "querylens/hub.h"

#include <chrono>
#include <deque>
#include <utility>
#include <vector>

namespace querylens::hub {

class ProgressTracker {
public:
    ProgressTracker(const DownloadPlan& plan, std::vector<std::uint64_t> bytesOnDisk, DownloadProgressCallback callback);

    void startFile(int index);
    void setPhase(DownloadPhase phase, const std::string& message = {});
    void setFileBytes(std::uint64_t bytes);     // valid bytes of the current file on disk
    void addNetworkBytes(std::uint64_t bytes);  // for the rate
    void finishFile();                          // the current file is complete
    bool stopRequested() const { return stop_; }
    std::uint64_t networkBytes() const { return networkBytes_; }

private:
    void report(bool force);

    const DownloadPlan& plan_;
    std::vector<std::uint64_t> onDisk_;
    DownloadProgressCallback callback_;
    DownloadProgress current_;
    std::uint64_t networkBytes_ = 0;
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::uint64_t>> samples_;
    std::chrono::steady_clock::time_point lastReport_{};
    bool stop_ = false;
};

}  // namespace querylens::hub
