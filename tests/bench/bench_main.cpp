// querylens-bench: BLIP-2 at real sizes (random weights, or a checkpoint folder) against this
// machine's limits, measured in the same run.
//   querylens-bench [--model blip2-opt-2.7b|blip2-flan-t5-xl|DIR] [--precision fp32|bf16|int8]
//                   [--threads N] [--scale F] [--repeat N] [--tokens N] [--batch N] [--json FILE]
//   querylens-bench --save-checkpoint DIR [--model NAME] [--precision fp32|bf16] [--scale F]
//     writes the random model as a sharded Hugging Face checkpoint, to measure loading with --model DIR.

#include "bench_arguments.h"
#include "bench_timing.h"
#include "io/process_memory.h"
#include "checkpoint_writer.h"
#include "machine_limits.h"
#include "model/kernels/gemv.h"
#include "model/kernels/isa.h"
#include "model/kernels/kernel_calibration.h"
#include "model/kernels/matmul.h"
#include "model_bench.h"
#include "model_configs.h"
#include "model/vision_products.h"
#include "querylens/error.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

using namespace querylens::model;

namespace {

struct Options {
    std::string model = "blip2-opt-2.7b";
    std::string precision = "bf16";
    int threads = 0;
    double scale = 1.0;
    int repeats = 3;
    int tokens = 32;
    int batch = 4;
    std::string json;
    std::string saveCheckpoint;
    int encodeOnly = 0;  // > 0: that many image encodes and nothing else, for a profiler
    int decodeOnly = 0;  // > 0: that many greedy tokens and nothing else, for a profiler
    bool workerThread = false;     // those encodes on a thread of their own, as the window runs them
    bool keepThreadHeaps = false;  // with io::keepThreadHeaps, as the demo trainer runs
};

const char* const kUsage =
    "usage: querylens-bench [--model blip2-opt-2.7b|blip2-flan-t5-xl|DIR] [--precision fp32|bf16|int8]\n"
    "                       [--threads N] [--scale F] [--repeat N] [--tokens N] [--batch N] [--json FILE]\n"
    "                       [--encode-only N [--worker-thread] [--keep-thread-heaps]] [--decode-only N]\n"
    "       querylens-bench --save-checkpoint DIR [--model NAME] [--precision fp32|bf16] [--scale F]\n"
    "  --encode-only N  encode the image of a batch of --batch N times and print the time, nothing\n"
    "                   else: a window for `perf record -p` on the image path alone; with the\n"
    "                   page faults an encode takes, on a thread of its own with --worker-thread\n"
    "                   (as the window runs models), with glibc's thread heaps kept by\n"
    "                   --keep-thread-heaps (as the demo trainer runs)\n"
    "  --decode-only N  one image encoded and a prompt prefilled, then N greedy tokens timed and\n"
    "                   nothing else: the window for `perf record -p` on decoding alone\n";

Options parse(int argc, char** argv)
{
    Options o;
    BenchArguments arguments(argc, argv, "querylens-bench", kUsage);
    while (arguments.next()) {
        const std::string& arg = arguments.option();
        if (arg == "--model")
            o.model = arguments.text();
        else if (arg == "--precision")
            o.precision = arguments.choice("fp32|bf16|int8");
        else if (arg == "--threads")
            o.threads = int(arguments.integer(1));
        else if (arg == "--scale")
            o.scale = arguments.number(0);
        else if (arg == "--repeat")
            o.repeats = int(arguments.integer(1));
        else if (arg == "--tokens")
            o.tokens = int(arguments.integer(2));
        else if (arg == "--batch")
            o.batch = int(arguments.integer(1));
        else if (arg == "--json")
            o.json = arguments.text();
        else if (arg == "--encode-only")
            o.encodeOnly = int(arguments.integer(1));
        else if (arg == "--decode-only")
            o.decodeOnly = int(arguments.integer(1));
        else if (arg == "--worker-thread")
            o.workerThread = true;
        else if (arg == "--keep-thread-heaps")
            o.keepThreadHeaps = true;
        else if (arg == "--save-checkpoint")
            o.saveCheckpoint = arguments.text();
        else
            arguments.unknown();
    }
    if (o.scale > 1)
        arguments.fail("--scale must be in (0, 1]");
    if (!o.saveCheckpoint.empty() && o.precision == "int8")
        arguments.fail("--save-checkpoint writes fp32 or bf16 (int8 is a load-time choice)");
    return o;
}

WeightFormats formats(const std::string& precision)
{
    if (precision == "bf16")
        return {WeightFormat::BFloat16, WeightFormat::BFloat16};
    if (precision == "int8")
        return {WeightFormat::BFloat16, WeightFormat::Int8};
    return {};
}

// Minor page faults of the whole process so far (every thread's, the OpenMP workers' too).
long minorPageFaults()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

std::string gb(double bytes)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.2f GB", bytes / 1e9);
    return text;
}

// Builds the random model and writes it as a checkpoint folder; returns the exit code.
int saveCheckpoint(const Options& o)
{
    try {
        const nlohmann::json config = realModelConfig(o.model, o.scale);
        std::vector<NamedTensor> tensors;
        const auto model = Blip2Model::random(Blip2Config::fromJson(config, o.model), formats(o.precision), at::kCPU,
                                              1, &tensors);
        const Stopwatch watch;
        writeCheckpointFolder(o.saveCheckpoint, config, tensors, std::size_t(2) << 30);
        std::cerr << "wrote " << o.model << " (" << o.precision << ", " << gb(double(model->weightBytes())) << ") to "
                  << o.saveCheckpoint << " in " << watch.seconds() << " s\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "querylens-bench: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv)
{
    const Options o = parse(argc, argv);
    const int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
    querylens::io::keepFreedMemoryForReuse();  // as the program does (io/process_memory.h)
    c10::InferenceMode inference;
    if (!o.saveCheckpoint.empty())
        return saveCheckpoint(o);

    const std::size_t runtimeRss = statusBytes("VmRSS");  // libtorch and the program, before any weight
    // Bandwidth before the model as well as after it: other work on a shared machine only ever
    // lowers the rate, so the better of the two is the machine's limit.
    const double bandwidthBefore = measureReadBandwidth(std::max(3, o.repeats));
    std::unique_ptr<Blip2Model> model;
    std::string name = o.model;
    const Stopwatch loadWatch;
    try {
        if (std::filesystem::is_directory(o.model)) {
            model = Blip2Model::load(o.model, formats(o.precision), at::kCPU);
        } else {
            const nlohmann::json config = realModelConfig(o.model, o.scale);
            model = Blip2Model::random(Blip2Config::fromJson(config, o.model), formats(o.precision), at::kCPU, 1);
            if (o.scale < 1)
                name += " (layers x" + std::to_string(o.scale).substr(0, 4) + ")";
        }
    } catch (const std::exception& e) {
        std::cerr << "querylens-bench: " << e.what() << "\n";
        return 1;
    }
    const double loadSeconds = loadWatch.seconds();
    const std::size_t builtRss = statusBytes("VmRSS"), buildPeakRss = statusBytes("VmHWM");
    std::cerr << "built " << name << " at " << o.precision << " in " << loadSeconds << " s; measuring...\n";

    // Which kernel runs each image product: in the measured mode (QUERYLENS_KERNEL_CHOICE unset),
    // the timings kept for this machine, or timed now, as the program does at load.
    kernels::CalibrationOutcome choice;
    if (kernels::kernelChoiceMode() == kernels::KernelChoiceMode::Measured) {
        choice = kernels::calibrate(visionProductShapes(model->config().vision_config, formats(o.precision).vision),
                                    kernels::defaultCalibrationFile());
        kernels::recordTimings(choice.timings);
        for (const std::string& warning : choice.warnings)
            std::cerr << "querylens-bench: " << warning << "\n";
    }
    nlohmann::json choiceJson = nlohmann::json::array();
    for (const kernels::GemmTiming& t : choice.timings)
        choiceJson.push_back({{"layer", t.shape.layer},
                              {"weights", t.shape.weights},
                              {"m", t.shape.m},
                              {"n", t.shape.n},
                              {"k", t.shape.k},
                              {"kernel", kernels::gemmKernelName(t.choice)},
                              {"ours_gflops", t.oursGflops()},
                              {"libtorch_gflops", t.libtorchGflops()},
                              {"source", t.source}});

    // The kernels' choices, read before the baseline switches to libtorch.
    const std::string visionType = o.precision == "fp32" ? "fp32" : "bf16";
    const nlohmann::json paths = {{"isa", kernels::isaName(kernels::activeIsa())},
                                  {"images", kernels::gemmPath(visionType)},
                                  {"prompts", kernels::gemmPath(o.precision)},
                                  {"decode", kernels::decodePath(o.precision)},
                                  {"attention", kernels::attentionPath()}};
    if (o.encodeOnly > 0) {
        std::cerr << "encoding " << o.encodeOnly << " times, pid " << getpid() << "\n";
        if (o.keepThreadHeaps)
            querylens::io::keepThreadHeaps();
        std::pair<double, double> timing;
        const long faultsBefore = minorPageFaults();
        auto encode = [&] { timing = timeImageEncode(*model, o.batch, o.encodeOnly); };
        if (o.workerThread)
            std::thread(encode).join();
        else
            encode();
        const double faults = double(minorPageFaults() - faultsBefore) / (o.encodeOnly + 1);  // + the warm-up
        std::printf("image encode, batch of %d: %.0f ms (spread %.0f%%; median of %d, %s, %d thread(s)%s%s); %.0f page "
                    "faults an encode\n",
                    o.batch, timing.first, 100 * timing.second, o.encodeOnly, kernels::isaName(kernels::activeIsa()),
                    threads, o.workerThread ? ", on a worker thread" : "", o.keepThreadHeaps ? ", thread heaps kept" : "",
                    faults);
        return 0;
    }
    if (o.decodeOnly > 0) {
        std::cerr << "decoding " << o.decodeOnly << " tokens, pid " << getpid() << "\n";
        const double rate = timeDecode(*model, o.decodeOnly);
        std::printf("decode (greedy), %d tokens: %.2f tok/s (%s, %d thread(s)); %s of weights read a token\n", o.decodeOnly,
                    rate, kernels::isaName(kernels::activeIsa()), threads,
                    gb(double(model->languageModel().stepWeightBytes())).c_str());
        return 0;
    }
    ModelFigures f = benchModel(*model, o.repeats, o.tokens, o.batch);
    f.loadSeconds = loadSeconds;
    model.reset();  // the machine measurements need the memory
    MachineLimits limits = measureMachineLimits(o.repeats);
    const double bandwidthAfter = limits.bandwidthGBs;
    limits.bandwidthGBs = std::max(bandwidthBefore, bandwidthAfter);

    const double peak = o.precision == "fp32" ? limits.fp32GemmGflops : limits.bf16GemmGflops;
    const double bestPeak = std::max(limits.fp32GemmGflops, limits.bf16GemmGflops);
    const double encodeGflops = f.visionGflop / (f.visionMs / 1000);
    const double eagerRatio = f.eagerEncodeMs / f.encodeMs;
    const double bandwidthTokens = limits.bandwidthGBs * 1e9 / double(f.languageBytesPerToken);
    const double bandwidthRatio = f.decodeTokensPerSecond / bandwidthTokens;
    const double followupRatio = f.followupFirstTokenMs / f.firstTokenMs;

    std::printf("\nQueryLens benchmark: %s, %s, %d thread(s), kernels %s\n", name.c_str(), o.precision.c_str(),
                threads, kernels::isaName(kernels::activeIsa()));
    std::printf("  machine: read bandwidth %.1f GB/s (before the model %.1f, after %.1f); fp32 GEMM %.1f GFLOP/s; bf16 GEMM (libtorch) %.1f GFLOP/s;"
                " bf16 widened to fp32 GEMM %.1f GFLOP/s\n",
                limits.bandwidthGBs, bandwidthBefore, bandwidthAfter, limits.fp32GemmGflops, limits.bf16GemmGflops, limits.widenedBf16Gflops);
    const kernels::CpuFeatures& cpu = kernels::cpuFeatures();
    std::printf("  cpu: %s; %s\n  OpenBLAS kernels: %s\n", cpu.model.c_str(), cpu.flags().c_str(), openBlasKernels().c_str());
    std::printf("  kernels: %s; images: %s; prompts: %s; decode: %s; attention: %s\n",
                paths["isa"].get<std::string>().c_str(), paths["images"].get<std::string>().c_str(),
                paths["prompts"].get<std::string>().c_str(), paths["decode"].get<std::string>().c_str(),
                paths["attention"].get<std::string>().c_str());
    std::printf("  kernel choice: %s", kernels::kernelChoiceModeName(kernels::kernelChoiceMode()));
    if (!choice.timings.empty())
        std::printf(" (%s)", choice.seconds > 0 ? ("timed at this start in " + std::to_string(choice.seconds).substr(0, 4) + " s").c_str()
                                                : "from the cache file");
    std::printf("\n");
    for (const kernels::GemmTiming& t : choice.timings)
        std::printf("    %-26s %s %5lld x %5lld x %5lld: ours %6.1f, libtorch %6.1f GFLOP/s -> %s\n", t.shape.layer.c_str(),
                    t.shape.weights.c_str(), (long long)t.shape.m, (long long)t.shape.k, (long long)t.shape.n,
                    t.oursGflops(), t.libtorchGflops(), kernels::gemmKernelName(t.choice));
    std::printf("  %-34s %12s\n", "figure", "value");
    std::printf("  %-34s %12s\n", "weights in memory", gb(double(f.weightBytes)).c_str());
    std::printf("  %-34s %10.2f s\n", "build / load", f.loadSeconds);
    std::printf("  %-34s %9.0f ms  (spread %.0f%%)\n", "vision encoder", f.visionMs, 100 * f.visionSpread);
    std::printf("  %-34s %9.0f ms\n", "Q-Former + projection", f.qformerMs);
    std::printf("  %-34s %9.0f ms  (spread %.0f%%; %.1f GFLOP/s in the vision encoder: %.2f x the best libtorch GEMM"
                " rate, %.2f x the %s one)\n",
                "image encode", f.encodeMs, 100 * f.encodeSpread, encodeGflops, encodeGflops / bestPeak,
                encodeGflops / peak, o.precision == "fp32" ? "fp32" : "bf16");
    std::printf("  %-34s %9.0f ms  (spread %.0f%%; ours %.2fx faster)\n", "image encode, eager (at::linear)",
                f.eagerEncodeMs, 100 * f.eagerEncodeSpread, eagerRatio);
    if (f.batchSize > 1)
        std::printf("  %-34s %9.2f images/s (spread %.0f%%; one at a time %.2f images/s)\n",
                    ("image encode, batch of " + std::to_string(f.batchSize)).c_str(), f.batchImagesPerSecond,
                    100 * f.batchSpread, 1000 / f.encodeMs);
    std::printf("  %-34s %9.0f ms  (spread %.0f%%)\n", "prompt prefill + first token", f.prefillMs,
                100 * f.prefillSpread);
    std::printf("  %-34s %9.0f ms  (spread %.0f%%; image encode + prefill)\n", "time to first token", f.firstTokenMs,
                100 * f.firstTokenSpread);
    std::printf("  %-34s %9.2f tok/s (spread %.0f%%; %.0f%% of the bandwidth limit %.2f tok/s)\n", "decode (greedy)",
                f.decodeTokensPerSecond, 100 * f.decodeSpread, 100 * bandwidthRatio, bandwidthTokens);
    std::printf("  %-34s %9.2f tok/s (ours: %.2fx)\n", "decode through libtorch at::linear",
                f.baselineDecodeTokensPerSecond, f.decodeTokensPerSecond / f.baselineDecodeTokensPerSecond);
    std::printf("  %-34s %9.0f ms  (%.0f%% of the first's time to first token, %.0f%% of its prefill; %lld positions"
                " reused)\n",
                "follow-up turn, first token", f.followupFirstTokenMs, 100 * followupRatio,
                100 * f.followupFirstTokenMs / f.prefillMs, (long long)f.followupReused);
    std::printf("  %-34s %12s  (%.2f x the weights)\n", "peak resident memory", gb(double(f.peakRssBytes)).c_str(),
                double(f.peakRssBytes) / double(f.weightBytes));
    std::printf("  %-34s %12s  (runtime before the model %s; after loading %s, peak while loading %s)\n",
                "  of which", "", gb(double(runtimeRss)).c_str(), gb(double(builtRss)).c_str(),
                gb(double(buildPeakRss)).c_str());

    if (!o.json.empty()) {
        const nlohmann::json report = {
            {"model", name},
            {"precision", o.precision},
            {"threads", threads},
            {"scale", o.scale},
            {"weights_bytes", f.weightBytes},
            {"load_s", f.loadSeconds},
            {"vision_ms", f.visionMs},
            {"qformer_ms", f.qformerMs},
            {"encode_ms", f.encodeMs},
            {"prefill_ms", f.prefillMs},
            {"first_token_ms", f.firstTokenMs},
            {"decode_tokens_per_s", f.decodeTokensPerSecond},
            {"baseline_decode_tokens_per_s", f.baselineDecodeTokensPerSecond},
            {"followup_first_token_ms", f.followupFirstTokenMs},
            {"followup_ratio", followupRatio},
            {"peak_rss_bytes", f.peakRssBytes},
            {"runtime_rss_bytes", runtimeRss},
            {"loaded_rss_bytes", builtRss},
            {"load_peak_rss_bytes", buildPeakRss},
            {"decode_bandwidth_ratio", bandwidthRatio},
            {"encode_peak_ratio", encodeGflops / peak},
            {"encode_spread", f.encodeSpread},
            {"encode_gflops", encodeGflops},
            {"encode_best_peak_ratio", encodeGflops / bestPeak},
            {"libtorch_fp32_gemm_gflops", limits.fp32GemmGflops},
            {"libtorch_bf16_gemm_gflops", limits.bf16GemmGflops},
            {"eager_encode_ms", f.eagerEncodeMs},
            {"eager_encode_spread", f.eagerEncodeSpread},
            {"encode_eager_ratio", eagerRatio},
            {"batch_size", f.batchSize},
            {"batch_images_per_s", f.batchImagesPerSecond},
            {"batch_spread", f.batchSpread},
            {"single_images_per_s", 1000 / f.encodeMs},
            {"decode_spread", f.decodeSpread},
            {"first_token_spread", f.firstTokenSpread},
            {"cpu_model", cpu.model},
            {"cpu_flags", cpu.flags()},
            {"openblas_kernels", openBlasKernels()},
            {"kernel_paths", paths},
            {"kernel_choice", kernels::kernelChoiceModeName(kernels::kernelChoiceMode())},
            {"kernel_choice_products", choiceJson},
            {"encode_fp32_peak_ratio", encodeGflops / limits.fp32GemmGflops},
            {"bandwidth_gb_s", limits.bandwidthGBs},
            {"fp32_matmul_gflops", limits.fp32GemmGflops},
            {"bf16_matmul_gflops", limits.bf16GemmGflops},
            {"bf16_widened_matmul_gflops", limits.widenedBf16Gflops},
        };
        std::ofstream(o.json) << report.dump(2) << "\n";
    }
    return 0;
}
