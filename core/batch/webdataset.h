#pragma once
// WebDataset's conventions for tar shards (webdataset.tariterators and autodecode): members
// that share a key form a sample, and the member whose suffix is an image type is its image.

#include <optional>
#include <string>
#include <vector>

namespace querylens::batch {

// A member name split as WebDataset's base_plus_ext splits it (regular expression
// ^((?:.*/|)[^.]+)[.]([^/]*)$): the key is the path up to the first dot of the base name, the
// suffix all after it, lower-cased ("a/img001.seg.PNG" -> "a/img001", "seg.png"). A name with
// no dot in its base name has no key (WebDataset passes it over).
struct WebDatasetName {
    std::string key;
    std::string suffix;
};
std::optional<WebDatasetName> splitWebDatasetName(const std::string& member);

// Members WebDataset passes over as metadata: "__...__" at the top level, or a path starting
// with a "__...__" folder.
bool isWebDatasetMetadata(const std::string& member);

// True when the suffix's last part ("png" of "seg.png") is one of the extensions WebDataset
// hands its image decoder.
bool isImageSuffix(const std::string& suffix);

struct WebDatasetSample {
    std::string key;
    std::string imageMember;
};

struct ShardListing {
    std::vector<WebDatasetSample> samples;
    std::vector<std::string> warnings;
};

// The shard's samples in order: consecutive members with the same key (as WebDataset's
// group_by_keys), each with its image (jpg, jpeg, png, webp first, then any other image suffix,
// in member order). Samples without an image, repeated suffixes and keys that come back after
// another sample are passed over with a warning. Reads only the members' headers.
ShardListing listWebDatasetShard(const std::string& path);

}  // namespace querylens::batch
