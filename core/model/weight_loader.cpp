#include "model/weight_loader.h"

#include "model/progress_check.h"
#include "querylens/error.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdint>

namespace querylens::model {
namespace {

at::ScalarType scalarTypeOf(io::DType type, const std::string& file, const std::string& name)
{
    switch (type) {
    case io::DType::F32: return at::kFloat;
    case io::DType::F16: return at::kHalf;
    case io::DType::BF16: return at::kBFloat16;
    case io::DType::F64: return at::kDouble;
    case io::DType::I64: return at::kLong;
    case io::DType::I32: return at::kInt;
    case io::DType::I8: return at::kChar;
    case io::DType::U8: return at::kByte;
    default: break;
    }
    throw Error(std::string("weights of dtype ") + io::dtypeName(type) + " are not supported", file, name);
}

}  // namespace

std::string shapeText(at::IntArrayRef shape)
{
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

WeightLoader::WeightLoader(std::shared_ptr<const io::WeightArchive> archive, at::Device device,
                           ProgressCallback progress)
    : archive_(std::move(archive)), device_(device), progress_(std::move(progress)),
      bytesTotal_(archive_ ? archive_->totalBytes() : 0)
{
}

WeightLoader WeightLoader::random(at::Device device, std::uint64_t seed, bool keepCreated)
{
    WeightLoader loader(nullptr, device);
    loader.generator_ = at::make_generator<at::CPUGeneratorImpl>(seed);
    loader.keepCreated_ = keepCreated;
    return loader;
}

bool WeightLoader::contains(const std::string& name) const { return !archive_ || archive_->find(name) != nullptr; }

std::optional<std::vector<std::int64_t>> WeightLoader::storedShape(const std::string& name) const
{
    const auto* entry = archive_ ? archive_->find(name) : nullptr;
    if (!entry)
        return std::nullopt;
    return entry->record->shape;
}

std::string WeightLoader::description() const { return archive_ ? archive_->description() : "random weights"; }

std::string WeightLoader::fileOf(const std::string& name) const
{
    const auto* entry = archive_ ? archive_->find(name) : nullptr;
    return entry ? entry->file->path() : description();
}

at::Tensor WeightLoader::randomTensor(const std::string& name, at::IntArrayRef shape, at::ScalarType dtype)
{
    // Scales like the golden fixtures' (activations stay O(1), logits well separated): matrices
    // N(0, 1/fan_in), norm scales 1 + N(0, 0.1^2), biases N(0, 0.1^2), tables N(0, 1).
    const auto endsWith = [&](const char* suffix) {
        const std::string s(suffix);
        return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    double mean = 0.0, deviation = 1.0;
    // The same for a block of a matrix's rows as for the whole (loadRows).
    const std::int64_t fanIn = shape.empty() ? 1 : c10::multiply_integers(shape) / std::max<std::int64_t>(1, shape[0]);
    if (shape.size() == 1 && endsWith("weight")) {
        mean = 1.0;
        deviation = 0.1;
    } else if (shape.size() == 1) {
        deviation = 0.1;
    } else if (name.find("embed") == std::string::npos && name.find("query_tokens") == std::string::npos &&
               name.find("relative_attention_bias") == std::string::npos && !endsWith("class_embedding") &&
               !endsWith("position_embedding") && name.find("shared") == std::string::npos) {
        deviation = 1.0 / std::sqrt(double(fanIn));
    }
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    const std::int64_t count = t.numel();
    if (dtype == at::kFloat) {
        t.normal_(mean, deviation, *generator_);
    } else {
        // Drawn a million float32 values at a time straight into the asked dtype: float32 copies
        // of a 3.9 B-parameter model's matrices, even one at a time, leave the heap fragmented
        // and the resident size well above the weights'.
        at::Tensor flat = t.view({-1});
        const std::int64_t chunk = std::int64_t(1) << 20;
        at::Tensor drawn = at::empty({std::min(count, chunk)}, at::kFloat);
        for (std::int64_t offset = 0; offset < count; offset += chunk) {
            const std::int64_t n = std::min(chunk, count - offset);
            at::Tensor part = drawn.narrow(0, 0, n);
            part.normal_(mean, deviation, *generator_);
            flat.narrow(0, offset, n).copy_(part);
        }
    }
    createdElements_ += count;
    if (keepCreated_)
        created_.push_back({name, t});
    return t.to(device_);
}

const io::WeightArchive::Entry& WeightLoader::storedEntry(const std::string& name, at::IntArrayRef shape)
{
    const auto* entry = archive_->find(name);
    if (!entry)
        throw Error("missing weight (expected shape " + shapeText(shape) + ")", archive_->description(), name);
    const auto& stored = entry->record->shape;
    if (at::IntArrayRef(stored) != shape)
        throw Error("weight has the wrong shape: expected " + shapeText(shape) + ", found " + shapeText(stored),
                    entry->file->path(), name);
    used_.insert(name);
    return *entry;
}

at::Tensor WeightLoader::load(const std::string& name, at::IntArrayRef shape, at::ScalarType dtype)
{
    if (!archive_)
        return randomTensor(name, shape, dtype);
    const auto& entry = storedEntry(name, shape);
    const auto& record = *entry.record;

    const at::ScalarType stored = scalarTypeOf(record.dtype, entry.file->path(), name);
    // The mapping is read-only and outlives the model (the model keeps the archive), so an
    // aliasing tensor is safe as long as nothing writes to weights, which nothing does.
    void* bytes = const_cast<std::byte*>(entry.file->data(record));
    at::Tensor mapped = at::from_blob(bytes, shape, at::TensorOptions().dtype(stored));
    const bool aligned = reinterpret_cast<std::uintptr_t>(bytes) % at::elementSize(stored) == 0;

    at::Tensor result;
    if (stored == dtype && device_.is_cpu() && aligned) {
        entry.file->mapping().prefault(record.offset, record.nbytes);
        result = mapped;
    } else {
        result = (aligned ? mapped : mapped.clone()).to(device_, dtype, /*non_blocking=*/false, /*copy=*/true);
        entry.file->mapping().dropPages(record.offset, record.nbytes);
    }
    bytesDone_ += record.nbytes;
    if (bytesTotal_ > 0)
        reportProgress(progress_, double(bytesDone_) / double(bytesTotal_), "loading weights");
    return result;
}

at::Tensor WeightLoader::loadRows(const std::string& name, at::IntArrayRef shape, std::int64_t first,
                                  std::int64_t count)
{
    if (!archive_) {
        std::vector<std::int64_t> part = shape.vec();
        part[0] = count;
        return randomTensor(name, part, at::kFloat);
    }
    const auto& entry = storedEntry(name, shape);
    const auto& record = *entry.record;
    const at::ScalarType stored = scalarTypeOf(record.dtype, entry.file->path(), name);
    const std::size_t rowBytes = record.nbytes / std::size_t(shape[0]);
    std::vector<std::int64_t> part = shape.vec();
    part[0] = count;
    std::byte* bytes = const_cast<std::byte*>(entry.file->data(record)) + std::size_t(first) * rowBytes;
    const bool aligned = reinterpret_cast<std::uintptr_t>(bytes) % at::elementSize(stored) == 0;
    const at::Tensor mapped = at::from_blob(bytes, part, at::TensorOptions().dtype(stored));
    at::Tensor result = (aligned ? mapped : mapped.clone()).to(at::kFloat, false, /*copy=*/true);
    entry.file->mapping().dropPages(record.offset + std::size_t(first) * rowBytes, std::size_t(count) * rowBytes);
    bytesDone_ += std::size_t(count) * rowBytes;
    if (bytesTotal_ > 0 && first + count == shape[0])
        reportProgress(progress_, double(bytesDone_) / double(bytesTotal_), "loading weights");
    return result;
}

void WeightLoader::skip(const std::string& name) { used_.insert(name); }

std::vector<std::string> WeightLoader::unusedKeys() const
{
    std::vector<std::string> unused;
    if (!archive_)
        return unused;
    for (const auto& name : archive_->names())
        if (!used_.count(name))
            unused.push_back(name);
    return unused;
}

void WeightLoader::requireAllUsed(const std::function<bool(const std::string&)>& ignore) const
{
    for (const auto& name : unusedKeys())
        if (!ignore || !ignore(name))
            throw Error("unexpected weight that no part of the model uses (wrong architecture in config.json?)",
                        fileOf(name), name);
}

}  // namespace querylens::model
