#include "model/kernels/kernel_calibration.h"

#include "io/atomic_file.h"
#include "model/kernels/isa.h"
#include "model/kernels/matmul.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace querylens::model::kernels {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "querylens-kernel-choice";
constexpr int kVersion = 1;
// Larger files are not ours (a machine's entry is a few hundred bytes).
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t(1) << 20;
// Alternated full-size runs of each kernel after one warm-up each; the best of them counts
// (other work on the machine only ever slows a run down).
constexpr int kRounds = 3;
// Rows of the probe that decides whether a kernel is too slow to be worth timing at full size
// (libtorch's bf16 at::linear on a CPU without AVX512_BF16 runs at a few GFLOP/s: an image's
// products would take seconds), and how much slower that is.
constexpr std::int64_t kProbeRows = 32;
constexpr double kProbeRatio = 4;

double secondsOf(GemmKernel kernel, const at::Tensor& x, const at::Tensor& w, const at::Tensor& b)
{
    const auto start = std::chrono::steady_clock::now();
    const at::Tensor y = linearWith(kernel, x, w, {}, b);
    (void)y;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

GemmTiming measure(const GemmShape& shape)
{
    // Random operands of the layer's shape: the rates do not depend on the values.
    const at::ScalarType type = shape.weights == "bf16" ? at::kBFloat16 : at::kFloat;
    const at::Tensor w = (at::randn({shape.n, shape.k}) / std::sqrt(double(shape.k))).to(type).contiguous();  // [n, k]
    const at::Tensor b = at::randn({shape.n}) * 0.1;                                                     // [n]
    const at::Tensor x = at::randn({shape.m, shape.k});                                                  // [m, k]
    GemmTiming t;
    t.shape = shape;
    t.source = "measured";
    if (shape.m > 2 * kProbeRows) {
        const at::Tensor probe = x.narrow(0, 0, kProbeRows);
        (void)secondsOf(GemmKernel::Ours, probe, w, b);  // warm-ups
        (void)secondsOf(GemmKernel::Libtorch, probe, w, b);
        const double ours = secondsOf(GemmKernel::Ours, probe, w, b);
        const double libtorch = secondsOf(GemmKernel::Libtorch, probe, w, b);
        if (ours > kProbeRatio * libtorch || libtorch > kProbeRatio * ours) {
            const double scale = double(shape.m) / double(kProbeRows);
            t.oursSeconds = ours * scale;
            t.libtorchSeconds = libtorch * scale;
            t.choice = fasterKernel(t.oursSeconds, t.libtorchSeconds);
            return t;
        }
    }
    t.oursSeconds = t.libtorchSeconds = std::numeric_limits<double>::infinity();
    (void)secondsOf(GemmKernel::Ours, x, w, b);
    (void)secondsOf(GemmKernel::Libtorch, x, w, b);
    for (int round = 0; round < kRounds; ++round) {
        t.oursSeconds = std::min(t.oursSeconds, secondsOf(GemmKernel::Ours, x, w, b));
        t.libtorchSeconds = std::min(t.libtorchSeconds, secondsOf(GemmKernel::Libtorch, x, w, b));
    }
    t.choice = fasterKernel(t.oursSeconds, t.libtorchSeconds);
    return t;
}

bool sameShape(const GemmShape& a, const GemmShape& b)
{
    return a.weights == b.weights && a.m == b.m && a.n == b.n && a.k == b.k;
}

// The file as JSON, or a null json when it does not exist; throws std::runtime_error when it
// exists but cannot be ours.
json readFile(const std::string& path)
{
    std::error_code error;
    if (!fs::exists(path, error))
        return nullptr;
    if (fs::file_size(path, error) > kMaxFileBytes)
        throw std::runtime_error("larger than " + std::to_string(kMaxFileBytes) + " bytes");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot be read");
    std::stringstream text;
    text << in.rdbuf();
    json file = json::parse(text.str(), nullptr, false);
    if (file.is_discarded())
        throw std::runtime_error("not valid JSON");
    parseCalibrationEntries(file, std::string());  // checks the layout
    return file;
}

}  // namespace

std::string defaultCalibrationFile()
{
    if (const char* own = std::getenv("QUERYLENS_KERNEL_CACHE"); own && *own)
        return own;
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return (fs::path(xdg) / "querylens" / "kernel-choice.json").string();
    const char* home = std::getenv("HOME");
    return (fs::path(home ? home : ".") / ".cache" / "querylens" / "kernel-choice.json").string();
}

std::string calibrationKey()
{
    const CpuFeatures& cpu = cpuFeatures();
    return "cpu=" + cpu.model + "; flags=" + cpu.flags() + "; isa=" + isaName(activeIsa()) +
           "; threads=" + std::to_string(at::get_num_threads()) + "; libtorch=" + TORCH_VERSION;
}

std::vector<GemmTiming> parseCalibrationEntries(const json& file, const std::string& key)
{
    if (!file.is_object())
        throw std::runtime_error("not a JSON object");
    const auto format = file.find("format");
    if (format == file.end() || *format != kFormat)
        throw std::runtime_error(std::string("no \"format\": \"") + kFormat + "\"");
    const auto version = file.find("version");
    if (version == file.end() || *version != kVersion)
        throw std::runtime_error("not version " + std::to_string(kVersion));
    const auto machines = file.find("machines");
    if (machines == file.end() || !machines->is_object())
        throw std::runtime_error("no \"machines\" object");
    std::vector<GemmTiming> timings;
    for (const auto& [machine, entries] : machines->items()) {
        if (!entries.is_array())
            throw std::runtime_error("the entry of a machine is not a list");
        for (const json& e : entries) {
            const auto isNumber = [&](const char* name) { return e.is_object() && e.contains(name) && e[name].is_number(); };
            const auto isText = [&](const char* name) { return e.is_object() && e.contains(name) && e[name].is_string(); };
            if (!isText("layer") || !isText("weights") || !isNumber("m") || !isNumber("n") || !isNumber("k") ||
                !isNumber("ours_s") || !isNumber("libtorch_s"))
                throw std::runtime_error("an entry lacks layer, weights, m, n, k, ours_s or libtorch_s");
            GemmTiming t;
            t.shape.layer = e["layer"].get<std::string>();
            t.shape.weights = e["weights"].get<std::string>();
            t.shape.m = e["m"].get<std::int64_t>();
            t.shape.n = e["n"].get<std::int64_t>();
            t.shape.k = e["k"].get<std::int64_t>();
            t.oursSeconds = e["ours_s"].get<double>();
            t.libtorchSeconds = e["libtorch_s"].get<double>();
            if (t.shape.m <= 0 || t.shape.n <= 0 || t.shape.k <= 0 || !(t.oursSeconds > 0) || !(t.libtorchSeconds > 0))
                throw std::runtime_error("an entry has a size or a time that is not positive");
            t.choice = fasterKernel(t.oursSeconds, t.libtorchSeconds);
            t.source = "cache";
            if (machine == key)
                timings.push_back(t);
        }
    }
    return timings;
}

json withCalibrationEntries(json file, const std::string& key, const std::vector<GemmTiming>& timings)
{
    if (!file.is_object())
        file = json::object();
    file["format"] = kFormat;
    file["version"] = kVersion;
    if (!file.contains("machines") || !file["machines"].is_object())
        file["machines"] = json::object();
    json entries = json::array();
    for (const GemmTiming& t : timings)
        entries.push_back({{"layer", t.shape.layer},
                           {"weights", t.shape.weights},
                           {"m", t.shape.m},
                           {"n", t.shape.n},
                           {"k", t.shape.k},
                           {"ours_s", t.oursSeconds},
                           {"libtorch_s", t.libtorchSeconds}});
    file["machines"][key] = entries;
    return file;
}

CalibrationOutcome calibrate(const std::vector<GemmShape>& shapes, const std::string& file)
{
    CalibrationOutcome outcome;
    const std::string key = calibrationKey();
    json contents;
    std::vector<GemmTiming> known;
    bool rewrite = false;
    try {
        contents = readFile(file);
        if (!contents.is_null())
            known = parseCalibrationEntries(contents, key);
    } catch (const std::exception& e) {
        outcome.warnings.push_back("the kernel choice cache " + file + " is " + e.what() +
                                   ": ignored, measured again and rewritten");
        contents = nullptr;
        rewrite = true;
    }

    const c10::InferenceMode inference;
    for (const GemmShape& shape : shapes) {
        const auto found =
            std::find_if(known.begin(), known.end(), [&](const GemmTiming& t) { return sameShape(t.shape, shape); });
        if (found != known.end()) {
            GemmTiming t = *found;
            t.shape.layer = shape.layer;
            outcome.timings.push_back(t);
            continue;
        }
        const auto start = std::chrono::steady_clock::now();
        outcome.timings.push_back(measure(shape));
        outcome.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        known.push_back(outcome.timings.back());
        rewrite = true;
    }
    if (!rewrite)
        return outcome;
    try {
        const fs::path parent = fs::path(file).parent_path();
        if (!parent.empty())
            fs::create_directories(parent);
        io::writeFileAtomically(file, withCalibrationEntries(contents, key, known).dump(1) + "\n");
    } catch (const std::exception& e) {
        outcome.warnings.push_back(std::string("the kernel choice could not be kept for the next start: ") + e.what());
    }
    return outcome;
}

}  // namespace querylens::model::kernels
