// The AMX kernel checks itself once on the CPU it runs on before the program trusts it: it was
// written and tested against a software model of the tile instructions (tests/core/
// amx_tile_model.h), because no machine it was developed on has AMX. Should the real
// instructions disagree with the model (a layout read the wrong way, a stride), the products
// stay right: the avx512bf16 kernel runs instead and the reason is shown with the other
// start-up warnings. Should they fault (a tile configuration the CPU rejects raises #GP, an
// instruction it lacks #UD), the check catches the signal on its own thread and reports it the
// same way, rather than the program dying at its first image.

#include "model/kernels/gemm_amx_tiles.h"
#include "model/kernels/gemv.h"
#include "model/kernels/isa.h"

#include <c10/util/BFloat16.h>

#include <csetjmp>
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

namespace querylens::model::kernels {

namespace {

// c10::BFloat16 rounds to nearest even, as vcvtne2ps2bf16 does.
std::uint16_t bf16Bits(float v) { return c10::BFloat16(v).x; }

float fromBf16(std::uint16_t bits) { return c10::BFloat16(bits, c10::BFloat16::from_bits()); }

// A small deterministic pseudo-random value in [-1, 1).
float nextValue(std::uint32_t& state)
{
    state = state * 1664525u + 1013904223u;
    return float(state >> 8) / float(1u << 23) - 1.0f;
}

thread_local sigjmp_buf* t_onFault = nullptr;

void jumpOutOfFault(int signal)
{
    if (t_onFault)
        siglongjmp(*t_onFault, signal);
    std::signal(signal, SIG_DFL);  // a fault elsewhere, meanwhile: what it would have done
    std::raise(signal);
}

// Runs `work` with SIGILL, SIGSEGV and SIGBUS caught on this thread; returns the signal that
// stopped it, or 0. `work` must own nothing that needs destroying: a fault leaves its frames
// without unwinding them.
template <class Work>
int runCatchingFaults(const Work& work)
{
    struct sigaction catcher {};
    catcher.sa_handler = jumpOutOfFault;
    sigemptyset(&catcher.sa_mask);
    catcher.sa_flags = SA_NODEFER;
    struct sigaction before[3];
    const int signals[3] = {SIGILL, SIGSEGV, SIGBUS};
    for (int i = 0; i < 3; ++i)
        sigaction(signals[i], &catcher, &before[i]);
    sigjmp_buf onFault;
    const int caught = sigsetjmp(onFault, 1);
    if (caught == 0) {
        t_onFault = &onFault;
        work();
    }
    t_onFault = nullptr;
    for (int i = 0; i < 3; ++i)
        sigaction(signals[i], &before[i], nullptr);
    return caught;
}

struct ShapeOutcome {
    double error = 0.0;  // relative, against float64
    int signal = 0;      // the fault that stopped the kernel, or 0
};

// The AMX product of one shape against a float64 product of the same rounded inputs.
ShapeOutcome checkShape(std::int64_t m, std::int64_t n, std::int64_t k, bool epilogue)
{
    std::uint32_t state = std::uint32_t(m * 7919 + n * 104729 + k);
    std::vector<std::uint16_t> weight(std::size_t(n * k));
    for (std::uint16_t& w : weight)
        w = bf16Bits(nextValue(state));
    std::vector<float> x(std::size_t(m * k)), residual(std::size_t(m * n)), y(std::size_t(m * n));
    std::vector<float> bias(static_cast<std::size_t>(n));
    for (float& v : x)
        v = nextValue(state);
    for (float& v : bias)
        v = nextValue(state);
    for (float& v : residual)
        v = nextValue(state);
    GemvArguments a;
    a.weight = weight.data();
    a.type = WeightType::BFloat16;
    a.bias = bias.data();
    a.x = x.data();
    a.y = y.data();
    a.m = m;
    a.n = n;
    a.k = k;
    if (epilogue) {
        a.activation = GemmActivation::Gelu;
        a.residual = residual.data();
    }
    const std::unique_ptr<std::uint32_t[]> packed(new std::uint32_t[std::size_t(amx::packedRowsSize(m, k))]);
    ShapeOutcome outcome;
    outcome.signal = runCatchingFaults([&] {
        packRowsAmx(a.x, m, k, 0, amx::rowBlockCount(m), packed.get());
        gemmPanelsAmx(a, packed.get(), 0, amx::panelCount(n));
    });
    if (outcome.signal)
        return outcome;
    double worst = 0.0, largest = 1e-6;
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            double sum = bias[std::size_t(j)];
            for (std::int64_t c = 0; c < k; ++c)
                sum += double(fromBf16(bf16Bits(x[std::size_t(i * k + c)]))) * double(fromBf16(weight[std::size_t(j * k + c)]));
            if (epilogue)
                sum = 0.5 * sum * (1.0 + std::erf(sum / std::sqrt(2.0))) + residual[std::size_t(i * n + j)];
            worst = std::max(worst, std::abs(double(y[std::size_t(i * n + j)]) - sum));
            largest = std::max(largest, std::abs(sum));
        }
    outcome.error = worst / largest;
    return outcome;
}

}  // namespace

std::string checkAmxKernel()
{
    // Whole tiles read in place (33 rows: two row blocks and a lone one), and a shape with every
    // tail (n, k and an odd k) read from the padded copy, with the fused epilogue.
    struct Shape {
        std::int64_t m, n, k;
        bool epilogue;
    };
    for (const Shape& s : {Shape{33, 64, 64, false}, Shape{37, 40, 101, true}}) {
        const ShapeOutcome outcome = checkShape(s.m, s.n, s.k, s.epilogue);
        char text[320];
        if (outcome.signal)
            std::snprintf(text, sizeof text,
                          "the AMX kernel faulted on this CPU (%s at %lld x %lld x %lld): bf16 products use the "
                          "avx512bf16 kernel instead",
                          strsignal(outcome.signal), static_cast<long long>(s.m), static_cast<long long>(s.n),
                          static_cast<long long>(s.k));
        else if (!(outcome.error < 1e-4))
            std::snprintf(text, sizeof text,
                          "the AMX kernel disagreed with a scalar product on this CPU (relative error %.3g at "
                          "%lld x %lld x %lld): bf16 products use the avx512bf16 kernel instead",
                          outcome.error, static_cast<long long>(s.m), static_cast<long long>(s.n),
                          static_cast<long long>(s.k));
        else
            continue;
        return text;
    }
    return {};
}

const std::string& amxKernelProblem()
{
    static const std::string none;
    if (supportedIsa() < Isa::Amx)
        return none;
    static const std::string problem = checkAmxKernel();
    return problem;
}

}  // namespace querylens::model::kernels
