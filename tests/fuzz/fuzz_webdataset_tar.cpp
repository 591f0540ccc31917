// WebDataset shards of any bytes (tar, possibly compressed) through the batch reader: listing
// either refuses the file with a message or gives samples whose image member is an image of
// that sample's key; reading every member through TarReader gives each one's bytes, bounded.

#include "batch/tar_archive.h"
#include "batch/webdataset.h"
#include "fuzz_support.h"
#include "querylens/error.h"

QUERYLENS_FUZZ_TARGET(webdataset_tar)
{
    using namespace querylens::batch;
    static const fuzzsupport::Scratch scratch("webdataset_tar");
    const std::string path = scratch.write("shard.tar", std::string(reinterpret_cast<const char*>(data), size));
    try {
        const ShardListing listing = listWebDatasetShard(path);
        for (const WebDatasetSample& sample : listing.samples) {
            const auto name = splitWebDatasetName(sample.imageMember);
            FUZZ_CHECK(name && name->key == sample.key, "the image " + sample.imageMember + " is not of " + sample.key);
            FUZZ_CHECK(isImageSuffix(name->suffix), "not an image: " + sample.imageMember);
            FUZZ_CHECK(!isWebDatasetMetadata(sample.imageMember), "metadata taken as a sample");
        }
    } catch (const querylens::Error&) {
    }
    try {
        TarReader reader(path);
        constexpr std::int64_t kLimit = 1 << 20;
        for (int members = 0; members < 10000 && reader.next(); ++members) {
            FUZZ_CHECK(reader.size() >= 0, "a negative member size");
            try {
                const std::string bytes = reader.read(kLimit);
                FUZZ_CHECK(std::int64_t(bytes.size()) <= kLimit, "a member read past the limit");
            } catch (const querylens::Error&) {
            }
        }
    } catch (const querylens::Error&) {
    }
    return 0;
}
