// The linear-layer kernels of every instruction-set level (portable, avx2, avx512, avx512bf16, amx)
// against a float64 reference, for every storage format, on the decode regime (1-8 rows) and
// the GEMM regime (9 rows and more, beyond a 264-row block), with every tail: rows of x not a
// multiple of the register tile, columns not a multiple of the vector or chunk, odd output
// counts. Levels this CPU lacks are skipped with the reason. Also: the ISA detection and cap,
// attention's head-parallel path, and the libtorch switch.

#include "model/kernels/gemv.h"
#include "model/kernels/isa.h"
#include "model/kernels/matmul.h"
#include "model/layers.h"
#include "model/linear.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <QtTest>

using namespace querylens::model;
using kernels::Isa;

namespace {

// A weight of `format`, and the float32 weight it stands for.
struct TestWeight {
    at::Tensor stored, scales, wide;
};

TestWeight makeWeight(at::ScalarType type, std::int64_t n, std::int64_t k)
{
    const at::Tensor w = at::randn({n, k}) / std::sqrt(double(k));
    TestWeight t;
    if (type == at::kFloat) {
        t.stored = w;
        t.wide = w;
    } else if (type == at::kBFloat16) {
        t.stored = w.to(at::kBFloat16);
        t.wide = t.stored.to(at::kFloat);
    } else {
        t.scales = (w.abs().amax(1) / 127.0).clamp_min(1e-12);
        t.stored = at::round(w / t.scales.unsqueeze(1)).clamp(-127, 127).to(at::kChar);
        t.wide = t.stored.to(at::kFloat) * t.scales.unsqueeze(1);
    }
    return t;
}

double relativeError(const at::Tensor& actual, const at::Tensor& expected)
{
    return (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>() /
           std::max(1e-6, expected.abs().max().item<double>());
}

// x [m][k] as the kernels at `isa` see it: rounded to bf16 for the bf16 GEMM, quantised per
// block of 32 for the int8 dot products, else unchanged. As float64.
at::Tensor inputAsSeen(const at::Tensor& x, at::ScalarType type, Isa isa)
{
    const std::int64_t m = x.size(0), k = x.size(1);
    if (type == at::kBFloat16 && isa >= Isa::Avx512Bf16 && m >= 9)
        return x.to(at::kBFloat16).to(at::kDouble);
    if (type == at::kChar && isa >= Isa::Avx2 && m <= 8) {
        const at::Tensor rows = x.contiguous();
        const kernels::QuantizedRows q = kernels::quantizeActivations(rows.data_ptr<float>(), m, k);
        at::Tensor seen = at::empty({m, k}, at::kDouble);
        for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < k; ++j)
                seen[i][j] = double(q.values[std::size_t(i * q.stride + j)]) *
                             double(q.scales[std::size_t(i * (q.stride / 32) + j / 32)]);
        return seen;
    }
    return x.to(at::kDouble);
}

// QSKIPs the current test when this CPU cannot run `isa`, naming what it has.
#define SKIP_UNLESS_SUPPORTED(isa)                                                                                  \
    if (kernels::supportedIsa() < (isa))                                                                              \
        QSKIP(qPrintable(QStringLiteral("this CPU (%1; %2) cannot run the %3 kernels")                                \
                             .arg(QString::fromStdString(kernels::cpuFeatures().model),                             \
                                  QString::fromStdString(kernels::cpuFeatures().flags()), kernels::isaName(isa))))

struct IsaCap {
    explicit IsaCap(Isa isa) { kernels::setIsaCap(isa); }
    ~IsaCap() { kernels::setIsaCap(std::nullopt); }
};

const std::pair<Isa, const char*> kLevels[] = {{Isa::Portable, "portable"},
                                                {Isa::Avx2, "avx2"},
                                                {Isa::Avx512, "avx512"},
                                                {Isa::Avx512Bf16, "avx512bf16"},
                                                {Isa::Amx, "amx"}};
const std::pair<at::ScalarType, const char*> kTypes[] = {
    {at::kFloat, "fp32"}, {at::kBFloat16, "bf16"}, {at::kChar, "int8"}};

}  // namespace

class TestKernels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        at::manual_seed(0);
        qInfo("CPU: %s; flags: %s; best level %s, active %s", kernels::cpuFeatures().model.c_str(),
              kernels::cpuFeatures().flags().c_str(), kernels::isaName(kernels::supportedIsa()),
              kernels::isaName(kernels::activeIsa()));
    }

    // Every level x format x regime: decode (m <= 8: 4-row and 2 x 4 tiles and their tails) and
    // GEMM (m >= 9: 12-row tiles with every remainder, an image's 257 rows = 21 tiles + 5, a
    // second 264-row block at 300, and 600: float32 weights past 512 rows once went to OpenBLAS),
    // on one and two threads. Shapes: k below one vector (7), odd k (33, 4097: tails of the vector,
    // the pair and the 256-column chunk), n not a multiple of the 16- or 32-row panel (7, 17, 33,
    // 45, 130).
    void linearMatchesFloat64Reference_data()
    {
        QTest::addColumn<int>("isa");
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("k");
        for (const auto& [isa, isaText] : kLevels)
            for (const auto& [type, typeText] : kTypes)
                for (int m : {1, 2, 3, 5, 8, 9, 13, 23, 257, 300, 600})
                    for (auto [n, k] : {std::pair{7, 33}, std::pair{33, 7}, std::pair{45, 258}, std::pair{130, 4097},
                                        std::pair{17, 1000}})
                        QTest::addRow("%s %s m%d n%d k%d", isaText, typeText, m, n, k)
                            << int(isa) << int(type) << m << n << k;
    }
    void linearMatchesFloat64Reference()
    {
        QFETCH(int, isa);
        QFETCH(int, type);
        QFETCH(int, m);
        QFETCH(int, n);
        QFETCH(int, k);
        SKIP_UNLESS_SUPPORTED(Isa(isa));
        const TestWeight w = makeWeight(at::ScalarType(type), n, k);
        const at::Tensor b = m % 2 ? at::randn({n}) : at::Tensor();
        const at::Tensor x = at::randn({m, k});
        const at::Tensor bias64 = b.defined() ? b.to(at::kDouble) : at::Tensor();
        // What this level computes exactly (float64 of the inputs it sees), and the product on
        // the unrounded input, which it approaches within the rounding of x.
        const at::Tensor exact = at::linear(inputAsSeen(x, at::ScalarType(type), Isa(isa)), w.wide.to(at::kDouble), bias64);
        const at::Tensor ideal = at::linear(x.to(at::kDouble), w.wide.to(at::kDouble), bias64);
        const bool roundsInput = !at::equal(inputAsSeen(x, at::ScalarType(type), Isa(isa)), x.to(at::kDouble));
        const IsaCap cap{Isa(isa)};
        QCOMPARE(int(kernels::activeIsa()), isa);
        const int threadsBefore = at::get_num_threads();
        for (int threads : {1, 2}) {
            at::set_num_threads(threads);
            const at::Tensor actual = kernels::linear(x, w.stored, w.scales, b);
            at::set_num_threads(threadsBefore);
            QCOMPARE(actual.sizes(), exact.sizes());
            const double error = relativeError(actual, exact);
            QVERIFY2(error < 1e-5,
                     qPrintable(QStringLiteral("%1 thread(s): relative error %2 against float64").arg(threads).arg(error)));
            // bf16 rounding of x: ~2^-9 per value; int8 per block of 32: 1/254 of the block's largest.
            const double idealError = relativeError(actual, ideal);
            QVERIFY2(idealError < (roundsInput ? 2e-2 : 1e-5),
                     qPrintable(QStringLiteral("relative error %1 against the unrounded input").arg(idealError)));
        }
    }

    // linear() with an epilogue, y = gelu(x W^T + b) + residual, at every level and format: the
    // avx512bf16 GEMM applies it in registers (its own erf), every other path with libtorch's
    // ops; all against float64 with the exact erf. Rows: decode (4), a tile remainder (13), an
    // image (257, its 5-row tail); the residual broadcast from [1, n] once.
    void linearEpilogueMatchesFloat64Reference_data()
    {
        QTest::addColumn<int>("isa");
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("m");
        QTest::addColumn<bool>("gelu");
        QTest::addColumn<bool>("residual");
        for (const auto& [isa, isaText] : kLevels)
            for (const auto& [type, typeText] : kTypes)
                for (int m : {4, 13, 257})
                    for (auto [gelu, residual] : {std::pair{true, false}, std::pair{false, true}, std::pair{true, true}})
                        QTest::addRow("%s %s m%d%s%s", isaText, typeText, m, gelu ? " gelu" : "", residual ? " residual" : "")
                            << int(isa) << int(type) << m << gelu << residual;
    }
    void linearEpilogueMatchesFloat64Reference()
    {
        QFETCH(int, isa);
        QFETCH(int, type);
        QFETCH(int, m);
        QFETCH(bool, gelu);
        QFETCH(bool, residual);
        SKIP_UNLESS_SUPPORTED(Isa(isa));
        const std::int64_t n = 45, k = 131;
        const TestWeight w = makeWeight(at::ScalarType(type), n, k);
        const at::Tensor b = at::randn({n});
        // Inputs spread so that the outputs reach GELU's tails (|y| up to ~8) and cross 0 often.
        const at::Tensor x = at::randn({m, k}) * 3.0;
        const at::Tensor r = residual ? (m == 13 ? at::randn({1, n}) : at::randn({m, n})) : at::Tensor();
        const at::Tensor product =
            at::linear(inputAsSeen(x, at::ScalarType(type), Isa(isa)), w.wide.to(at::kDouble), b.to(at::kDouble));
        at::Tensor expected = product;
        if (gelu)
            expected = 0.5 * expected * (1.0 + at::erf(expected / std::sqrt(2.0)));
        if (residual)
            expected = expected + r.to(at::kDouble);
        const IsaCap cap{Isa(isa)};
        const int threadsBefore = at::get_num_threads();
        for (int threads : {1, 2}) {
            at::set_num_threads(threads);
            const at::Tensor actual = kernels::linear(x, w.stored, w.scales, b, kernels::Epilogue{gelu, r});
            at::set_num_threads(threadsBefore);
            QCOMPARE(actual.sizes(), expected.sizes());
            const double error = relativeError(actual, expected);
            QVERIFY2(error < 1e-5, qPrintable(QStringLiteral("%1 thread(s): relative error %2").arg(threads).arg(error)));
            // GELU of -3 < y < -1 (outputs -0.004 ... -0.16): small values keep their relative
            // precision (no cancellation in 1 + erf; the erfc formula is within 5e-5 there).
            if (gelu && !residual) {
                const at::Tensor tail = (product < -1.0) & (product > -3.0);
                QVERIFY(tail.any().item<bool>());
                const double worst = ((actual.to(at::kDouble) - expected).abs() / expected.abs())
                                         .masked_select(tail).max().item<double>();
                QVERIFY2(worst < 1e-4, qPrintable(QStringLiteral("relative error %1 at GELU's negative tail").arg(worst)));
            }
        }
    }

    // The quantisation of x for the int8 dot products: every value within half a step of its
    // block's scale, zero blocks and the padding zero, the largest magnitude exactly 127.
    void activationQuantisationRoundTrip()
    {
        at::Tensor x = at::randn({3, 100});
        x[1].narrow(0, 32, 32).zero_();  // a block of zeros
        const kernels::QuantizedRows q = kernels::quantizeActivations(x.data_ptr<float>(), 3, 100);
        QCOMPARE(q.stride, std::int64_t(128));
        for (std::int64_t i = 0; i < 3; ++i)
            for (std::int64_t j = 0; j < q.stride; ++j) {
                const float scale = q.scales[std::size_t(i * 4 + j / 32)];
                const int value = q.values[std::size_t(i * q.stride + j)];
                if (j >= 100) {
                    QCOMPARE(value, 0);
                    continue;
                }
                QVERIFY(std::abs(value * scale - x[i][j].item<float>()) <= 0.5f * scale + 1e-7f);
            }
        QCOMPARE(q.scales[1 * 4 + 1], 0.0f);
        const float largest = x[0].narrow(0, 0, 32).abs().max().item<float>();
        QCOMPARE(q.scales[0], largest / 127.0f);
    }

    // cpuid agrees with itself and with the cap: QUERYLENS_ISA-style caps lower the level and
    // never raise it, names round-trip, and the AMX permission request is refused cleanly on a
    // CPU without AMX.
    void isaDetectionAndCap()
    {
        const kernels::CpuFeatures& f = kernels::cpuFeatures();
        const Isa supported = kernels::supportedIsa();
        QCOMPARE(supported >= Isa::Avx2, f.avx2 && f.fma && f.f16c);
        QCOMPARE(supported >= Isa::Avx512Bf16, supported >= Isa::Avx512 && f.avx512bf16);
        QCOMPARE(supported >= Isa::Amx, supported >= Isa::Avx512Bf16 && f.amxTile && f.amxBf16 && f.amxPermitted);
        // The images' path names the amx kernel exactly where it runs (or why it does not).
        {
            const IsaCap cap{Isa::Amx};
            const bool amxRuns = supported >= Isa::Amx && kernels::amxKernelProblem().empty();
            QCOMPARE(kernels::gemmPath("bf16").rfind("amx:", 0) == 0, amxRuns);
        }
        if (f.avx512f)
            QVERIFY(f.osZmm);
        for (const auto& [isa, name] : kLevels) {
            QCOMPARE(kernels::parseIsa(name), std::optional<Isa>(isa));
            QCOMPARE(QString(kernels::isaName(isa)), QString(name));
            const IsaCap cap{isa};
            QCOMPARE(kernels::activeIsa(), std::min(isa, supported));
        }
        QCOMPARE(kernels::parseIsa("amx"), std::optional<Isa>(Isa::Amx));
        QVERIFY(!kernels::parseIsa("avx1024"));
        if (!f.amxTile)
            QVERIFY(!kernels::requestAmxPermission());
        QVERIFY(!kernels::gemmPath("bf16").empty());
    }

    // Attention over many query rows runs a head per thread; one thread takes libtorch's batched
    // product. Both give the same context and probabilities, with a broadcast mask, in and out
    // of inference mode.
    void headParallelAttentionEqualsBatched()
    {
        const at::Tensor q = at::randn({2, 5, 40, 24}), k = at::randn({2, 5, 33, 24}), v = at::randn({2, 5, 33, 16});
        const at::Tensor mask = at::where(at::rand({2, 1, 40, 33}) < 0.2, at::full({}, -1e4), at::zeros({}));
        const int threadsBefore = at::get_num_threads();
        for (bool inference : {false, true}) {
            const c10::InferenceMode guard(inference);
            at::Tensor probs[2], context[2];
            for (int threads : {1, 2}) {
                at::set_num_threads(threads);
                context[threads - 1] = attention(q, k, v, 0.3, mask, &probs[threads - 1]);
            }
            at::set_num_threads(threadsBefore);
            QCOMPARE(context[1].sizes(), context[0].sizes());
            QCOMPARE(probs[1].sizes(), (at::IntArrayRef{2, 5, 40, 33}));
            QVERIFY(at::allclose(probs[1], probs[0], 1e-5, 1e-6));
            QVERIFY(at::allclose(context[1], context[0], 1e-5, 1e-5));
            QVERIFY(at::allclose(probs[1].sum(-1), at::ones({2, 5, 40}), 1e-5, 1e-5));
        }
    }

    void streamSumAddsEverything_data()
    {
        QTest::addColumn<int>("isa");
        for (const auto& [isa, name] : kLevels)
            QTest::newRow(name) << int(isa);
    }
    void streamSumAddsEverything()
    {
        QFETCH(int, isa);
        SKIP_UNLESS_SUPPORTED(Isa(isa));
        const at::Tensor values = at::arange(3 * (1 << 20) + 5, at::kFloat).remainder(7);
        const double expected = values.to(at::kDouble).sum().item<double>();
        const int threadsBefore = at::get_num_threads();
        at::set_num_threads(2);
        const IsaCap cap{Isa(isa)};
        const double sum = kernels::streamSum(values.data_ptr<float>(), values.numel());
        at::set_num_threads(threadsBefore);
        QVERIFY2(std::abs(sum - expected) <= 1e-4 * expected, qPrintable(QString::number(sum)));
    }

    void leadingDimensionsAndNonContiguousInput_data()
    {
        QTest::addColumn<int>("tokens");
        QTest::newRow("matrix-vector: [2, 2, in]") << 2;
        QTest::newRow("packed GEMM: [2, 9, in]") << 9;
    }
    void leadingDimensionsAndNonContiguousInput()
    {
        QFETCH(int, tokens);
        for (at::ScalarType type : {at::kFloat, at::kBFloat16, at::kChar}) {
            const TestWeight w = makeWeight(type, 96, 80);
            const at::Tensor b = at::randn({96});
            const at::Tensor x = at::randn({2, 80, tokens}).transpose(1, 2);  // [2, tokens, 80], not contiguous
            const at::Tensor actual = kernels::linear(x, w.stored, w.scales, b);
            QCOMPARE(actual.sizes().vec(), (std::vector<std::int64_t>{2, tokens, 96}));
            // Within the rounding of x by the bf16 GEMM and the int8 dot products.
            QVERIFY(relativeError(actual, at::linear(x, w.wide, b)) < 2e-2);
        }
    }

    // The libtorch switch (the benchmarks' baseline) computes the same product: exactly where our
    // kernels keep x in float32, within x's rounding where they round it.
    void libtorchOnlySwitchGivesTheSameNumbers_data()
    {
        QTest::addColumn<int>("rows");
        QTest::newRow("decode") << 1;
        QTest::newRow("prompt") << 20;
    }
    void libtorchOnlySwitchGivesTheSameNumbers()
    {
        QFETCH(int, rows);
        for (at::ScalarType type : {at::kFloat, at::kBFloat16, at::kChar}) {
            const TestWeight w = makeWeight(type, 64, 128);
            const at::Tensor x = at::randn({rows, 128});
            const at::Tensor ours = kernels::linear(x, w.stored, w.scales, {});
            kernels::setLibtorchOnly(true);
            const at::Tensor reference = kernels::linear(x, w.stored, w.scales, {});
            kernels::setLibtorchOnly(false);
            const bool rounded = type != at::kFloat;
            QVERIFY(relativeError(ours, reference) < (rounded ? 2e-2 : 1e-5));
        }
    }

    void linearLayerStoresEachFormat()
    {
        const at::Tensor weight = at::randn({50, 40});
        for (WeightFormat format : {WeightFormat::Float32, WeightFormat::BFloat16, WeightFormat::Int8}) {
            const Linear layer(weight, {}, format);
            const at::Tensor x = at::randn({4, 40});
            // Rounding to bf16 / int8 costs at most ~1 % of the output here.
            QVERIFY(relativeError(layer(x), at::linear(x, weight)) < (format == WeightFormat::Float32 ? 1e-5 : 2e-2));
        }
    }
};

QTEST_APPLESS_MAIN(TestKernels)
#include "test_kernels.moc"
