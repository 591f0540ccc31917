// Model::encodeBatch: several images through the vision encoder and the Q-Former at once
// (B x 257 rows in every product, attention per image and head) give each image the encoding it
// gets alone: the same query outputs and attention maps within float rounding, and the same
// greedy caption; on OPT and T5, in fp32 and bf16, on two threads.

#include "fixtures.h"
#include "querylens/error.h"
#include "querylens/model.h"
#include "querylens/session.h"

#include <QtTest>

#include <algorithm>
#include <cmath>

using namespace querylens;

namespace {

// The fixture image turned around, and a smooth picture of another size and aspect: three
// different inputs, so that mixing up the images of a batch would show.
std::vector<RgbImage> threeImages()
{
    const RgbImage original = testsupport::fixtureImage();
    RgbImage flipped = original;
    for (int y = 0; y < original.height; ++y)
        for (int x = 0; x < original.width; ++x)
            for (int c = 0; c < 3; ++c)
                flipped.pixels[std::size_t((y * original.width + x) * 3 + c)] =
                    original.pixels[std::size_t(((original.height - 1 - y) * original.width + (original.width - 1 - x)) * 3 + c)];
    RgbImage gradient;
    gradient.width = 97;
    gradient.height = 61;
    for (int y = 0; y < gradient.height; ++y)
        for (int x = 0; x < gradient.width; ++x) {
            gradient.pixels.push_back(std::uint8_t(x * 255 / 96));
            gradient.pixels.push_back(std::uint8_t(y * 255 / 60));
            gradient.pixels.push_back(std::uint8_t((x * y) % 256));
        }
    return {original, flipped, gradient};
}

double maxAbsDiff(const std::vector<float>& a, const std::vector<float>& b)
{
    double worst = a.size() == b.size() ? 0.0 : INFINITY;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        worst = std::max(worst, double(std::abs(a[i] - b[i])));
    return worst;
}

std::vector<int> greedyCaption(const Model& model, std::shared_ptr<const ImageEncoding> encoding)
{
    DecodingOptions options;
    options.maxNewTokens = 12;
    return model.newSession(std::move(encoding))->caption(options).sequences.front().ids;
}

}  // namespace

class TestBatchEncode : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void batchEqualsOneAtATime_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<QString>("precision");
        QTest::newRow("tiny-opt fp32") << "tiny-opt" << "fp32";
        QTest::newRow("tiny-opt bf16") << "tiny-opt" << "bf16";
        QTest::newRow("tiny-t5 fp32") << "tiny-t5" << "fp32";
    }
    void batchEqualsOneAtATime()
    {
        QFETCH(QString, fixture);
        QFETCH(QString, precision);
        LoadOptions options;
        options.folder = testsupport::fixturePath(fixture.toStdString());
        options.precision = *parsePrecision(precision.toStdString());
        options.threads = 2;  // attention's head per thread runs over B x heads
        const auto model = Model::load(options);
        const std::vector<RgbImage> images = threeImages();

        double lastFraction = -1;
        bool monotonic = true;
        const auto batch = model->encodeBatch(images, [&](double fraction, const std::string&) {
            monotonic = monotonic && fraction >= lastFraction;
            lastFraction = fraction;
            return true;
        });
        QCOMPARE(batch.size(), images.size());
        QVERIFY(monotonic);
        for (std::size_t i = 0; i < images.size(); ++i) {
            const auto alone = model->encode(images[i]);
            const auto& together = *batch[i];
            QCOMPARE(together.imageWidth(), images[i].width);
            QCOMPARE(together.imageHeight(), images[i].height);
            QCOMPARE(together.queryCount(), alone->queryCount());
            const double outputs = maxAbsDiff(together.queryOutputs(), alone->queryOutputs());
            const double cross = maxAbsDiff(together.crossAttention().probabilities, alone->crossAttention().probabilities);
            const double self = maxAbsDiff(together.selfAttention().probabilities, alone->selfAttention().probabilities);
            qInfo("image %d: query outputs max abs diff %.2g, cross-attention %.2g, self-attention %.2g", int(i), outputs,
                  cross, self);
            QVERIFY2(outputs <= 1e-4, qPrintable(QString::number(outputs)));
            QVERIFY2(cross <= 1e-5, qPrintable(QString::number(cross)));
            QVERIFY2(self <= 1e-5, qPrintable(QString::number(self)));
            QCOMPARE(together.crossAttention().layers, alone->crossAttention().layers);
            QCOMPARE(together.crossAttention().tokens, alone->crossAttention().tokens);
            QCOMPARE(greedyCaption(*model, batch[i]), greedyCaption(*model, alone));
        }
        // The images differ, and so do their encodings: nothing was shared across the batch.
        QVERIFY(maxAbsDiff(batch[0]->queryOutputs(), batch[1]->queryOutputs()) > 1e-3);
        QVERIFY(maxAbsDiff(batch[0]->crossAttention().probabilities, batch[2]->crossAttention().probabilities) > 1e-4);
    }

    void emptyBatchAndBadImages()
    {
        LoadOptions options;
        options.folder = testsupport::fixturePath("tiny-opt");
        const auto model = Model::load(options);
        QVERIFY(model->encodeBatch({}).empty());
        std::vector<RgbImage> images = threeImages();
        images[1].pixels.resize(10);  // a buffer that does not match its size
        try {
            model->encodeBatch(images);
            QFAIL("a broken image was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString(e.what()).contains(QStringLiteral("image 2 of 3")), e.what());
        }
    }

    void cancelStopsTheBatch()
    {
        LoadOptions options;
        options.folder = testsupport::fixturePath("tiny-opt");
        const auto model = Model::load(options);
        QVERIFY_THROWS_EXCEPTION(Cancelled, model->encodeBatch(threeImages(), [](double, const std::string&) { return false; }));
    }
};

QTEST_APPLESS_MAIN(TestBatchEncode)
#include "test_batch_encode.moc"
