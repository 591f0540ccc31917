// The linear-layer kernels against libtorch's at::linear on the same (widened) weights, for
// every storage format, shapes that exercise every loop tail, a few to many rows, with and
// without bias; and the AVX2 path against the portable one.

#include "model/kernels/gemv.h"
#include "model/kernels/matmul.h"
#include "model/layers.h"
#include "model/linear.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <QtTest>

using namespace querylens::model;

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
    return (actual - expected).abs().max().item<double>() / std::max(1e-6, expected.abs().max().item<double>());
}

}  // namespace

class TestKernels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { at::manual_seed(0); }

    // Every path of kernels::linear: matrix-vector (m <= 8), the packed GEMM (m >= 9, with
    // blocks of 264 rows of x), OpenBLAS for many float32 rows, and the portable code with
    // its widen-then-GEMM for many rows; each on one and on two threads.
    void linearMatchesLibtorch_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("k");
        QTest::addColumn<bool>("bias");
        for (auto [type, name] : {std::pair{at::kFloat, "fp32"}, std::pair{at::kBFloat16, "bf16"}, std::pair{at::kChar, "int8"}})
            for (int m : {1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 300, 530})
                for (auto [n, k] : {std::pair{7, 33}, std::pair{33, 7}, std::pair{1000, 64}, std::pair{130, 4097},
                                    std::pair{17, 1000}})
                    QTest::addRow("%s m%d n%d k%d", name, m, n, k) << int(type) << m << n << k << (m % 2 == 1);
    }
    void linearMatchesLibtorch()
    {
        QFETCH(int, type);
        QFETCH(int, m);
        QFETCH(int, n);
        QFETCH(int, k);
        QFETCH(bool, bias);
        const TestWeight w = makeWeight(at::ScalarType(type), n, k);
        const at::Tensor b = bias ? at::randn({n}) : at::Tensor();
        const at::Tensor x = at::randn({m, k});
        const at::Tensor expected = at::linear(x.to(at::kDouble), w.wide.to(at::kDouble),
                                               b.defined() ? b.to(at::kDouble) : at::Tensor()).to(at::kFloat);
        const int threadsBefore = at::get_num_threads();
        for (const auto& [threads, portable] : {std::pair{1, false}, std::pair{2, false}, std::pair{2, true}}) {
            at::set_num_threads(threads);
            kernels::setAvx2Disabled(portable);
            const at::Tensor actual = kernels::linear(x, w.stored, w.scales, b);
            kernels::setAvx2Disabled(false);
            at::set_num_threads(threadsBefore);
            QCOMPARE(actual.sizes(), expected.sizes());
            const double error = relativeError(actual, expected);
            QVERIFY2(error < 1e-5, qPrintable(QStringLiteral("%1 thread(s)%2: relative error %3")
                                                  .arg(threads)
                                                  .arg(portable ? ", portable" : "")
                                                  .arg(error)));
        }
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

    void streamSumAddsEverything()
    {
        const at::Tensor values = at::arange(3 * (1 << 20) + 5, at::kFloat).remainder(7);
        const double expected = values.to(at::kDouble).sum().item<double>();
        at::set_num_threads(2);
        for (bool portable : {false, true}) {
            kernels::setAvx2Disabled(portable);
            const double sum = kernels::streamSum(values.data_ptr<float>(), values.numel());
            kernels::setAvx2Disabled(false);
            QVERIFY2(std::abs(sum - expected) <= 1e-4 * expected, qPrintable(QString::number(sum)));
        }
        at::set_num_threads(1);
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
            QVERIFY(relativeError(actual, at::linear(x, w.wide, b)) < 1e-5);
        }
    }

    void avx2AndPortablePathsAgree()
    {
        if (!kernels::haveAvx2())
            QSKIP("this CPU has no AVX2: only the portable path runs here");
        for (at::ScalarType type : {at::kFloat, at::kBFloat16, at::kChar}) {
            const TestWeight w = makeWeight(type, 37, 301);
            const at::Tensor x = at::randn({3, 301});
            at::Tensor a = at::empty({3, 37}), b = at::empty({3, 37});
            kernels::GemvArguments args;
            args.weight = w.stored.data_ptr();
            args.type = type == at::kFloat ? kernels::WeightType::Float32
                        : type == at::kBFloat16 ? kernels::WeightType::BFloat16
                                                : kernels::WeightType::Int8;
            args.scales = w.scales.defined() ? w.scales.data_ptr<float>() : nullptr;
            args.x = x.data_ptr<float>();
            args.m = 3;
            args.n = 37;
            args.k = 301;
            args.y = a.data_ptr<float>();
            kernels::gemvRowsAvx2(args, 0, 37);
            args.y = b.data_ptr<float>();
            kernels::gemvRowsPortable(args, 0, 37);
            QVERIFY(relativeError(a, b) < 1e-5);
        }
    }

    void libtorchOnlySwitchGivesTheSameNumbers()
    {
        const TestWeight w = makeWeight(at::kChar, 64, 128);
        const at::Tensor x = at::randn({1, 128});
        const at::Tensor ours = kernels::linear(x, w.stored, w.scales, {});
        kernels::setLibtorchOnly(true);
        const at::Tensor reference = kernels::linear(x, w.stored, w.scales, {});
        kernels::setLibtorchOnly(false);
        QVERIFY(relativeError(ours, reference) < 1e-5);
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
