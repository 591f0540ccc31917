#pragma once
// Weights by their Hugging Face names, through one checking helper: a missing key, a wrong
// shape (expected vs found) and a key nobody used are three distinct errors naming the file.

#include "io/weight_archive.h"
#include "querylens/progress.h"

#include <ATen/ATen.h>

#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace querylens::model {

struct NamedTensor {
    std::string name;
    at::Tensor tensor;
};

class WeightLoader {
public:
    WeightLoader(std::shared_ptr<const io::WeightArchive> archive, at::Device device, ProgressCallback progress = {});
    // No archive: every load() makes a randomly initialised tensor of the asked shape (the demo
    // model, and benchmarks at real model sizes without 15 GB of files). Every name "exists".
    // `keepCreated` keeps the tensors for created() (writing a checkpoint). They are the very
    // tensors a float32 or bfloat16 model holds, so keeping them costs nothing more; int8
    // blocks (loadRows) are not kept.
    static WeightLoader random(at::Device device, std::uint64_t seed, bool keepCreated = false);

    bool contains(const std::string& name) const;
    // The shape as stored, or nothing for a random loader (the config's sizes apply).
    std::optional<std::vector<std::int64_t>> storedShape(const std::string& name) const;

    // The tensor `name`, checked to have `shape`, as `dtype` on the loader's device. When the
    // stored dtype already is `dtype` on the CPU, the tensor aliases the memory map (no copy);
    // otherwise it is converted and the mapped pages it came from are released.
    at::Tensor load(const std::string& name, at::IntArrayRef shape, at::ScalarType dtype = at::kFloat);

    // Rows [first, first + count) of the matrix `name` (checked to have `shape`) as float32, their
    // mapped pages released: for converting a large weight a block at a time (int8) without a
    // whole-matrix copy. Blocks of a random loader are drawn independently.
    at::Tensor loadRows(const std::string& name, at::IntArrayRef shape, std::int64_t first, std::int64_t count);
    // Marks a key as deliberately unused (a tied alias, the Q-Former's text branch).
    void skip(const std::string& name);
    // Every key in the archive that no load() or skip() asked for, sorted.
    std::vector<std::string> unusedKeys() const;
    // Throws Error naming the first unused key, unless `ignore` accepts it.
    void requireAllUsed(const std::function<bool(const std::string&)>& ignore) const;

    at::Device device() const { return device_; }
    std::string description() const;  // the file or folder to name in errors
    std::string fileOf(const std::string& name) const;
    // The tensors a random loader made, in the order asked for and in the dtype asked for.
    const std::vector<NamedTensor>& created() const { return created_; }
    std::int64_t createdElements() const { return createdElements_; }

private:
    at::Tensor randomTensor(const std::string& name, at::IntArrayRef shape, at::ScalarType dtype);
    // The stored tensor `name`, checked to have `shape` and marked used; throws naming the file.
    const io::WeightArchive::Entry& storedEntry(const std::string& name, at::IntArrayRef shape);

    std::shared_ptr<const io::WeightArchive> archive_;
    at::Device device_;
    ProgressCallback progress_;
    std::set<std::string> used_;
    std::size_t bytesDone_ = 0;
    std::size_t bytesTotal_ = 0;
    std::optional<at::Generator> generator_;  // set for a random loader
    std::vector<NamedTensor> created_;
    bool keepCreated_ = false;
    std::int64_t createdElements_ = 0;
    std::size_t createdBytes_ = 0;  // in the loaded dtypes
};

std::string shapeText(at::IntArrayRef shape);

}  // namespace querylens::model
