#include "model/weight_loader.h"

#include "model/progress_check.h"
#include "querylens/error.h"

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
      bytesTotal_(archive_->totalBytes())
{
}

bool WeightLoader::contains(const std::string& name) const { return archive_->find(name) != nullptr; }

std::string WeightLoader::fileOf(const std::string& name) const
{
    const auto* entry = archive_->find(name);
    return entry ? entry->file->path() : archive_->description();
}

at::Tensor WeightLoader::load(const std::string& name, at::IntArrayRef shape, at::ScalarType dtype)
{
    const auto* entry = archive_->find(name);
    if (!entry)
        throw Error("missing weight (expected shape " + shapeText(shape) + ")", archive_->description(), name);
    const auto& record = *entry->record;
    if (at::IntArrayRef(record.shape) != shape)
        throw Error("weight has the wrong shape: expected " + shapeText(shape) + ", found " + shapeText(record.shape),
                    entry->file->path(), name);
    used_.insert(name);

    const at::ScalarType stored = scalarTypeOf(record.dtype, entry->file->path(), name);
    // The mapping is read-only and outlives the model (the model keeps the archive), so an
    // aliasing tensor is safe as long as nothing writes to weights, which nothing does.
    void* bytes = const_cast<std::byte*>(entry->file->data(record));
    at::Tensor mapped = at::from_blob(bytes, shape, at::TensorOptions().dtype(stored));
    const bool aligned = reinterpret_cast<std::uintptr_t>(bytes) % at::elementSize(stored) == 0;

    at::Tensor result;
    if (stored == dtype && device_.is_cpu() && aligned) {
        result = mapped;
    } else {
        result = (aligned ? mapped : mapped.clone()).to(device_, dtype, /*non_blocking=*/false, /*copy=*/true);
        entry->file->mapping().dropPages(record.offset, record.nbytes);
    }
    bytesDone_ += record.nbytes;
    if (bytesTotal_ > 0)
        reportProgress(progress_, double(bytesDone_) / double(bytesTotal_), "loading weights");
    return result;
}

void WeightLoader::skip(const std::string& name) { used_.insert(name); }

std::vector<std::string> WeightLoader::unusedKeys() const
{
    std::vector<std::string> unused;
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
