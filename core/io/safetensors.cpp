#include "io/safetensors.h"

#include "querylens/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>

namespace querylens::io {
namespace {

using nlohmann::json;

// Headers of real checkpoints are a few hundred kB; anything past this is a corrupt length.
constexpr std::uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

std::string shapeText(const std::vector<std::int64_t>& shape)
{
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

std::string rangeText(std::size_t begin, std::size_t end)
{
    return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

std::uint64_t readLength(const std::byte* bytes)
{
    std::uint64_t value = 0;
    for (int i = 7; i >= 0; --i)
        value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
    return value;
}

std::size_t checkedByteCount(const std::vector<std::int64_t>& shape, DType dtype, const std::string& path,
                             const std::string& name)
{
    std::size_t count = dtypeSize(dtype);
    for (auto dim : shape) {
        if (dim < 0)
            throw Error("negative dimension in shape " + shapeText(shape), path, name);
        if (dim != 0 && count > std::numeric_limits<std::size_t>::max() / static_cast<std::size_t>(dim))
            throw Error("shape " + shapeText(shape) + " is too large", path, name);
        count *= static_cast<std::size_t>(dim);
    }
    return count;
}

TensorRecord parseRecord(const std::string& name, const json& entry, std::size_t dataStart, std::size_t dataSize,
                         const std::string& path)
{
    if (!entry.is_object())
        throw Error("header entry is not an object", path, name);
    const auto dtypeIt = entry.find("dtype");
    const auto shapeIt = entry.find("shape");
    const auto offsetsIt = entry.find("data_offsets");
    if (dtypeIt == entry.end() || !dtypeIt->is_string())
        throw Error("header entry has no dtype", path, name);
    if (shapeIt == entry.end() || !shapeIt->is_array())
        throw Error("header entry has no shape", path, name);
    if (offsetsIt == entry.end() || !offsetsIt->is_array() || offsetsIt->size() != 2 ||
        !(*offsetsIt)[0].is_number_unsigned() || !(*offsetsIt)[1].is_number_unsigned())
        throw Error("header entry has no valid data_offsets [begin, end]", path, name);

    TensorRecord record;
    record.name = name;
    const auto dtype = parseDType(dtypeIt->get<std::string>());
    if (!dtype)
        throw Error("unknown dtype '" + printableText(dtypeIt->get<std::string>()) + "'", path, name);
    record.dtype = *dtype;
    for (const auto& dim : *shapeIt) {
        if (!dim.is_number_integer())
            throw Error("shape holds a value that is not an integer", path, name);
        record.shape.push_back(dim.get<std::int64_t>());
    }
    const auto begin = (*offsetsIt)[0].get<std::uint64_t>();
    const auto end = (*offsetsIt)[1].get<std::uint64_t>();
    if (begin > end)
        throw Error("data_offsets " + rangeText(begin, end) + " end before they begin", path, name);
    if (end > dataSize)
        throw Error("data_offsets " + rangeText(begin, end) + " lie beyond the data section of " +
                        std::to_string(dataSize) + " bytes (file truncated?)",
                    path, name);
    const std::size_t expected = checkedByteCount(record.shape, record.dtype, path, name);
    if (expected != end - begin)
        throw Error("shape " + shapeText(record.shape) + " of " + dtypeName(record.dtype) + " needs " +
                        std::to_string(expected) + " bytes but data_offsets " + rangeText(begin, end) + " span " +
                        std::to_string(end - begin),
                    path, name);
    record.offset = dataStart + begin;
    record.nbytes = end - begin;
    return record;
}

}  // namespace

std::int64_t TensorRecord::numel() const
{
    std::int64_t n = 1;
    for (auto dim : shape)
        n *= dim;
    return n;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::string& path)
{
    return std::make_shared<const SafetensorsFile>(path);
}

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(path)
{
    if (file_.size() < 8)
        throw Error("file of " + std::to_string(file_.size()) + " bytes is too short for a safetensors header",
                    path);
    const std::uint64_t headerLength = readLength(file_.data());
    if (headerLength > file_.size() - 8)
        throw Error("header length " + std::to_string(headerLength) + " runs past the end of the file (" +
                        std::to_string(file_.size()) + " bytes; truncated or not a safetensors file)",
                    path);
    if (headerLength > kMaxHeaderBytes)
        throw Error("header length " + std::to_string(headerLength) + " is implausibly large", path);

    const char* headerText = reinterpret_cast<const char*>(file_.data() + 8);
    json header = json::parse(headerText, headerText + headerLength, nullptr, false);
    if (header.is_discarded())
        throw Error("header is not valid JSON", path);
    if (!header.is_object())
        throw Error("header is not a JSON object", path);

    const std::size_t dataStart = 8 + headerLength;
    const std::size_t dataSize = file_.size() - dataStart;
    for (const auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object())
                throw Error("__metadata__ is not an object", path, name);
            for (const auto& [key, value] : entry.items())
                if (value.is_string())
                    metadata_[key] = value.get<std::string>();
            continue;
        }
        tensors_.push_back(parseRecord(name, entry, dataStart, dataSize, path));
    }

    // In file order, each tensor must start where (or after) the previous one ended.
    std::sort(tensors_.begin(), tensors_.end(),
              [](const TensorRecord& a, const TensorRecord& b) { return a.offset < b.offset; });
    for (std::size_t i = 1; i < tensors_.size(); ++i) {
        const auto& previous = tensors_[i - 1];
        const auto& current = tensors_[i];
        if (current.offset < previous.offset + previous.nbytes && current.nbytes > 0 && previous.nbytes > 0)
            throw Error("data_offsets " + rangeText(current.offset - dataStart, current.offset - dataStart + current.nbytes) +
                            " overlap those of '" + printableText(previous.name) + "' " +
                            rangeText(previous.offset - dataStart, previous.offset - dataStart + previous.nbytes),
                        path, current.name);
    }
    for (std::size_t i = 0; i < tensors_.size(); ++i)
        index_.emplace(tensors_[i].name, i);
}

const TensorRecord* SafetensorsFile::find(const std::string& name) const
{
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

void writeSafetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata)
{
    json header = json::object();
    if (!metadata.empty())
        header["__metadata__"] = metadata;
    std::size_t offset = 0;
    std::vector<std::size_t> sizes;
    for (const auto& tensor : tensors) {
        const std::size_t bytes = checkedByteCount(tensor.shape, tensor.dtype, path, tensor.name);
        header[tensor.name] = {{"dtype", dtypeName(tensor.dtype)},
                               {"shape", tensor.shape},
                               {"data_offsets", {offset, offset + bytes}}};
        sizes.push_back(bytes);
        offset += bytes;
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');

    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        throw Error("cannot open for writing", path);
    std::uint64_t length = text.size();
    char lengthBytes[8];
    for (int i = 0; i < 8; ++i)
        lengthBytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
    out.write(lengthBytes, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (std::size_t i = 0; i < tensors.size(); ++i)
        out.write(static_cast<const char*>(tensors[i].data), static_cast<std::streamsize>(sizes[i]));
    out.flush();
    if (!out)
        throw Error("write failed (disk full?)", path);
}

}  // namespace querylens::io
