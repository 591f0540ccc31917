#include "model/kernels/kernel_calibration.h"

#include "io/atomic_file.h"
#include "io/user_folders.h"
#include "model/kernels/gemv.h"
#include "model/kernels/isa.h"
#include "model/kernels/matmul.h"
#include "model/kernels/openblas_core.h"

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
constexpr int kRounds = 5;
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

// Random operands of a layer's shape (the rates do not depend on the values).
struct Operands {
    at::Tensor w, b, x;  // [n, k] at the weights' type, [n], [m, k]
};

Operands operandsOf(const GemmShape& shape)
{
    const at::ScalarType type = shape.weights == "bf16" ? at::kBFloat16 : at::kFloat;
    return {(at::randn({shape.n, shape.k}) / std::sqrt(double(shape.k))).to(type).contiguous(),
            at::randn({shape.n}) * 0.1, at::randn({shape.m, shape.k})};
}

// Both kernels on every shape. The full-size runs go round all the shapes kRounds times, each
// round alternating which kernel goes first, and the best run of each counts: on a machine
// shared with other work a burst of load then spoils one run of many shapes instead of every
// run of one shape.
std::vector<GemmTiming> measure(const std::vector<GemmShape>& shapes)
{
    std::vector<GemmTiming> timings(shapes.size());
    std::vector<Operands> operands;
    std::vector<std::size_t> full;  // shapes timed at full size
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        GemmTiming& t = timings[i];
        t.shape = shapes[i];
        t.source = "measured";
        operands.push_back(operandsOf(shapes[i]));
        const Operands& o = operands.back();
        if (shapes[i].m > 2 * kProbeRows) {
            const at::Tensor probe = o.x.narrow(0, 0, kProbeRows);
            double ours = std::numeric_limits<double>::infinity(), libtorch = ours;
            for (int run = 0; run < 3; ++run) {  // the first is a warm-up, but counts if the others are worse
                ours = std::min(ours, secondsOf(GemmKernel::Ours, probe, o.w, o.b));
                libtorch = std::min(libtorch, secondsOf(GemmKernel::Libtorch, probe, o.w, o.b));
            }
            if (ours > kProbeRatio * libtorch || libtorch > kProbeRatio * ours) {
                const double scale = double(shapes[i].m) / double(kProbeRows);
                t.oursSeconds = ours * scale;
                t.libtorchSeconds = libtorch * scale;
                continue;
            }
        }
        (void)secondsOf(GemmKernel::Ours, o.x, o.w, o.b);  // warm-ups
        (void)secondsOf(GemmKernel::Libtorch, o.x, o.w, o.b);
        t.oursSeconds = t.libtorchSeconds = std::numeric_limits<double>::infinity();
        full.push_back(i);
    }
    for (int round = 0; round < kRounds; ++round)
        for (std::size_t i : full) {
            const Operands& o = operands[i];
            GemmTiming& t = timings[i];
            const GemmKernel first = round % 2 ? GemmKernel::Libtorch : GemmKernel::Ours;
            const GemmKernel order[2] = {first, first == GemmKernel::Ours ? GemmKernel::Libtorch : GemmKernel::Ours};
            for (GemmKernel kernel : order) {
                double& best = kernel == GemmKernel::Ours ? t.oursSeconds : t.libtorchSeconds;
                best = std::min(best, secondsOf(kernel, o.x, o.w, o.b));
            }
        }
    for (GemmTiming& t : timings)
        t.choice = fasterKernel(t.oursSeconds, t.libtorchSeconds);
    return timings;
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
    return io::querylensUserPath(io::UserFolder::Cache, "kernel-choice.json", "QUERYLENS_KERNEL_CACHE");
}

namespace {

// Raised whenever our GEMM kernels change, so that the timings a build with older kernels cached
// are taken again rather than trusted: 2 added the amx kernel (before it, the amx level ran the
// avx512bf16 one, and an AMX machine's cache holds that kernel's timings).
constexpr int kOurKernelsRevision = 2;

}  // namespace

std::string calibrationKey()
{
    const CpuFeatures& cpu = cpuFeatures();
    // An AMX kernel that failed its check on this CPU is not what was timed when it passed.
    const std::string amx = activeIsa() >= Isa::Amx && !amxKernelProblem().empty() ? " (amx kernel refused)" : "";
    return "cpu=" + cpu.model + "; flags=" + cpu.flags() + "; isa=" + isaName(activeIsa()) + amx +
           "; kernels=" + std::to_string(kOurKernelsRevision) + "; threads=" + std::to_string(at::get_num_threads()) +
           "; libtorch=" + TORCH_VERSION + "; openblas=" + openBlasCore();
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
    std::vector<GemmShape> missing;
    for (const GemmShape& shape : shapes)
        if (std::none_of(known.begin(), known.end(), [&](const GemmTiming& t) { return sameShape(t.shape, shape); }))
            missing.push_back(shape);
    if (!missing.empty()) {
        const auto start = std::chrono::steady_clock::now();
        const std::vector<GemmTiming> measured = measure(missing);
        outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        known.insert(known.end(), measured.begin(), measured.end());
        rewrite = true;
    }
    for (const GemmShape& shape : shapes) {
        GemmTiming t = *std::find_if(known.begin(), known.end(), [&](const GemmTiming& k) { return sameShape(k.shape, shape); });
        t.shape.layer = shape.layer;
        outcome.timings.push_back(t);
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
