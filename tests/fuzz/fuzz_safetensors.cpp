// The safetensors reader on arbitrary file bytes: a header that validates must describe
// tensors that lie inside the file, do not overlap, and whose shape and dtype account for
// exactly their bytes.

#include "fuzz_support.h"
#include "io/safetensors.h"
#include "io/weight_archive.h"
#include "querylens/error.h"

#include <string>

QUERYLENS_FUZZ_TARGET(safetensors)
{
    using namespace querylens::io;
    static const fuzzsupport::Scratch scratch("safetensors");
    const std::string path = scratch.write("model.safetensors", std::string(reinterpret_cast<const char*>(data), size));
    try {
        const WeightArchive archive = WeightArchive::openFile(path);
        std::size_t total = 0;
        for (const std::string& name : archive.names()) {
            const auto* entry = archive.find(name);
            FUZZ_CHECK(entry && entry->record->name == name, name);
            const TensorRecord& record = *entry->record;
            FUZZ_CHECK(record.offset + record.nbytes <= size, name);
            FUZZ_CHECK(std::size_t(record.numel()) * dtypeSize(record.dtype) == record.nbytes, name);
            if (record.nbytes > 0) {
                // Touch the first and the last byte through the mapping, as a weight load would.
                const std::byte* bytes = entry->file->data(record);
                volatile std::byte sink = bytes[0];
                sink = bytes[record.nbytes - 1];
                (void)sink;
            }
            total += record.nbytes;
        }
        FUZZ_CHECK(total == archive.totalBytes(), "totalBytes");
        FUZZ_CHECK(total <= size, "tensors larger than the file");
    } catch (const querylens::Error&) {
    }
    return 0;
}
