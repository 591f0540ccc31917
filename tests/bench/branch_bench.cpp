// querylens-branch-bench: what keeping each branch's cache saves when a conversation branches.
// BLIP-2 OPT-2.7b (random weights; --scale keeps a fraction of the layers, widths unchanged).
// A conversation q1 a1 q2 a2; q2 edited into q2' (another branch, answered b2); then back on the
// first branch, a follow-up q3. Its first token is timed three ways, as a session would run it:
//   fresh        nothing in the language model's cache (the image's encoding is given)
//   one cache    the cache holds the newest branch (q2'): only the start the branches share is reused
//   kept caches  the first branch's own cache, copied (what Session keeps, kBranchCaches of them)
// and regenerating a2 (the whole prompt cached but its last token). Wall and process CPU time
// both; on a shared machine read the CPU time of a --threads 1 run.
//   querylens-branch-bench [--precision fp32|bf16|int8] [--scale F] [--threads N] [--repeat N] [--turn-tokens N]

#include "bench_arguments.h"
#include "bench_timing.h"
#include "io/process_memory.h"
#include "model/blip2.h"
#include "model/kernels/isa.h"
#include "model_configs.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <time.h>

using namespace querylens::model;

namespace {

struct Options {
    std::string precision = "bf16";
    double scale = 0.25;
    int threads = 0;
    int repeats = 3;
    int turnTokens = 12;  // tokens of each question and of each answer
};

const char* const kUsage =
    "usage: querylens-branch-bench [--precision fp32|bf16|int8] [--scale F] [--threads N] [--repeat N]\n"
    "                              [--turn-tokens N]\n";

Options parse(int argc, char** argv)
{
    Options o;
    BenchArguments arguments(argc, argv, "querylens-branch-bench", kUsage);
    while (arguments.next()) {
        const std::string& arg = arguments.option();
        if (arg == "--precision")
            o.precision = arguments.choice("fp32|bf16|int8");
        else if (arg == "--scale")
            o.scale = arguments.number(0);
        else if (arg == "--threads")
            o.threads = int(arguments.integer(1));
        else if (arg == "--repeat")
            o.repeats = int(arguments.integer(1));
        else if (arg == "--turn-tokens")
            o.turnTokens = int(arguments.integer(1));
        else
            arguments.unknown();
    }
    if (o.scale > 1)
        arguments.fail("--scale must be in (0, 1]");
    return o;
}

std::vector<int> ids(int count, int first, int vocab)
{
    std::vector<int> out;
    for (int i = 0; i < count; ++i)
        out.push_back((first + 41 * i) % vocab);
    return out;
}

std::vector<int> join(std::vector<int> a, const std::vector<int>& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

// Greedy answer of `count` tokens after a prefill of `prompt`; the state then holds both.
std::vector<int> answer(const LanguageModel& lm, LanguageModelState& state, const at::Tensor& queries,
                        const std::vector<int>& prompt, int count)
{
    StepOutput out = lm.prefill(state, queries, prompt);
    std::vector<int> generated;
    for (int i = 0; i < count; ++i) {
        const at::Tensor next = out.logits.argmax(-1);
        generated.push_back(int(next.item<std::int64_t>()));
        out = lm.step(state, next);
    }
    return generated;
}

// Wall and CPU time of one piece of work. On a machine others share, wall time swings with their
// load; the process's CPU time (with --threads 1, the work itself) does much less.
struct Timing {
    double wallMs = 0, cpuMs = 0;
};

double cpuMilliseconds()
{
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

class Timer {
public:
    Timing elapsed() const { return {wall_.milliseconds(), cpuMilliseconds() - cpuStart_}; }

private:
    Stopwatch wall_;
    double cpuStart_ = cpuMilliseconds();
};

// Time to the first token's logits of `prompt` in `state`.
Timing firstToken(const LanguageModel& lm, LanguageModelState& state, const at::Tensor& queries,
                  const std::vector<int>& prompt, std::int64_t& reused)
{
    const Timer timer;
    const StepOutput out = lm.prefill(state, queries, prompt);
    (void)out.logits.data_ptr<float>();
    reused = state.reusedPositions();
    return timer.elapsed();
}

struct Samples {
    std::vector<double> wall, cpu;
    void add(Timing t)
    {
        wall.push_back(t.wallMs);
        cpu.push_back(t.cpuMs);
    }
};

}  // namespace

int main(int argc, char** argv)
{
    const Options o = parse(argc, argv);
    at::set_num_threads(o.threads > 0 ? o.threads : int(std::thread::hardware_concurrency()));
    querylens::io::keepFreedMemoryForReuse();  // as the program does (io/process_memory.h)
    c10::InferenceMode inference;
    WeightFormats formats;
    if (o.precision == "bf16")
        formats = {WeightFormat::BFloat16, WeightFormat::BFloat16};
    else if (o.precision == "int8")
        formats = {WeightFormat::BFloat16, WeightFormat::Int8};
    const auto model = Blip2Model::random(Blip2Config::fromJson(realModelConfig("blip2-opt-2.7b", o.scale), "blip2-opt-2.7b"),
                                          formats, at::kCPU, 1);
    const LanguageModel& lm = model->languageModel();
    const int size = model->config().vision_config.image_size;
    const at::Tensor queries = model->encode(at::randn({1, 3, size, size})).projected;  // [1, 32, 2560]
    const int vocab = lm.vocabSize(), n = o.turnTokens;
    const kernels::CpuFeatures& cpu = kernels::cpuFeatures();
    std::printf("cpu: %s; kernels %s\nblip2-opt-2.7b (layers x%g, random weights), %s, %d threads, %d tokens a turn\n",
                cpu.model.c_str(), kernels::isaName(kernels::activeIsa()), o.scale, o.precision.c_str(),
                at::get_num_threads(), n);
    std::fflush(stdout);

    Samples fresh, single, kept, regenerate, copying;
    std::int64_t reusedFresh = 0, reusedSingle = 0, reusedKept = 0, reusedRegenerate = 0, positions = 0;
    for (int r = 0; r < o.repeats + 1; ++r) {  // the first round warms up
        const std::vector<int> q1 = ids(n, 100 + r, vocab), q2 = ids(n, 300 + r, vocab), q2edit = ids(n, 500 + r, vocab),
                               q3 = ids(n, 700 + r, vocab);
        auto branchA = lm.newState();
        const std::vector<int> a1 = answer(lm, *branchA, queries, q1, n);
        const std::vector<int> p2 = join(join(q1, a1), q2);
        const std::vector<int> a2 = answer(lm, *branchA, queries, p2, n);
        auto branchB = branchA->clone();
        answer(lm, *branchB, queries, join(join(q1, a1), q2edit), n);
        const std::vector<int> p3 = join(join(p2, a2), q3);
        positions = std::int64_t(queries.size(1)) + std::int64_t(p3.size());

        auto empty = lm.newState();
        const Timing tFresh = firstToken(lm, *empty, queries, p3, reusedFresh);
        const Timing tSingle = firstToken(lm, *branchB, queries, p3, reusedSingle);
        const Timer copyTimer;
        auto copy = branchA->clone();
        const Timing tCopy = copyTimer.elapsed();
        Timing tKept = firstToken(lm, *copy, queries, p3, reusedKept);
        tKept.wallMs += tCopy.wallMs;
        tKept.cpuMs += tCopy.cpuMs;
        const Timing tRegenerate = firstToken(lm, *branchA, queries, p2, reusedRegenerate);
        if (r == 0)
            continue;
        fresh.add(tFresh);
        single.add(tSingle);
        kept.add(tKept);
        copying.add(tCopy);
        regenerate.add(tRegenerate);
    }
    const double baseWall = median(fresh.wall), baseCpu = median(fresh.cpu);
    auto row = [&](const char* what, const Samples& s, std::int64_t reused, std::int64_t of) {
        std::printf("  %-40s %8.1f ms wall (%5.1f%%, spread %3.0f%%) %8.1f ms cpu (%5.1f%%)  reused %lld of %lld\n", what,
                    median(s.wall), 100 * median(s.wall) / baseWall, 100 * spread(s.wall), median(s.cpu),
                    100 * median(s.cpu) / baseCpu, (long long)reused, (long long)of);
    };
    std::printf("First token of a follow-up on the first branch after an edit made a second one (median of %d;\n"
                "percentages of fresh, in the same run):\n",
                o.repeats);
    row("fresh: nothing cached", fresh, reusedFresh, positions);
    row("one cache (holding the other branch)", single, reusedSingle, positions);
    row("kept caches (the branch's own, copied)", kept, reusedKept, positions);
    row("  of which copying the branch's cache", copying, 0, 0);
    row("regenerating the answer before it", regenerate, reusedRegenerate, std::int64_t(queries.size(1)) + 3 * n);
    return 0;
}
