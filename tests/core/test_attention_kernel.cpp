// The fused attention heads (kernels/attention_avx512.cpp, kernels/attention_avx2.cpp) against a
// float64 reference: scores,
// softmax and context, on an image's 257 x 257 x 88 (257 = 64 x 4 + 1: the row tail; 257 keys =
// 16 x 16 + 1: the column tail; d = 88 = 5 x 16 + 8) and on shapes with every other remainder,
// through strided views as the vision encoder passes them; and model::attention() choosing it
// (probabilities and context as the libtorch path gives them). The bf16 head
// (kernels/attention_avx512bf16.cpp) likewise, against a reference of its own rounding. QSKIP on
// CPUs without the level (AVX2, AVX-512; AVX512_BF16 for the bf16 head). The few-rows kernel of
// decoding (kernels/attention_avx2.cpp) against float64 through model::attention().

#include "model/kernels/attention_head.h"
#include "model/kernels/isa.h"
#include "model/layers.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <QtTest>

#include <cmath>
#include <limits>

using namespace querylens::model;
using kernels::Isa;

namespace {

#define SKIP_UNLESS(level)                                                                                           \
    if (kernels::supportedIsa() < (level))                                                                            \
        QSKIP(qPrintable(QStringLiteral("this CPU (%1; %2) cannot run the %3 attention kernel")                       \
                             .arg(QString::fromStdString(kernels::cpuFeatures().model),                             \
                                  QString::fromStdString(kernels::cpuFeatures().flags()), kernels::isaName(level))))

double maxAbsDifference(const at::Tensor& a, const at::Tensor& b)
{
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// One head's inputs and outputs: q, k, v as strided views of one [t, 3, d + 5] buffer, like heads
// of the qkv product (rows are not adjacent, and reading past a row's end would read a
// neighbour); probabilities [tq, tk] filled with NaN and a context [tq, d + 3] of 7s (rows wider
// than d: the extra columns must stay), both for the kernel to write.
struct Head {
    Head(int tq, int tk, int d, double scale, std::int64_t (*scratchFloats)(std::int64_t, std::int64_t))
        : qkv(at::randn({std::max(tq, tk), 3, d + 5})),
          q(qkv.select(1, 0).narrow(0, 0, tq).narrow(1, 0, d)),
          k(qkv.select(1, 1).narrow(0, 0, tk).narrow(1, 0, d)),
          v(qkv.select(1, 2).narrow(0, 0, tk).narrow(1, 0, d)),
          probabilities(at::full({tq, tk}, std::nan(""))),
          context(at::full({tq, d + 3}, 7.0f)),
          scratch(std::size_t(scratchFloats(tk, d)), std::nanf(""))
    {
        args.q = q.data_ptr<float>();
        args.k = k.data_ptr<float>();
        args.v = v.data_ptr<float>();
        args.qStride = q.stride(0);
        args.kStride = k.stride(0);
        args.vStride = v.stride(0);
        args.probabilities = probabilities.data_ptr<float>();
        args.context = context.data_ptr<float>();
        args.contextStride = context.stride(0);
        args.tq = tq;
        args.tk = tk;
        args.d = d;
        args.scale = float(scale);
    }
    at::Tensor written() const { return context.narrow(1, 0, args.d); }
    bool extraColumnsKept() const { return at::equal(context.narrow(1, args.d, 3), at::full({args.tq, 3}, 7.0f)); }

    at::Tensor qkv, q, k, v, probabilities, context;
    std::vector<float> scratch;
    kernels::AttentionHeadArguments args;
};

struct IsaCap {
    explicit IsaCap(std::optional<Isa> isa) { kernels::setIsaCap(isa); }
    ~IsaCap() { kernels::setIsaCap(std::nullopt); }
};

// One head kernel on the data row's shape against a float64 reference.
void checkHead(void (*kernel)(const kernels::AttentionHeadArguments&, float*),
               std::int64_t (*scratchFloats)(std::int64_t, std::int64_t))
{
    QFETCH(int, tq);
    QFETCH(int, tk);
    QFETCH(int, d);
    QFETCH(double, scale);
    const c10::InferenceMode inference;
    Head head(tq, tk, d, scale, scratchFloats);
    kernel(head.args, head.scratch.data());
    const at::Tensor &q = head.q, &k = head.k, &v = head.v, &probabilities = head.probabilities;

    const at::Tensor s64 = at::matmul(q.to(at::kDouble), k.to(at::kDouble).t()) * scale;
    const at::Tensor p64 = at::softmax(s64, -1);
    const at::Tensor c64 = at::matmul(p64, v.to(at::kDouble));
    const double probabilityError = maxAbsDifference(probabilities, p64);
    const double contextError = maxAbsDifference(head.written(), c64);
    // A float32 score carries an absolute error of a few units of float32 rounding of its
    // magnitude, which e^score turns into that relative error of the probability.
    const double scoreRounding = 8 * 1.19e-7 * std::max(1.0, s64.abs().max().item<double>());
    QVERIFY2(probabilityError < 2e-6 + scoreRounding,
             qPrintable(QString("probabilities off by %1 (allowed %2)").arg(probabilityError).arg(2e-6 + scoreRounding)));
    QVERIFY2(contextError < 1e-5 * std::max(1.0, c64.abs().max().item<double>()),
             qPrintable(QString("context off by %1").arg(contextError)));
    QVERIFY(at::allclose(probabilities.sum(-1), at::ones({tq}), 1e-5, 1e-5));
    QVERIFY(head.extraColumnsKept());
}

}  // namespace

class TestAttentionKernel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { at::manual_seed(3); }

    void headMatchesFloat64Reference_data()
    {
        QTest::addColumn<int>("tq");
        QTest::addColumn<int>("tk");
        QTest::addColumn<int>("d");
        QTest::addColumn<double>("scale");
        QTest::newRow("vit-g image 257x257x88") << 257 << 257 << 88 << 1 / std::sqrt(88.0);
        QTest::newRow("q-former cross 32x257x64") << 32 << 257 << 64 << 0.125;
        QTest::newRow("one row") << 1 << 40 << 16 << 0.25;
        QTest::newRow("3 rows, 1 key") << 3 << 1 << 8 << 1.0;
        QTest::newRow("6 rows, 17 keys, d 7") << 6 << 17 << 7 << 0.5;
        QTest::newRow("65 rows, 64 keys, d 96") << 65 << 64 << 96 << 0.1;
        QTest::newRow("18 rows, 130 keys, d 100") << 18 << 130 << 100 << 0.1;
        QTest::newRow("9 rows, 200 keys, d 200 (two column tiles)") << 9 << 200 << 200 << 0.07;
        QTest::newRow("large scores (softmax near one-hot)") << 13 << 50 << 32 << 4.0;
    }
    void headMatchesFloat64Reference()
    {
        SKIP_UNLESS(Isa::Avx512);
        checkHead(kernels::attentionHeadAvx512, kernels::attentionHeadScratchFloats);
    }

    // The AVX2 head (the same tiles in 8-wide registers) on the same shapes.
    void avx2HeadMatchesFloat64Reference_data() { headMatchesFloat64Reference_data(); }
    void avx2HeadMatchesFloat64Reference()
    {
        SKIP_UNLESS(Isa::Avx2);
        checkHead(kernels::attentionHeadAvx2, kernels::attentionHeadAvx2ScratchFloats);
    }

    // The bf16 head (vdpbf16ps) on the same shapes. Its products are exact in float32 for
    // bf16 inputs, so against a float64 reference of the same rounding (q, k, v rounded to
    // bf16; the context from the kernel's own probabilities rounded to bf16) it must agree to
    // float32 summation; against the unrounded reference, within bf16's rounding.
    void bf16HeadMatchesFloat64ReferenceOfItsRounding_data() { headMatchesFloat64Reference_data(); }
    void bf16HeadMatchesFloat64ReferenceOfItsRounding()
    {
        QFETCH(int, tq);
        QFETCH(int, tk);
        QFETCH(int, d);
        QFETCH(double, scale);
        SKIP_UNLESS(Isa::Avx512Bf16);
        const c10::InferenceMode inference;
        Head head(tq, tk, d, scale, kernels::attentionHeadScratchFloats);
        kernels::attentionHeadAvx512Bf16(head.args, head.scratch.data());
        const at::Tensor &q = head.q, &k = head.k, &v = head.v, &probabilities = head.probabilities;

        auto rounded = [](const at::Tensor& x) { return x.to(at::kBFloat16).to(at::kDouble); };
        const at::Tensor s64 = at::matmul(rounded(q), rounded(k).t()) * scale;
        const at::Tensor p64 = at::softmax(s64, -1);
        const at::Tensor c64 = at::matmul(rounded(probabilities), rounded(v));
        const double scoreRounding = 8 * 1.19e-7 * std::max(1.0, s64.abs().max().item<double>());
        const double probabilityError = maxAbsDifference(probabilities, p64);
        QVERIFY2(probabilityError < 2e-6 + scoreRounding,
                 qPrintable(QString("probabilities off by %1 (allowed %2)").arg(probabilityError).arg(2e-6 + scoreRounding)));
        const double contextError = maxAbsDifference(head.written(), c64);
        QVERIFY2(contextError < 1e-5 * std::max(1.0, c64.abs().max().item<double>()),
                 qPrintable(QString("context off by %1").arg(contextError)));
        QVERIFY(head.extraColumnsKept());

        const at::Tensor exact = at::matmul(at::softmax(at::matmul(q.to(at::kDouble), k.to(at::kDouble).t()) * scale, -1),
                                            v.to(at::kDouble));
        const double bf16Error = maxAbsDifference(head.written(), exact);
        QVERIFY2(bf16Error < 3e-2 * std::max(1.0, exact.abs().max().item<double>()),
                 qPrintable(QString("context off the unrounded one by %1").arg(bf16Error)));
    }

    // model::attention() over an image's heads: the fused kernel (the best level the CPU has,
    // avx2 and up) gives what the libtorch path (capped to portable) gives, probabilities
    // included, on one and two threads.
    void attentionChoosesTheKernel_data()
    {
        QTest::addColumn<int>("threads");
        QTest::newRow("1 thread") << 1;
        QTest::newRow("2 threads") << 2;
    }
    void attentionChoosesTheKernel()
    {
        QFETCH(int, threads);
        SKIP_UNLESS(Isa::Avx2);
        const c10::InferenceMode inference;
        const int before = at::get_num_threads();
        at::set_num_threads(threads);
        // [B, T, 3, H, d] -> three [B, H, T, d] views, as the vision encoder splits its qkv.
        const at::Tensor qkv = at::randn({2, 257, 3, 4, 88}).permute({2, 0, 3, 1, 4});
        at::Tensor fusedProbabilities, referenceProbabilities;
        at::Tensor fused, reference;
        fused = attention(qkv[0], qkv[1], qkv[2], 0.1, {}, &fusedProbabilities);
        {
            const IsaCap cap(Isa::Portable);
            reference = attention(qkv[0], qkv[1], qkv[2], 0.1, {}, &referenceProbabilities);
        }
        at::set_num_threads(before);
        QCOMPARE(fused.sizes(), reference.sizes());
        QVERIFY2(maxAbsDifference(fused, reference) < 1e-5, qPrintable(QString::number(maxAbsDifference(fused, reference))));
        QVERIFY(maxAbsDifference(fusedProbabilities, referenceProbabilities) < 1e-6);
    }

    // A bf16 model's vision attention (AttentionProducts::Bfloat16) runs the bf16 head where the
    // CPU has AVX512_BF16, within bf16's rounding of the float32 head; capped below that level,
    // it is the float32 head exactly.
    void bf16ProductsWhereTheCpuHasThem()
    {
        SKIP_UNLESS(Isa::Avx512Bf16);
        const c10::InferenceMode inference;
        const at::Tensor qkv = at::randn({2, 257, 3, 4, 88}).permute({2, 0, 3, 1, 4});
        at::Tensor floatProbabilities, bf16Probabilities, cappedProbabilities;
        const at::Tensor float32 = attention(qkv[0], qkv[1], qkv[2], 0.1, {}, &floatProbabilities);
        const at::Tensor bf16 =
            attention(qkv[0], qkv[1], qkv[2], 0.1, {}, &bf16Probabilities, AttentionProducts::Bfloat16);
        at::Tensor capped;
        {
            const IsaCap cap(Isa::Avx512);
            capped = attention(qkv[0], qkv[1], qkv[2], 0.1, {}, &cappedProbabilities, AttentionProducts::Bfloat16);
        }
        QVERIFY(at::equal(capped, float32));
        QVERIFY(at::equal(cappedProbabilities, floatProbabilities));
        const double difference = maxAbsDifference(bf16, float32);
        QVERIFY2(difference > 0 && difference < 3e-2 * float32.abs().max().item<double>(), qPrintable(QString::number(difference)));
        QVERIFY(maxAbsDifference(bf16Probabilities, floatProbabilities) < 1e-2);
    }

    // model::attention() for a few query rows (a decoded token, the beams' rows): the AVX2
    // kernel against float64, keys and values as views of a longer cache buffer, with no mask,
    // a causal one (-inf) and a per-head additive one (T5's position bias); key counts and head
    // sizes with every tail of 8. Capped below avx2, the batched libtorch path gives the same.
    void fewRowsMatchFloat64Reference_data()
    {
        QTest::addColumn<int>("tq");
        QTest::addColumn<int>("tk");
        QTest::addColumn<int>("d");
        QTest::addColumn<QString>("mask");
        QTest::newRow("a token, OPT-2.7b head") << 1 << 70 << 80 << "none";
        QTest::newRow("a token, one key") << 1 << 1 << 64 << "none";
        QTest::newRow("3 rows, causal") << 3 << 133 << 37 << "causal";
        QTest::newRow("a token, per-head bias") << 1 << 45 << 64 << "per head";
        QTest::newRow("15 rows, d 100") << 15 << 29 << 100 << "causal";
    }
    void fewRowsMatchFloat64Reference()
    {
        QFETCH(int, tq);
        QFETCH(int, tk);
        QFETCH(int, d);
        QFETCH(QString, mask);
        SKIP_UNLESS(Isa::Avx2);
        const c10::InferenceMode inference;
        const int batch = 2, heads = 3;
        const at::Tensor q = at::randn({batch, tq, heads, d}).transpose(1, 2);  // split heads, as the models do
        const at::Tensor cacheKeys = at::randn({batch, heads, tk + 16, d}), cacheValues = at::randn({batch, heads, tk + 16, d});
        const at::Tensor k = cacheKeys.narrow(2, 0, tk), v = cacheValues.narrow(2, 0, tk);
        at::Tensor additive;
        if (mask == "causal")
            additive = at::full({tq, tk}, -std::numeric_limits<float>::infinity()).triu(tk - tq + 1);
        else if (mask == "per head")
            additive = at::randn({1, heads, tq, tk});
        const double scale = 1.0 / std::sqrt(double(d));

        at::Tensor scores = at::matmul(q.to(at::kDouble), k.to(at::kDouble).transpose(-1, -2)) * scale;
        if (additive.defined())
            scores = scores + additive.to(at::kDouble);
        const at::Tensor p64 = at::softmax(scores, -1);
        const at::Tensor c64 = at::matmul(p64, v.to(at::kDouble));

        at::Tensor probabilities, cappedProbabilities, capped;
        const at::Tensor context = attention(q, k, v, scale, additive, &probabilities);
        {
            const IsaCap cap(Isa::Portable);
            capped = attention(q, k, v, scale, additive, &cappedProbabilities);
        }
        QCOMPARE(context.sizes(), c64.sizes());
        const double contextError = maxAbsDifference(context, c64), probabilityError = maxAbsDifference(probabilities, p64);
        QVERIFY2(contextError < 1e-5 * std::max(1.0, c64.abs().max().item<double>()), qPrintable(QString::number(contextError)));
        QVERIFY2(probabilityError < 2e-6, qPrintable(QString::number(probabilityError)));
        QVERIFY(maxAbsDifference(capped, context) < 1e-5);
        QVERIFY(maxAbsDifference(cappedProbabilities, probabilities) < 2e-6);
    }
};

QTEST_GUILESS_MAIN(TestAttentionKernel)
#include "test_attention_kernel.moc"
