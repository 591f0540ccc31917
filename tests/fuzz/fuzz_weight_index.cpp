// A sharded checkpoint folder: model.safetensors.index.json and two shards, all from the input
// (parts: index, first shard, second shard). Every tensor the archive lists is found in the
// shard the index names, and no file outside the folder is opened.

#include "fuzz_support.h"
#include "io/weight_archive.h"
#include "querylens/error.h"

#include <filesystem>

QUERYLENS_FUZZ_TARGET(weight_index)
{
    namespace fs = std::filesystem;
    using namespace querylens::io;
    const auto parts = fuzzsupport::splitParts(data, size, 3);
    static const fuzzsupport::Scratch scratch("weight_index");
    scratch.clear();
    scratch.write("model.safetensors.index.json", parts[0]);
    if (!parts[1].empty())
        scratch.write("model-00001-of-00002.safetensors", parts[1]);
    if (!parts[2].empty())
        scratch.write("model-00002-of-00002.safetensors", parts[2]);
    try {
        const WeightArchive archive = WeightArchive::openFolder(scratch.folder());
        for (const std::string& name : archive.names()) {
            const auto* entry = archive.find(name);
            FUZZ_CHECK(entry && entry->record->name == name, name);
            FUZZ_CHECK(fs::path(entry->file->path()).parent_path() == fs::path(scratch.folder()), entry->file->path());
            FUZZ_CHECK(entry->record->numel() >= 0, name);
        }
        archive.totalBytes();
    } catch (const querylens::Error&) {
    }
    return 0;
}
