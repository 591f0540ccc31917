#pragma once
// One file of a plan into the cache: HEAD for its location, the blob's lock, the partial
// resumed with Range requests (hashed as it streams), verified, published, linked into the
// snapshot. Every server answer is checked; see fetch() for what each one leads to.

#include "hub/hub_connection.h"
#include "hub/progress_tracker.h"
#include "io/digest.h"

#include <string>
#include <vector>

namespace querylens::hub {

class PartialFile;

class FileFetcher {
public:
    FileFetcher(HubConnection& hub, const DownloadPlan& plan, ProgressTracker& progress);

    // True when the file was fetched (some bytes came over the network), false when the cache
    // already had it. Throws HubError, querylens::Error (disk) or Cancelled.
    bool fetch(int index);

    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    void transfer(const PlannedFile& file, PartialFile& partial, io::Digest& digest, FileMetadata& metadata);
    void hashExisting(const PlannedFile& file, PartialFile& partial, io::Digest& digest);
    void link(const PlannedFile& file, bool newBlob);

    HubConnection& hub_;
    const DownloadPlan& plan_;
    ProgressTracker& progress_;
    std::string repoFolder_;
    std::vector<std::string> warnings_;
};

}  // namespace querylens::hub
