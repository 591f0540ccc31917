#include "model/kernels/kernel_choice.h"

#include <cstdlib>
#include <mutex>

namespace querylens::model::kernels {

namespace {

std::mutex g_mutex;
std::optional<KernelChoiceMode> g_forcedMode;  // setKernelChoiceMode
std::vector<GemmTiming> g_timings;             // recordTimings

std::optional<KernelChoiceMode> environmentMode()
{
    static const std::optional<KernelChoiceMode> mode = [] {
        const char* value = std::getenv("QUERYLENS_KERNEL_CHOICE");
        return value && *value ? parseKernelChoiceMode(value) : std::nullopt;
    }();
    return mode;
}

}  // namespace

const char* gemmKernelName(GemmKernel kernel) { return kernel == GemmKernel::Ours ? "ours" : "libtorch"; }

const char* kernelChoiceModeName(KernelChoiceMode mode)
{
    switch (mode) {
    case KernelChoiceMode::Ours: return "ours";
    case KernelChoiceMode::Libtorch: return "libtorch";
    case KernelChoiceMode::Measured: return "measured";
    }
    return "measured";
}

std::optional<KernelChoiceMode> parseKernelChoiceMode(const std::string& name)
{
    for (KernelChoiceMode mode : {KernelChoiceMode::Ours, KernelChoiceMode::Libtorch, KernelChoiceMode::Measured})
        if (name == kernelChoiceModeName(mode))
            return mode;
    return std::nullopt;
}

KernelChoiceMode kernelChoiceMode()
{
    {
        const std::lock_guard lock(g_mutex);
        if (g_forcedMode)
            return *g_forcedMode;
    }
    return environmentMode().value_or(KernelChoiceMode::Measured);
}

void setKernelChoiceMode(std::optional<KernelChoiceMode> mode)
{
    const std::lock_guard lock(g_mutex);
    g_forcedMode = mode;
}

std::string invalidKernelChoiceEnvironment()
{
    const char* value = std::getenv("QUERYLENS_KERNEL_CHOICE");
    return value && *value && !parseKernelChoiceMode(value) ? std::string(value) : std::string();
}

GemmKernel fasterKernel(double oursSeconds, double libtorchSeconds)
{
    const bool valid = oursSeconds > 0 && libtorchSeconds > 0;  // false for NaN too
    return valid && libtorchSeconds < oursSeconds ? GemmKernel::Libtorch : GemmKernel::Ours;
}

void recordTimings(const std::vector<GemmTiming>& timings)
{
    const std::lock_guard lock(g_mutex);
    for (const GemmTiming& t : timings) {
        bool replaced = false;
        for (GemmTiming& old : g_timings)
            if (old.shape.weights == t.shape.weights && old.shape.n == t.shape.n && old.shape.k == t.shape.k) {
                old = t;
                replaced = true;
            }
        if (!replaced)
            g_timings.push_back(t);
    }
}

std::vector<GemmTiming> recordedTimings()
{
    const std::lock_guard lock(g_mutex);
    return g_timings;
}

void clearRecordedTimings()
{
    const std::lock_guard lock(g_mutex);
    g_timings.clear();
}

GemmKernel chosenKernel(const std::string& weights, std::int64_t m, std::int64_t n, std::int64_t k)
{
    if (weights != "fp32" && weights != "bf16")
        return GemmKernel::Ours;
    const KernelChoiceMode mode = kernelChoiceMode();
    if (mode != KernelChoiceMode::Measured)
        return mode == KernelChoiceMode::Libtorch ? GemmKernel::Libtorch : GemmKernel::Ours;
    const std::lock_guard lock(g_mutex);
    for (const GemmTiming& t : g_timings)
        if (t.shape.weights == weights && t.shape.n == n && t.shape.k == k && 2 * m >= t.shape.m)
            return t.choice;
    return GemmKernel::Ours;
}

}  // namespace querylens::model::kernels
