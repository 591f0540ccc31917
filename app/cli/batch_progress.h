#pragma once
// The progress of `querylens batch` on stderr: one line redrawn in place on a terminal (done /
// total, images/s, ETA, errors); on a log file (a cluster job's), a line every tenth of the
// work or every minute, whichever comes first.

#include "querylens/batch_runner.h"

#include <chrono>
#include <string>

namespace querylens::cli {

class BatchProgressPrinter {
public:
    BatchProgressPrinter();
    void update(const BatchProgress& progress);
    void error(const std::string& message);  // an input that failed, named in full
    void finish(const BatchSummary& summary, const std::string& output);

private:
    std::string line(const BatchProgress& progress) const;

    bool terminal_;
    bool drawn_ = false;
    int lastTenth_ = -1;
    std::chrono::steady_clock::time_point lastPrinted_;
};

}  // namespace querylens::cli
