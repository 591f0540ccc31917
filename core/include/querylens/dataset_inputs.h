#pragma once
// What a batch runs over: image files, folders, lists of paths and WebDataset tar shards, each
// image named by a key that results, resuming, sharding and merging use.

#include <string>
#include <vector>

namespace querylens {

struct DatasetItem {
    // The image's name in the results: its path as reached from the inputs given (relative
    // stays relative, normalised: "data/./a.jpg" is "data/a.jpg"), so that a folder, a list and
    // the files themselves give the same keys; for a sample of a WebDataset shard, the shard's
    // path, "/" and the sample's key ("shards/000.tar/img0001").
    std::string key;
    std::string path;    // the image file, or the shard
    std::string member;  // the image's member name inside the shard; empty for a file

    bool inShard() const { return !member.empty(); }
};

struct InputListing {
    std::vector<DatasetItem> items;
    std::vector<std::string> warnings;  // e.g. samples without an image, inputs given twice
};

// Expands the inputs of `querylens batch`, in order:
//  - an image file: itself (whatever its extension: the decoder decides);
//  - a folder: its image files (by extension, lower-cased, without the dot: `imageExtensions`),
//    recursively, sorted by path; names starting with '.' are left out;
//  - "@FILE": one input per line of FILE (blank lines and lines starting with '#' are left out;
//    relative paths are relative to FILE's folder), each expanded as above;
//  - a tar shard (.tar, .tar.gz, .tgz, .tar.bz2, .tar.xz, .tar.zst; read with libarchive, never
//    unpacked): its samples, grouped as WebDataset groups them (see webdataset.h).
// An input given twice is kept once. Throws Error naming the path when an input does not exist
// or cannot be read.
InputListing listInputs(const std::vector<std::string>& arguments, const std::vector<std::string>& imageExtensions);

// The image types a folder's files are taken for when the caller has no list of its own.
const std::vector<std::string>& defaultImageExtensions();

bool isTarShard(const std::string& path);

}  // namespace querylens
