// BLIP-2's image preprocessing against the reference pixel_values of ../shared/fixtures (the
// photo decoded by Qt as the program decodes it), and the resize's defining properties.

#include "fixtures.h"
#include "querylens/error.h"
#include "vision/image_preprocessor.h"
#include "vision/image_resize.h"

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
        const auto processor = vision::PreprocessorConfig::fromFolder(testsupport::fixturePath(config.toStdString()), 224);
        const std::vector<float> pixels = vision::preprocess(testsupport::fixtureImage(), processor);
        const auto diff = testsupport::compare(pixels, testsupport::goldenFloats(config.toStdString(), "pixel_values"));
        qInfo("pixel_values: %s", qPrintable(diff.describe()));
        // The resize is exact to the bit: any byte off would be 1/255/std = 0.015 off.
        QVERIFY2(diff.sizesMatch && diff.maxAbs <= 1e-6, qPrintable(diff.describe()));
    }

    void constantImagesStayConstant()
    {
        for (auto size : {std::pair{5, 3}, std::pair{640, 480}, std::pair{224, 1000}}) {
            const RgbImage out = vision::resizeBicubic(constantImage(size.first, size.second, 10, 128, 250), 224, 224);
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
        QCOMPARE(vision::resizeBicubic(image, 7, 5).pixels, image.pixels);
    }

    void sharpEdgesOvershootAndAreClipped()
    {
        // Bicubic rings at a black/white edge when enlarging; values stay in 0..255 and the two
        // sides keep their colour far from the edge.
        RgbImage image = constantImage(4, 1, 0, 0, 0);
        for (int x = 2; x < 4; ++x)
            for (int c = 0; c < 3; ++c)
                image.pixels[x * 3 + c] = 255;
        const RgbImage out = vision::resizeBicubic(image, 40, 1);
        QCOMPARE(int(out.pixels[0]), 0);
        QCOMPARE(int(out.pixels[39 * 3]), 255);
        for (int x = 1; x < 40; ++x)
            QVERIFY(out.pixels[x * 3] >= out.pixels[(x - 1) * 3] || out.pixels[(x - 1) * 3] == 255 || x < 20);
    }

    void configFileIsHonoured()
    {
        QTemporaryDir dir;
        writeFile(dir.filePath(QStringLiteral("preprocessor_config.json")),
                  R"({"size": {"height": 32, "width": 48}, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.5, 1.0]})");
        const auto config = vision::PreprocessorConfig::fromFolder(dir.path().toStdString(), 224);
        QCOMPARE(config.height, 32);
        QCOMPARE(config.width, 48);
        const std::vector<float> pixels = vision::preprocess(constantImage(10, 10, 255, 0, 51), config);
        QCOMPARE(int(pixels.size()), 3 * 32 * 48);
        QVERIFY(std::abs(pixels[0] - 2.0f) < 1e-6);                // (1 - 0.5) / 0.25
        QVERIFY(std::abs(pixels[32 * 48] + 1.0f) < 1e-6);          // (0 - 0.5) / 0.5
        QVERIFY(std::abs(pixels[2 * 32 * 48] + 0.3f) < 1e-6);      // (0.2 - 0.5) / 1
        // No file: the defaults at the model's size.
        QTemporaryDir empty;
        QCOMPARE(vision::PreprocessorConfig::fromFolder(empty.path().toStdString(), 364).height, 364);
    }

    void malformedConfigNamesTheFileAndKey()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("preprocessor_config.json"));
        writeFile(path, R"({"image_mean": [0.5, 0.5]})");
        try {
            vision::PreprocessorConfig::fromFolder(dir.path().toStdString(), 224);
            QFAIL("two means were accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("preprocessor_config.json")), e.what());
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("image_mean")), e.what());
        }
        writeFile(path, "{ not json");
        QVERIFY_THROWS_EXCEPTION(Error, vision::PreprocessorConfig::fromFolder(dir.path().toStdString(), 224));
    }

    void emptyImageIsAnError()
    {
        QVERIFY_THROWS_EXCEPTION(Error, vision::preprocess(RgbImage{}, vision::PreprocessorConfig{}));
        QVERIFY_THROWS_EXCEPTION(Error, vision::resizeBicubic(constantImage(3, 3, 1, 2, 3), 0, 10));
    }
};

QTEST_APPLESS_MAIN(TestImagePreprocessor)
#include "test_image_preprocessor.moc"
