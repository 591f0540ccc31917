#include "cli/batch_progress.h"

#include "cli/download_progress.h"

#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace querylens::cli {

BatchProgressPrinter::BatchProgressPrinter()
    : terminal_(::isatty(STDERR_FILENO)), lastPrinted_(std::chrono::steady_clock::now())
{
}

std::string BatchProgressPrinter::line(const BatchProgress& p) const
{
    char text[160];
    const double percent = p.total ? 100.0 * double(p.done) / double(p.total) : 100.0;
    std::snprintf(text, sizeof text, "[%zu/%zu] %.1f%%  %.2f images/s  ETA %s  errors %zu", p.done, p.total, percent,
                  p.imagesPerSecond, p.imagesPerSecond > 0 ? DownloadProgressView::duration(p.etaSeconds).c_str() : "-", p.errors);
    return text;
}

void BatchProgressPrinter::update(const BatchProgress& progress)
{
    if (terminal_) {
        std::cerr << "\r\033[K" << line(progress) << std::flush;
        drawn_ = true;
        return;
    }
    const int tenth = progress.total ? int(10 * progress.done / progress.total) : 10;
    const auto now = std::chrono::steady_clock::now();
    if (tenth != lastTenth_ || now - lastPrinted_ >= std::chrono::minutes(1)) {
        std::cerr << line(progress) << "\n" << std::flush;
        lastTenth_ = tenth;
        lastPrinted_ = now;
    }
}

void BatchProgressPrinter::error(const std::string& message)
{
    if (drawn_)
        std::cerr << "\r\033[K";
    std::cerr << "Error: " << message << "\n" << std::flush;
    drawn_ = false;
}

void BatchProgressPrinter::finish(const BatchSummary& summary, const std::string& output)
{
    const BatchProgress& p = summary.progress;
    if (terminal_)
        std::cerr << "\r\033[K" << line(p) << "\n";
    if (summary.outcome == BatchOutcome::Cancelled)
        std::cerr << "Stopped: " << p.total - p.done << " input" << (p.total - p.done == 1 ? "" : "s")
                  << " left; run the same command with --resume to continue " << output << ".\n";
    else
        std::cerr << "Done in " << DownloadProgressView::duration(p.elapsedSeconds) << ": " << p.done - p.errors << " result"
                  << (p.done - p.errors == 1 ? "" : "s") << ", " << p.errors << " error" << (p.errors == 1 ? "" : "s")
                  << ", in " << output << ".\n";
}

}  // namespace querylens::cli
