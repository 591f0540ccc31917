#include "cli/download_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace querylens::cli {

namespace {

constexpr auto kPlainInterval = std::chrono::seconds(5);
constexpr auto kRedrawInterval = std::chrono::milliseconds(200);

int terminalWidth()
{
    winsize size{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20)
        return size.ws_col;
    return 100;
}

int percent(std::uint64_t part, std::uint64_t whole) { return whole ? int(100.0 * double(part) / double(whole)) : 100; }

}  // namespace

DownloadProgressView::DownloadProgressView(bool terminal) : terminal_(terminal) {}

std::string DownloadProgressView::duration(double seconds)
{
    if (seconds < 0)
        return "?";
    const long total = long(seconds + 0.5);
    char text[32];
    if (total >= 3600)
        std::snprintf(text, sizeof text, "%ldh%02ldm", total / 3600, (total % 3600) / 60);
    else if (total >= 60)
        std::snprintf(text, sizeof text, "%ldm%02lds", total / 60, total % 60);
    else
        std::snprintf(text, sizeof text, "%lds", total);
    return text;
}

std::string DownloadProgressView::rate(double bytesPerSecond)
{
    return bytesPerSecond > 0 ? hub::formatSize(std::uint64_t(bytesPerSecond)) + "/s" : "-";
}

std::string DownloadProgressView::statusLine(const hub::DownloadProgress& p) const
{
    std::string phase = hub::downloadPhaseName(p.phase);
    if (!p.message.empty() && (p.phase == hub::DownloadPhase::Retrying || p.phase == hub::DownloadPhase::Waiting))
        phase += " (" + p.message + ")";
    char counts[64];
    std::snprintf(counts, sizeof counts, "[%d/%d] ", p.fileIndex + 1, p.fileCount);
    std::string line = counts + p.file + "  " + phase + "  " + hub::formatSize(p.fileBytes) + " of " +
                       hub::formatSize(p.fileSize) + "  |  total " + std::to_string(percent(p.totalBytes, p.totalSize)) +
                       "% " + hub::formatSize(p.totalBytes) + " of " + hub::formatSize(p.totalSize) + "  " +
                       rate(p.bytesPerSecond) + "  ETA " + duration(p.etaSeconds);
    return line;
}

void DownloadProgressView::fileDone(int index)
{
    if (index < 0 || lastFileName_.empty())
        return;
    char counts[64];
    std::snprintf(counts, sizeof counts, "[%d/%d] ", index + 1, fileCount_);
    if (terminal_)
        std::cerr << "\r\033[K";
    std::cerr << counts << lastFileName_ << "  " << hub::formatSize(lastFileSize_) << "  done\n";
}

void DownloadProgressView::show(const hub::DownloadProgress& p)
{
    const auto now = std::chrono::steady_clock::now();
    if (p.fileIndex != lastFile_) {
        if (lastFileComplete_)
            fileDone(lastFile_);
        lastFile_ = p.fileIndex;
        lastFileName_ = p.file;
        lastFileSize_ = p.fileSize;
        fileCount_ = p.fileCount;
        if (!terminal_) {
            std::cerr << "[" << p.fileIndex + 1 << "/" << p.fileCount << "] " << p.file << " ("
                      << hub::formatSize(p.fileSize) << ")\n";
            lastLine_ = now;
        }
    }
    lastFileComplete_ = p.fileBytes == p.fileSize && p.phase != hub::DownloadPhase::Hashing;
    const bool phaseChanged = p.phase != lastPhase_ || p.message != lastMessage_;
    lastPhase_ = p.phase;
    lastMessage_ = p.message;
    if (terminal_) {
        if (!phaseChanged && now - lastDraw_ < kRedrawInterval)
            return;
        lastDraw_ = now;
        std::string line = statusLine(p);
        const std::size_t width = std::size_t(terminalWidth() - 1);
        if (line.size() > width)
            line = line.substr(0, width);
        std::cerr << "\r\033[K" << line << std::flush;
        return;
    }
    // Plain lines: retries and waits as they happen, the rest every few seconds.
    if ((phaseChanged && (p.phase == hub::DownloadPhase::Retrying || p.phase == hub::DownloadPhase::Waiting)) ||
        now - lastLine_ >= kPlainInterval) {
        lastLine_ = now;
        std::cerr << "  " << statusLine(p) << "\n";
    }
}

void DownloadProgressView::finish()
{
    if (lastFileComplete_)
        fileDone(lastFile_);
    lastFileComplete_ = false;
    if (terminal_)
        std::cerr << "\r\033[K" << std::flush;
}

}  // namespace querylens::cli
