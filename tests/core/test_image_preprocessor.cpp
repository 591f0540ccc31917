// BLIP-2's image preprocessing against the reference pixel_values of ../shared/fixtures (the
// photo decoded by Qt as the program decodes it), and the resize's defining properties.

#include "fixtures.h"
#include "querylens/error.h"
#include "image/image_preprocessor.h"
#include "image/image_resize.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace querylens;

namespace {

RgbImage constantImage(int width, int height, std::uint8_t r, std::uint8_t g, std::uint8_t b)
{
    RgbImage image{width, height, {}};
    image.pixels.resize(std::size_t(width) * height * 3);
    for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
        image.pixels[i] = r;
        image.pixels[i + 1] = g;
        image.pixels[i + 2] = b;
    }
    return image;
}

void writeFile(const QString& path, const std::string& text)
{
    std::ofstream(path.toStdString()) << text;
}

}  // namespace

class TestImagePreprocessor : public QObject {
    Q_OBJECT

private slots:
    void pixelValuesMatchTheReference_data()
    {
        QTest::addColumn<QString>("config");
        QTest::newRow("opt") << QStringLiteral("tiny-opt");
        QTest::newRow("t5") << QStringLiteral("tiny-t5");
    }
    void pixelValuesMatchTheReference()
    {
        QFETCH(QString, config);
        const auto processor = image::PreprocessorConfig::fromFolder(testsupport::fixturePath(config.toStdString()), 224);
        const std::vector<float> pixels = image::preprocess(testsupport::fixtureImage(), processor);
        const auto diff = testsupport::compare(pixels, testsupport::goldenFloats(config.toStdString(), "pixel_values"));
        qInfo("pixel_values: %s", qPrintable(diff.describe()));
        // The resize is exact to the bit: any byte off would be 1/255/std = 0.015 off.
        QVERIFY2(diff.sizesMatch && diff.maxAbs <= 1e-6, qPrintable(diff.describe()));
    }

    void constantImagesStayConstant()
    {
        for (auto size : {std::pair{5, 3}, std::pair{640, 480}, std::pair{224, 1000}}) {
            const RgbImage out = image::resizeBicubic(constantImage(size.first, size.second, 10, 128, 250), 224, 224);
            QCOMPARE(out.width, 224);
            QCOMPARE(out.height, 224);
            for (std::size_t i = 0; i < out.pixels.size(); i += 3) {
                QCOMPARE(int(out.pixels[i]), 10);
                QCOMPARE(int(out.pixels[i + 1]), 128);
                QCOMPARE(int(out.pixels[i + 2]), 250);
            }
        }
    }

    void sameSizeKeepsEveryPixel()
    {
        RgbImage image = constantImage(7, 5, 0, 0, 0);
        for (std::size_t i = 0; i < image.pixels.size(); ++i)
            image.pixels[i] = std::uint8_t(i * 37);
        QCOMPARE(image::resizeBicubic(image, 7, 5).pixels, image.pixels);
    }

    void edgesMatchHandComputedWeights_data()
    {
        QTest::addColumn<QList<int>>("input");
        QTest::addColumn<QList<int>>("expected");
        // Enlarging 2 -> 4 (scale 0.5, support 2): output 1 has centre 0.75 in source pixels and
        // reads pixels 0 and 1 at distances 0.25 and 0.75, weights 0.8671875 and 0.2265625, so
        // 255 * 0.2265625 / 1.09375 = 52.8 -> 53; output 0 overshoots below 0 and is clipped.
        QTest::newRow("enlarge 2 to 4") << QList<int>{0, 255} << QList<int>{0, 53, 202, 255};
        // Shrinking 4 -> 2 (scale 2): the support widens to 4 source pixels, at filter arguments
        // -0.25, 0.25, 0.75, 1.25 -> weights 0.8671875, 0.8671875, 0.2265625, -0.0703125
        // (sum 1.890625), so output 0 is 255 * 0.15625 / 1.890625 = 21.07 -> 21. Without the
        // widening it would read 2 pixels and stay 0.
        QTest::newRow("shrink 4 to 2") << QList<int>{0, 0, 255, 255} << QList<int>{21, 234};
    }
    void edgesMatchHandComputedWeights()
    {
        QFETCH(QList<int>, input);
        QFETCH(QList<int>, expected);
        // One row, grey, so every channel must come out the same.
        RgbImage image = constantImage(int(input.size()), 1, 0, 0, 0);
        for (int x = 0; x < input.size(); ++x)
            for (int c = 0; c < 3; ++c)
                image.pixels[x * 3 + c] = std::uint8_t(input[x]);
        const RgbImage out = image::resizeBicubic(image, int(expected.size()), 1);
        QList<int> actual;
        for (int x = 0; x < out.width; ++x) {
            QCOMPARE(int(out.pixels[x * 3 + 1]), int(out.pixels[x * 3]));
            QCOMPARE(int(out.pixels[x * 3 + 2]), int(out.pixels[x * 3]));
            actual.append(out.pixels[x * 3]);
        }
        QCOMPARE(actual, expected);
        // The same edge as a column goes through the vertical pass and must agree.
        RgbImage column = image;
        column.width = 1;
        column.height = int(input.size());
        const RgbImage outColumn = image::resizeBicubic(column, 1, int(expected.size()));
        QCOMPARE(outColumn.pixels, out.pixels);
    }

    void configFileIsHonoured_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<int>("height");
        QTest::addColumn<int>("width");
        QTest::addColumn<QList<float>>("firstPixel");  // per channel, for the colour (255, 0, 51)
        QTest::newRow("height and width")
            << QStringLiteral(R"({"size": {"height": 32, "width": 48}, "image_mean": [0.5, 0.5, 0.5],
                                 "image_std": [0.25, 0.5, 1.0]})")
            << 32 << 48 << QList<float>{2.0f, -1.0f, -0.3f};  // (1 - .5) / .25, (0 - .5) / .5, (.2 - .5) / 1
        QTest::newRow("size as one number, CLIP defaults")
            << QStringLiteral(R"({"size": 64, "do_convert_rgb": true})") << 64 << 64
            << QList<float>{1.9303361f, -1.7520971f, -0.7549964f};
        QTest::newRow("shortest_edge, no normalisation")
            << QStringLiteral(R"({"size": {"shortest_edge": 16}, "do_normalize": false, "rescale_factor": 0.5})")
            << 16 << 16 << QList<float>{127.5f, 0.0f, 25.5f};
        QTest::newRow("no rescale, scalar mean and std")
            << QStringLiteral(R"({"do_rescale": false, "image_mean": 0, "image_std": 255, "size": null})") << 224
            << 224 << QList<float>{1.0f, 0.0f, 0.2f};
    }
    void configFileIsHonoured()
    {
        QFETCH(QString, json);
        QFETCH(int, height);
        QFETCH(int, width);
        QFETCH(QList<float>, firstPixel);
        QTemporaryDir dir;
        writeFile(dir.filePath(QStringLiteral("preprocessor_config.json")), json.toStdString());
        const auto config = image::PreprocessorConfig::fromFolder(dir.path().toStdString(), 224);
        QCOMPARE(config.height, height);
        QCOMPARE(config.width, width);
        const std::vector<float> pixels = image::preprocess(constantImage(10, 10, 255, 0, 51), config);
        const std::size_t plane = std::size_t(height) * width;
        QCOMPARE(pixels.size(), 3 * plane);
        for (int c = 0; c < 3; ++c) {
            // A constant image stays constant through the resize, so each plane is one value.
            QVERIFY2(std::abs(pixels[c * plane] - firstPixel[c]) < 1e-5f, qPrintable(QString::number(pixels[c * plane])));
            QCOMPARE(pixels[c * plane + plane - 1], pixels[c * plane]);
        }
    }

    void missingConfigUsesDefaultsAtModelSize()
    {
        QTemporaryDir empty;
        const auto config = image::PreprocessorConfig::fromFolder(empty.path().toStdString(), 364);
        QCOMPARE(config.height, 364);
        QCOMPARE(config.width, 364);
        QCOMPARE(config.mean[0], 0.48145466f);
        QCOMPARE(config.std[2], 0.27577711f);
        QVERIFY(config.doResize && config.doRescale && config.doNormalize);
    }

    void malformedConfigNamesTheFileAndKey_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("key");
        QTest::newRow("two means") << QStringLiteral(R"({"image_mean": [0.5, 0.5]})") << QStringLiteral("image_mean");
        QTest::newRow("std of zero") << QStringLiteral(R"({"image_std": [0.2, 0, 0.2]})") << QStringLiteral("image_std");
        QTest::newRow("size as text") << QStringLiteral(R"({"size": "224"})") << QStringLiteral("size");
        QTest::newRow("negative size") << QStringLiteral(R"({"size": -1})") << QStringLiteral("size");
        QTest::newRow("fractional height") << QStringLiteral(R"({"size": {"height": 22.5, "width": 224}})")
                                           << QStringLiteral("size.height");
        QTest::newRow("flag as text") << QStringLiteral(R"({"do_resize": "yes"})") << QStringLiteral("do_resize");
        QTest::newRow("rgb flag as number") << QStringLiteral(R"({"do_convert_rgb": 1})")
                                            << QStringLiteral("do_convert_rgb");
        QTest::newRow("not json") << QStringLiteral("{ not json") << QString();
    }
    void malformedConfigNamesTheFileAndKey()
    {
        QFETCH(QString, json);
        QFETCH(QString, key);
        QTemporaryDir dir;
        writeFile(dir.filePath(QStringLiteral("preprocessor_config.json")), json.toStdString());
        try {
            image::PreprocessorConfig::fromFolder(dir.path().toStdString(), 224);
            QFAIL("the malformed config was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.file()).endsWith(QStringLiteral("preprocessor_config.json")), e.what());
            QCOMPARE(QString::fromStdString(e.key()), key);
        }
    }

    void emptyImageIsAnError()
    {
        QVERIFY_THROWS_EXCEPTION(Error, image::preprocess(RgbImage{}, image::PreprocessorConfig{}));
        QVERIFY_THROWS_EXCEPTION(Error, image::resizeBicubic(constantImage(3, 3, 1, 2, 3), 0, 10));
        RgbImage truncated = constantImage(4, 4, 1, 2, 3);
        truncated.pixels.pop_back();
        QVERIFY_THROWS_EXCEPTION(Error, image::preprocess(truncated, image::PreprocessorConfig{}));
        // Without resizing the image must already have the model's size.
        image::PreprocessorConfig noResize;
        noResize.doResize = false;
        QVERIFY_THROWS_EXCEPTION(Error, image::preprocess(constantImage(10, 10, 1, 2, 3), noResize));
        QCOMPARE(image::preprocess(constantImage(224, 224, 1, 2, 3), noResize).size(), std::size_t(3 * 224 * 224));
    }
};

QTEST_APPLESS_MAIN(TestImagePreprocessor)
#include "test_image_preprocessor.moc"
