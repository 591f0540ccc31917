#pragma once
// Reading and writing the safetensors format: an 8-byte little-endian header length, a JSON
// header naming each tensor's dtype, shape and byte range, then the raw bytes.
// https://github.com/huggingface/safetensors#format

#include "io/dtype.h"
#include "io/mapped_file.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace querylens::io {

struct TensorRecord {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    std::size_t offset = 0;  // from the start of the file
    std::size_t nbytes = 0;

    std::int64_t numel() const;
};

// One mapped .safetensors file whose header has been fully validated: every malformed input
// (short file, header beyond the file, bad JSON, unknown dtype, offsets out of range or
// overlapping, shape x dtype not equal to the byte span) is an Error naming the file and key.
class SafetensorsFile {
public:
    static std::shared_ptr<const SafetensorsFile> open(const std::string& path);

    const std::string& path() const { return file_.path(); }
    const std::vector<TensorRecord>& tensors() const { return tensors_; }
    const TensorRecord* find(const std::string& name) const;
    const std::byte* data(const TensorRecord& record) const { return file_.data() + record.offset; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const MappedFile& mapping() const { return file_; }

    explicit SafetensorsFile(const std::string& path);  // use open()

private:
    MappedFile file_;
    std::vector<TensorRecord> tensors_;
    std::unordered_map<std::string, std::size_t> index_;
    std::map<std::string, std::string> metadata_;
};

// A tensor to write: the bytes are read from `data`, which must hold numel x dtypeSize bytes.
struct TensorToWrite {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape;
    const void* data = nullptr;
};

// Writes tensors in the order given, the header padded to a multiple of 8 bytes as the
// reference writer does. Throws Error naming the path on failure.
void writeSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace querylens::io
