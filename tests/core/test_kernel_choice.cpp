// The measured choice between our GEMM and libtorch's at::linear (kernel_choice.h,
// kernel_calibration.h): the decision on given timings, linear() following the recorded choice
// and the forced modes, both kernels giving the same products within the precision's tolerance,
// and the cache file: round trip, reuse without timing again, a corrupt file refused with a
// warning naming it and rewritten, an unwritable place reported. No assertion depends on which
// kernel happens to be faster on this machine.

#include "model/kernels/isa.h"
#include "model/kernels/kernel_calibration.h"
#include "model/kernels/kernel_choice.h"
#include "model/kernels/matmul.h"
#include "model/kernels/openblas_core.h"

#include <c10/core/InferenceMode.h>

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>
#include <limits>

using namespace querylens::model;
using kernels::GemmKernel;
using kernels::GemmShape;
using kernels::GemmTiming;
using kernels::KernelChoiceMode;

Q_DECLARE_METATYPE(GemmKernel)

namespace {

double relativeError(const at::Tensor& actual, const at::Tensor& expected)
{
    return (actual.to(at::kDouble) - expected.to(at::kDouble)).abs().max().item<double>() /
           std::max(1e-6, expected.abs().max().item<double>());
}

std::string readText(const QString& path)
{
    std::ifstream in(path.toStdString());
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

void writeText(const QString& path, const std::string& text) { std::ofstream(path.toStdString()) << text; }

// Small shapes, so the calibration in these tests takes milliseconds.
std::vector<GemmShape> smallShapes()
{
    return {{"test fp32", "fp32", 24, 40, 56}, {"test bf16", "bf16", 80, 48, 64}};
}

GemmTiming timing(const std::string& weights, std::int64_t m, std::int64_t n, std::int64_t k, double ours, double libtorch)
{
    GemmTiming t;
    t.shape = {"layer", weights, m, n, k};
    t.oursSeconds = ours;
    t.libtorchSeconds = libtorch;
    t.choice = kernels::fasterKernel(ours, libtorch);
    t.source = "measured";
    return t;
}

}  // namespace

class TestKernelChoice : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init()
    {
        kernels::setKernelChoiceMode(std::nullopt);
        kernels::clearRecordedTimings();
    }
    void cleanup()
    {
        kernels::setKernelChoiceMode(std::nullopt);
        kernels::clearRecordedTimings();
    }

    void fasterKernelIsTheFasterOne_data()
    {
        QTest::addColumn<double>("ours");
        QTest::addColumn<double>("libtorch");
        QTest::addColumn<GemmKernel>("expected");
        const double nan = std::numeric_limits<double>::quiet_NaN();
        const double inf = std::numeric_limits<double>::infinity();
        QTest::newRow("libtorch faster (an AMX machine)") << 0.040 << 0.010 << GemmKernel::Libtorch;
        QTest::newRow("ours faster") << 0.010 << 0.011 << GemmKernel::Ours;
        QTest::newRow("libtorch faster by a hair") << 0.0100 << 0.0099 << GemmKernel::Libtorch;
        QTest::newRow("tie keeps ours") << 0.010 << 0.010 << GemmKernel::Ours;
        QTest::newRow("libtorch never finished") << 0.010 << inf << GemmKernel::Ours;
        QTest::newRow("no time for libtorch") << 0.010 << 0.0 << GemmKernel::Ours;
        QTest::newRow("no time for ours") << 0.0 << 0.010 << GemmKernel::Ours;
        QTest::newRow("NaN keeps ours") << nan << 0.010 << GemmKernel::Ours;
        QTest::newRow("negative time keeps ours") << 0.010 << -1.0 << GemmKernel::Ours;
    }
    void fasterKernelIsTheFasterOne()
    {
        QFETCH(double, ours);
        QFETCH(double, libtorch);
        QFETCH(GemmKernel, expected);
        QCOMPARE(kernels::fasterKernel(ours, libtorch), expected);
    }

    void modesParse()
    {
        QCOMPARE(kernels::parseKernelChoiceMode("ours"), std::optional(KernelChoiceMode::Ours));
        QCOMPARE(kernels::parseKernelChoiceMode("libtorch"), std::optional(KernelChoiceMode::Libtorch));
        QCOMPARE(kernels::parseKernelChoiceMode("measured"), std::optional(KernelChoiceMode::Measured));
        QVERIFY(!kernels::parseKernelChoiceMode("fastest"));
        QVERIFY(!kernels::parseKernelChoiceMode(""));
    }

    // chosenKernel: the forced modes, and in the measured mode the recorded choice for the same
    // weight shape from half its rows up; ours for anything not recorded and for int8.
    void chosenKernelFollowsModeAndRecord()
    {
        kernels::recordTimings({timing("bf16", 257, 6144, 1408, 0.020, 0.010), timing("bf16", 257, 1408, 6144, 0.010, 0.020)});
        kernels::setKernelChoiceMode(KernelChoiceMode::Measured);
        QCOMPARE(kernels::chosenKernel("bf16", 257, 6144, 1408), GemmKernel::Libtorch);
        QCOMPARE(kernels::chosenKernel("bf16", 4 * 257, 6144, 1408), GemmKernel::Libtorch);  // a batch of images
        QCOMPARE(kernels::chosenKernel("bf16", 129, 6144, 1408), GemmKernel::Libtorch);
        QCOMPARE(kernels::chosenKernel("bf16", 128, 6144, 1408), GemmKernel::Ours);  // a prompt-sized product
        QCOMPARE(kernels::chosenKernel("bf16", 257, 1408, 6144), GemmKernel::Ours);
        QCOMPARE(kernels::chosenKernel("fp32", 257, 6144, 1408), GemmKernel::Ours);  // not measured
        QCOMPARE(kernels::chosenKernel("bf16", 257, 6144, 1407), GemmKernel::Ours);
        QCOMPARE(kernels::chosenKernel("int8", 257, 6144, 1408), GemmKernel::Ours);
        kernels::setKernelChoiceMode(KernelChoiceMode::Ours);
        QCOMPARE(kernels::chosenKernel("bf16", 257, 6144, 1408), GemmKernel::Ours);
        kernels::setKernelChoiceMode(KernelChoiceMode::Libtorch);
        QCOMPARE(kernels::chosenKernel("bf16", 257, 1408, 6144), GemmKernel::Libtorch);
        QCOMPARE(kernels::chosenKernel("fp32", 20, 30, 40), GemmKernel::Libtorch);
        QCOMPARE(kernels::chosenKernel("int8", 257, 1408, 6144), GemmKernel::Ours);
        // A newer measurement of the same shape replaces the old one.
        kernels::recordTimings({timing("bf16", 257, 6144, 1408, 0.010, 0.020)});
        QCOMPARE(kernels::recordedTimings().size(), std::size_t(2));
        kernels::setKernelChoiceMode(KernelChoiceMode::Measured);
        QCOMPARE(kernels::chosenKernel("bf16", 257, 6144, 1408), GemmKernel::Ours);
    }

    // Forcing either kernel gives the same product (with exact GELU and a residual, as the vision
    // encoder asks for them) within the precision's tolerance; linear() runs exactly the kernel
    // that was chosen.
    void forcedKernelsAgree_data()
    {
        QTest::addColumn<int>("type");
        QTest::addColumn<int>("m");
        QTest::addColumn<int>("n");
        QTest::addColumn<int>("k");
        QTest::addColumn<bool>("gelu");
        QTest::addColumn<bool>("residual");
        QTest::addColumn<double>("tolerance");
        // bf16: libtorch's at::linear returns bf16 outputs (relative rounding 2^-9), ours float32.
        QTest::newRow("fp32 257x88x100") << int(at::kFloat) << 257 << 100 << 88 << false << false << 1e-5;
        QTest::newRow("fp32 33x130x67 gelu+residual") << int(at::kFloat) << 33 << 130 << 67 << true << true << 1e-5;
        QTest::newRow("bf16 257x88x100") << int(at::kBFloat16) << 257 << 100 << 88 << false << false << 8e-3;
        QTest::newRow("bf16 9x33x17 gelu") << int(at::kBFloat16) << 9 << 33 << 17 << true << false << 8e-3;
        QTest::newRow("bf16 61x96x200 residual") << int(at::kBFloat16) << 61 << 96 << 200 << false << true << 8e-3;
    }
    void forcedKernelsAgree()
    {
        QFETCH(int, type);
        QFETCH(int, m);
        QFETCH(int, n);
        QFETCH(int, k);
        QFETCH(bool, gelu);
        QFETCH(bool, residual);
        QFETCH(double, tolerance);
        const c10::InferenceMode inference;
        at::manual_seed(7);
        const at::Tensor x = at::randn({m, k});
        const at::Tensor w = (at::randn({n, k}) / std::sqrt(double(k))).to(at::ScalarType(type)).contiguous();
        const at::Tensor b = at::randn({n}) * 0.1;
        kernels::Epilogue epilogue;
        epilogue.gelu = gelu;
        if (residual)
            epilogue.residual = at::randn({m, n});
        const at::Tensor ours = kernels::linearWith(GemmKernel::Ours, x, w, {}, b, epilogue);
        const at::Tensor theirs = kernels::linearWith(GemmKernel::Libtorch, x, w, {}, b, epilogue);
        QCOMPARE(ours.sizes(), theirs.sizes());
        QCOMPARE(ours.scalar_type(), at::kFloat);
        QCOMPARE(theirs.scalar_type(), at::kFloat);
        const double error = relativeError(ours, theirs);
        QVERIFY2(error < tolerance, qPrintable(QString("relative error %1").arg(error)));

        // linear() runs the recorded choice, bit for bit, and each forced mode its kernel.
        const std::string weights = type == int(at::kFloat) ? "fp32" : "bf16";
        kernels::setKernelChoiceMode(KernelChoiceMode::Measured);
        kernels::recordTimings({timing(weights, m, n, k, 0.002, 0.001)});
        QVERIFY(at::equal(kernels::linear(x, w, {}, b, epilogue), theirs));
        kernels::recordTimings({timing(weights, m, n, k, 0.001, 0.002)});
        QVERIFY(at::equal(kernels::linear(x, w, {}, b, epilogue), ours));
        kernels::setKernelChoiceMode(KernelChoiceMode::Libtorch);
        QVERIFY(at::equal(kernels::linear(x, w, {}, b, epilogue), theirs));
        kernels::setKernelChoiceMode(KernelChoiceMode::Ours);
        QVERIFY(at::equal(kernels::linear(x, w, {}, b, epilogue), ours));
    }

    // Under autograd the choice does not matter: libtorch's differentiable ops, gradients intact.
    void autogradIgnoresTheChoice()
    {
        kernels::setKernelChoiceMode(KernelChoiceMode::Libtorch);
        const at::Tensor x = at::randn({20, 16}).requires_grad_(true);
        const at::Tensor w = at::randn({24, 16});
        const at::Tensor y = kernels::linear(x, w, {}, {});
        QVERIFY(y.requires_grad());
        y.sum().backward();
        QVERIFY(at::allclose(x.grad(), w.sum(0).expand({20, 16})));
    }

    // The file round trip: what withCalibrationEntries writes, parseCalibrationEntries reads back
    // for the same key; other machines' entries are kept; the choice is recomputed from the times.
    void cacheRoundTrips()
    {
        const std::vector<GemmTiming> mine = {timing("bf16", 257, 4224, 1408, 0.0061, 0.0052),
                                              timing("fp32", 257, 1408, 6144, 0.0093, 0.0120)};
        nlohmann::json file = kernels::withCalibrationEntries(nullptr, "other machine", {timing("bf16", 1, 2, 3, 1, 2)});
        file = kernels::withCalibrationEntries(file, "this machine", mine);
        const nlohmann::json reread = nlohmann::json::parse(file.dump(1));
        const std::vector<GemmTiming> back = kernels::parseCalibrationEntries(reread, "this machine");
        QCOMPARE(back.size(), mine.size());
        for (std::size_t i = 0; i < back.size(); ++i) {
            QCOMPARE(back[i].shape.weights, mine[i].shape.weights);
            QCOMPARE(back[i].shape.m, mine[i].shape.m);
            QCOMPARE(back[i].shape.n, mine[i].shape.n);
            QCOMPARE(back[i].shape.k, mine[i].shape.k);
            QCOMPARE(back[i].oursSeconds, mine[i].oursSeconds);
            QCOMPARE(back[i].libtorchSeconds, mine[i].libtorchSeconds);
            QCOMPARE(back[i].source, std::string("cache"));
        }
        QCOMPARE(back[0].choice, GemmKernel::Libtorch);
        QCOMPARE(back[1].choice, GemmKernel::Ours);
        QCOMPARE(kernels::parseCalibrationEntries(reread, "other machine").size(), std::size_t(1));
        QVERIFY(kernels::parseCalibrationEntries(reread, "a third machine").empty());
    }

    // calibrate(): times the shapes, records the faster, writes the file; a second call reads
    // the same timings from it without timing again.
    void calibrationIsKeptAndReused()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath("sub/kernel-choice.json");  // the folder is made too
        const kernels::CalibrationOutcome first = kernels::calibrate(smallShapes(), path.toStdString());
        QVERIFY2(first.warnings.empty(), first.warnings.empty() ? "" : first.warnings.front().c_str());
        QCOMPARE(first.timings.size(), smallShapes().size());
        for (const GemmTiming& t : first.timings) {
            QCOMPARE(t.source, std::string("measured"));
            QVERIFY(t.oursSeconds > 0 && std::isfinite(t.oursSeconds));
            QVERIFY(t.libtorchSeconds > 0 && std::isfinite(t.libtorchSeconds));
            QCOMPARE(t.choice, kernels::fasterKernel(t.oursSeconds, t.libtorchSeconds));
        }
        QVERIFY(first.seconds > 0);
        const nlohmann::json written = nlohmann::json::parse(readText(path));
        QCOMPARE(kernels::parseCalibrationEntries(written, kernels::calibrationKey()).size(), smallShapes().size());

        const kernels::CalibrationOutcome second = kernels::calibrate(smallShapes(), path.toStdString());
        QVERIFY(second.warnings.empty());
        QCOMPARE(second.seconds, 0.0);
        for (std::size_t i = 0; i < second.timings.size(); ++i) {
            QCOMPARE(second.timings[i].source, std::string("cache"));
            QCOMPARE(second.timings[i].shape.layer, smallShapes()[i].layer);
            QCOMPARE(second.timings[i].oursSeconds, first.timings[i].oursSeconds);
            QCOMPARE(second.timings[i].libtorchSeconds, first.timings[i].libtorchSeconds);
            QCOMPARE(second.timings[i].choice, first.timings[i].choice);
        }
        // A shape the file lacks is timed and added, the others stay as they were.
        std::vector<GemmShape> more = smallShapes();
        more.push_back({"test extra", "fp32", 16, 8, 8});
        const kernels::CalibrationOutcome third = kernels::calibrate(more, path.toStdString());
        QCOMPARE(third.timings[0].source, std::string("cache"));
        QCOMPARE(third.timings[2].source, std::string("measured"));
        QCOMPARE(kernels::parseCalibrationEntries(nlohmann::json::parse(readText(path)), kernels::calibrationKey()).size(),
                 std::size_t(3));
    }

    void corruptCacheIsRefusedAndRewritten_data()
    {
        QTest::addColumn<QString>("contents");
        QTest::newRow("not JSON") << QString("kernel-choice, but not JSON");
        QTest::newRow("torn write") << QString("{\"format\": \"querylens-kernel-choice\", \"version\": 1, \"machines\": {\"x\": [{\"la");
        QTest::newRow("null") << QString("null");
        QTest::newRow("a list") << QString("[1, 2]");
        QTest::newRow("another program's file") << QString("{\"format\": \"something else\", \"version\": 1, \"machines\": {}}");
        QTest::newRow("a later version") << QString("{\"format\": \"querylens-kernel-choice\", \"version\": 2, \"machines\": {}}");
        QTest::newRow("machines not an object") << QString("{\"format\": \"querylens-kernel-choice\", \"version\": 1, \"machines\": 3}");
        QTest::newRow("entry without a time")
            << QString("{\"format\": \"querylens-kernel-choice\", \"version\": 1, \"machines\": {\"x\": [{\"layer\": \"a\", \"weights\": \"bf16\", \"m\": 1, \"n\": 1, \"k\": 1, \"ours_s\": 1}]}}");
        QTest::newRow("negative time")
            << QString("{\"format\": \"querylens-kernel-choice\", \"version\": 1, \"machines\": {\"x\": [{\"layer\": \"a\", \"weights\": \"bf16\", \"m\": 1, \"n\": 1, \"k\": 1, \"ours_s\": 1, \"libtorch_s\": -1}]}}");
        QTest::newRow("size as text")
            << QString("{\"format\": \"querylens-kernel-choice\", \"version\": 1, \"machines\": {\"x\": [{\"layer\": \"a\", \"weights\": \"bf16\", \"m\": \"257\", \"n\": 1, \"k\": 1, \"ours_s\": 1, \"libtorch_s\": 1}]}}");
    }
    void corruptCacheIsRefusedAndRewritten()
    {
        QFETCH(QString, contents);
        QTemporaryDir dir;
        const QString path = dir.filePath("kernel-choice.json");
        writeText(path, contents.toStdString());
        const kernels::CalibrationOutcome outcome = kernels::calibrate(smallShapes(), path.toStdString());
        QCOMPARE(outcome.warnings.size(), std::size_t(1));
        const QString warning = QString::fromStdString(outcome.warnings.front());
        QVERIFY2(warning.contains(path) && warning.contains("rewritten"), qPrintable(warning));
        for (const GemmTiming& t : outcome.timings)
            QCOMPARE(t.source, std::string("measured"));
        // Rewritten whole: the next start reads it without a warning.
        const kernels::CalibrationOutcome again = kernels::calibrate(smallShapes(), path.toStdString());
        QVERIFY(again.warnings.empty());
        for (const GemmTiming& t : again.timings)
            QCOMPARE(t.source, std::string("cache"));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"kernel-choice.json"});  // no temporary left
    }

    // A cache that cannot be written costs a warning, not the load.
    void unwritableCacheIsAWarning()
    {
        QTemporaryDir dir;
        const QString blocker = dir.filePath("a-file");
        writeText(blocker, "x");
        const std::string path = (blocker + "/kernel-choice.json").toStdString();  // under a regular file
        const kernels::CalibrationOutcome outcome = kernels::calibrate(smallShapes(), path);
        QCOMPARE(outcome.timings.size(), smallShapes().size());
        QCOMPARE(outcome.warnings.size(), std::size_t(1));
        QVERIFY(outcome.warnings.front().find("could not be kept") != std::string::npos);
    }

    // The key names what can change which kernel is faster.
    void keyNamesTheMachine()
    {
        const QString key = QString::fromStdString(kernels::calibrationKey());
        QVERIFY(key.contains(QString::fromStdString(kernels::cpuFeatures().model)));
        QVERIFY(key.contains(QString("isa=") + kernels::isaName(kernels::activeIsa())));
        QVERIFY(key.contains("threads="));
        QVERIFY(key.contains("libtorch="));
        QVERIFY(key.contains(QString::fromStdString("openblas=" + kernels::openBlasCore())));
    }

    // OPENBLAS_CORETYPE naming an AVX2 family on an AVX-512 CPU is said; an AVX-512 family, a
    // kernel level capped below AVX-512, or no variable at all is not.
    void openBlasHeldBelowTheCpuIsAWarning()
    {
        if (kernels::activeIsa() < kernels::Isa::Avx512)
            QSKIP("the kernels run below AVX-512 here (the CPU or QUERYLENS_ISA): OpenBLAS's AVX2 kernels match them");
        const QByteArray before = qgetenv("OPENBLAS_CORETYPE");
        const bool wasSet = qEnvironmentVariableIsSet("OPENBLAS_CORETYPE");
        qputenv("OPENBLAS_CORETYPE", "Haswell");
        const std::string warning = kernels::forcedOpenBlasWarning();
        QVERIFY2(warning.find("OPENBLAS_CORETYPE=Haswell") != std::string::npos, warning.c_str());
        QVERIFY(warning.find("unset it") != std::string::npos);
        kernels::setIsaCap(kernels::Isa::Avx2);
        QCOMPARE(kernels::forcedOpenBlasWarning(), std::string());
        kernels::setIsaCap(std::nullopt);
        qputenv("OPENBLAS_CORETYPE", "SkylakeX");
        QCOMPARE(kernels::forcedOpenBlasWarning(), std::string());
        qunsetenv("OPENBLAS_CORETYPE");
        QCOMPARE(kernels::forcedOpenBlasWarning(), std::string());
        if (wasSet)
            qputenv("OPENBLAS_CORETYPE", before);
    }
};

QTEST_GUILESS_MAIN(TestKernelChoice)
#include "test_kernel_choice.moc"
