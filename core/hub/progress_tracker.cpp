#include "hub/progress_tracker.h"

#include <numeric>

namespace querylens::hub {

namespace {
constexpr auto kReportInterval = std::chrono::milliseconds(100);
constexpr auto kRateWindow = std::chrono::seconds(5);
}  // namespace

ProgressTracker::ProgressTracker(const DownloadPlan& plan, std::vector<std::uint64_t> bytesOnDisk,
                                 DownloadProgressCallback callback)
    : plan_(plan), onDisk_(std::move(bytesOnDisk)), callback_(std::move(callback))
{
    current_.fileCount = int(plan.files.size());
    current_.totalSize = plan.totalBytes;
    current_.totalBytes = std::accumulate(onDisk_.begin(), onDisk_.end(), std::uint64_t(0));
}

void ProgressTracker::startFile(int index)
{
    current_.fileIndex = index;
    current_.file = plan_.files[std::size_t(index)].path;
    current_.fileSize = plan_.files[std::size_t(index)].size;
    current_.fileBytes = onDisk_[std::size_t(index)];
    current_.phase = DownloadPhase::Downloading;
    current_.message.clear();
    report(true);
}

void ProgressTracker::setPhase(DownloadPhase phase, const std::string& message)
{
    current_.phase = phase;
    current_.message = message;
    report(true);
}

void ProgressTracker::setFileBytes(std::uint64_t bytes)
{
    auto& slot = onDisk_[std::size_t(current_.fileIndex)];
    current_.totalBytes = current_.totalBytes - slot + bytes;
    slot = bytes;
    current_.fileBytes = bytes;
    report(false);
}

void ProgressTracker::addNetworkBytes(std::uint64_t bytes) { networkBytes_ += bytes; }

void ProgressTracker::finishFile()
{
    setFileBytes(current_.fileSize);
    report(true);
}

void ProgressTracker::report(bool force)
{
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - lastReport_ < kReportInterval)
        return;
    lastReport_ = now;
    samples_.emplace_back(now, networkBytes_);
    while (samples_.size() > 2 && now - samples_.front().first > kRateWindow)
        samples_.pop_front();
    const double seconds = std::chrono::duration<double>(now - samples_.front().first).count();
    current_.bytesPerSecond = seconds >= 0.5 ? double(networkBytes_ - samples_.front().second) / seconds : 0;
    const std::uint64_t left = current_.totalSize - std::min(current_.totalSize, current_.totalBytes);
    current_.etaSeconds = current_.bytesPerSecond > 0 ? double(left) / current_.bytesPerSecond : (left ? -1 : 0);
    if (callback_ && !callback_(current_))
        stop_ = true;
}

}  // namespace querylens::hub
