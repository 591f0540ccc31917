// The shipped demo model, loaded through the normal loader, on held-out scenes: its word maps
// point at the objects the words name far better than random maps, its queries are more focused
// than a random model's, and it reads the colours of shapes drawn by another renderer (QPainter:
// other antialiasing, plain backgrounds, PNG and JPEG files). It meets the caption,
// answer and pointing targets, and answers the chat's follow-ups.

#include "querylens/attention_views.h"
#include "querylens/demo_evaluation.h"
#include "querylens/demo_model.h"
#include "querylens/demo_scenes.h"
#include "querylens/model.h"
#include "querylens/session.h"

#include <QBuffer>
#include <QImage>
#include <QPainter>
#include <QPainterPath>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace querylens;

namespace {

std::shared_ptr<const Model> loadDemo(const std::string& folder)
{
    LoadOptions options;
    options.folder = folder;
    options.threads = 1;
    return Model::load(options);
}

RgbImage toRgb(const QImage& image)
{
    const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
    RgbImage out;
    out.width = rgb.width();
    out.height = rgb.height();
    for (int y = 0; y < rgb.height(); ++y)
        out.pixels.insert(out.pixels.end(), rgb.constScanLine(y), rgb.constScanLine(y) + 3 * rgb.width());
    return out;
}

double meanEntropy(const ImageEncoding& encoding)
{
    const auto stats = queryStatistics(selectMaps(encoding.crossAttention(), encoding.selfAttention(), MapSelection{}));
    double sum = 0;
    for (const auto& s : stats)
        sum += s.normalizedEntropy;
    return sum / double(stats.size());
}

}  // namespace

class TestDemoModel : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        folder_ = bundledResourceFolder("demo-model");
        QVERIFY2(!folder_.empty(), "resources/demo-model not found");
        model_ = loadDemo(folder_);
        QVERIFY(model_->info().isTrainedDemo);
        QVERIFY(!model_->info().isDemo);
    }

    void heldOutScenes()
    {
        DemoEvaluationOptions options;
        // The 50 held-out scenes and 150 more. At 50 the standard error of an answer rate
        // near 85 % is 2.4 points and of a caption rate 5 points, so whether a model within a
        // point or two of a target passes depends on which 50 scenes: the shipped model captions
        // 90.0 % of the first 50 and 91.0 % of 200, answers 85.2 % and 86.1 %, and its word maps
        // point 75.4 % and 76.7 %; the one before it captioned 90.0 % and 89.0 % (README).
        options.scenes = 200;
        options.seed = 2;  // the model trained on seed 1
        options.deletionScenes = 5;
        const DemoEvaluation e = evaluateDemoModel(model_, options);
        qInfo().noquote() << QString::fromStdString(evaluationTable(e));
        const MethodScore* word = nullptr;
        const MethodScore* random = nullptr;
        for (const auto& m : e.methods) {
            if (m.name == "word map, mean of layers")
                word = &m;
            if (m.name == "random map")
                random = &m;
        }
        QVERIFY(word && random);
        QVERIFY(word->words >= 50);
        // What the shipped model does: its word maps point at the named object several times as
        // often as random maps, hold more of their mass there, and removing the patches they
        // rank first lowers the word's probability sooner than a random order does.
        QVERIFY2(word->pointingGame >= 3 * random->pointingGame,
                 qPrintable(QStringLiteral("%1 vs %2").arg(word->pointingGame).arg(random->pointingGame)));
        QVERIFY(word->energyInMask > 2 * random->energyInMask);
        QVERIFY2(word->deletionAuc < 0.8 * word->randomDeletionAuc,
                 qPrintable(QStringLiteral("%1 vs %2").arg(word->deletionAuc).arg(word->randomDeletionAuc)));
        QVERIFY(e.vqaByType.at("count").first >= e.vqaByType.at("count").second / 2);
        // Every question asked alone is asked again in its scene's conversation, all but the first counted.
        int asked = 0;
        for (const auto& [type, counts] : e.vqaByType)
            asked += counts.second;
        QCOMPARE(e.followUps.second, asked - options.scenes);
        QCOMPARE(int(e.catalogue.queries.size()), model_->info().numQueries);
        entropy_ = e.meanQueryEntropy;

        // The targets (#14): captions at least 90 %, answers at least 85 % and the word
        // map pointing at the named object at least 70 % of the time.
        QVERIFY2(e.captionAccuracy >= 0.9, qPrintable(QString::number(e.captionAccuracy)));
        QVERIFY2(e.vqaAccuracy >= 0.85, qPrintable(QString::number(e.vqaAccuracy)));
        QVERIFY2(e.vqaByType.at("shape").first * 10 >= e.vqaByType.at("shape").second * 9,
                 qPrintable(QStringLiteral("shape questions: %1 of %2 right")
                                .arg(e.vqaByType.at("shape").first)
                                .arg(e.vqaByType.at("shape").second)));
        QVERIFY2(word->pointingGame >= 0.7, qPrintable(QString::number(word->pointingGame)));
        // The chat's follow-ups: trained on three questions a row in the chat's format, the
        // shipped model answers 81.0 % of them right (the one before, trained on one a row, 48.2 %).
        QVERIFY2(e.followUpAccuracy >= 0.75, qPrintable(QString::number(e.followUpAccuracy)));
        // Where two objects are: scored on every two-object scene, and right more often than a
        // guess among the caption's three relations (a third). The shipped model: 57 % (38/67),
        // its weak side, as the "where" answers (45 %) are.
        int twoObjectScenes = 0;
        demo::SceneOptions textOnly;
        textOnly.draw = false;
        for (int s = 0; s < options.scenes; ++s)
            twoObjectScenes += demo::generateScene(options.seed, s, textOnly).objects.size() == 2;
        QCOMPARE(e.captionRelations.second, twoObjectScenes);
        QVERIFY2(e.captionRelationAccuracy >= 0.45, qPrintable(QString::number(e.captionRelationAccuracy)));
    }

    void queriesAreFocusedUnlikeARandomModel()
    {
        QVERIFY(entropy_ > 0);
        QTemporaryDir dir;
        const std::string randomFolder = dir.filePath(QStringLiteral("random")).toStdString();
        writeDemoModel(randomFolder);
        const auto random = loadDemo(randomFolder);
        double randomEntropy = 0;
        for (int s = 0; s < 5; ++s)
            randomEntropy += meanEntropy(*random->encode(demo::generateScene(2, s).image)) / 5;
        qInfo() << "mean normalised query entropy: trained" << entropy_ << "random" << randomEntropy;
        QVERIFY2(entropy_ < randomEntropy - 0.15, qPrintable(QStringLiteral("%1 vs %2").arg(entropy_).arg(randomEntropy)));
    }

    void shapesDrawnByAnotherRenderer_data()
    {
        QTest::addColumn<QString>("shape");
        QTest::addColumn<QColor>("colour");
        QTest::addColumn<QColor>("background");
        QTest::addColumn<double>("size");
        QTest::addColumn<QString>("format");
        const QColor white(255, 255, 255), grey(210, 210, 210), pastel(255, 236, 240), mint(226, 246, 234);
        QTest::newRow("red circle, white, PNG") << "circle" << QColor(0xE0, 0x20, 0x20) << white << 0.35 << "PNG";
        QTest::newRow("blue square, grey, JPEG") << "square" << QColor(0x20, 0x40, 0xE0) << grey << 0.5 << "JPEG";
        QTest::newRow("green triangle, pastel, PNG") << "triangle" << QColor(0x20, 0xA0, 0x40) << pastel << 0.3 << "PNG";
        QTest::newRow("yellow star, grey, PNG") << "star" << QColor(0xF0, 0xD0, 0x20) << grey << 0.45 << "PNG";
        QTest::newRow("orange circle, mint, JPEG") << "circle" << QColor(0xF0, 0x80, 0x20) << mint << 0.6 << "JPEG";
        QTest::newRow("purple square, white, small, PNG") << "square" << QColor(0x80, 0x30, 0xC0) << white << 0.15 << "PNG";
        QTest::newRow("red triangle, white, JPEG") << "triangle" << QColor(0xE0, 0x20, 0x20) << white << 0.4 << "JPEG";
        QTest::newRow("blue star, pastel, JPEG") << "star" << QColor(0x20, 0x40, 0xE0) << pastel << 0.3 << "JPEG";
    }
    void shapesDrawnByAnotherRenderer()
    {
        QFETCH(QString, shape);
        QFETCH(QColor, colour);
        QFETCH(QColor, background);
        QFETCH(double, size);
        QFETCH(QString, format);
        // 300 x 300, Qt's own antialiasing, off centre.
        QImage image(300, 300, QImage::Format_RGB32);
        image.fill(background);
        {
            QPainter painter(&image);
            painter.setRenderHint(QPainter::Antialiasing);
            painter.setPen(Qt::NoPen);
            painter.setBrush(colour);
            const double side = size * 300, cx = 110 + 60 * size, cy = 170 - 40 * size;
            const QRectF box(cx - side / 2, cy - side / 2, side, side);
            if (shape == QLatin1String("circle")) {
                painter.drawEllipse(box);
            } else if (shape == QLatin1String("square")) {
                painter.drawRect(box.adjusted(side * 0.05, side * 0.05, -side * 0.05, -side * 0.05));
            } else if (shape == QLatin1String("triangle")) {
                painter.drawPolygon(QPolygonF({QPointF(cx, box.top()), box.bottomLeft(), box.bottomRight()}));
            } else {
                QPolygonF star;
                for (int i = 0; i < 10; ++i) {
                    const double r = (i % 2 ? 0.2 : 0.5) * side, a = -M_PI / 2 + i * M_PI / 5;
                    star << QPointF(cx + r * std::cos(a), cy + r * std::sin(a));
                }
                painter.drawPolygon(star);
            }
        }
        // Through a file of that format and back, as a user's picture arrives.
        QBuffer file;
        file.open(QIODevice::ReadWrite);
        QVERIFY(image.save(&file, format.toLatin1().constData(), 85));
        QImage decoded;
        QVERIFY(decoded.loadFromData(file.data(), format.toLatin1().constData()));

        auto session = model_->newSession(model_->encode(toRgb(decoded)));
        const std::string caption = session->caption(DecodingOptions{}).sequences.front().text;
        const auto mentioned = demo::mentionedObjects(caption);
        qInfo() << "caption:" << caption.c_str();
        // The colour and the shape drawn are the ones named, first.
        QVERIFY2(!mentioned.empty(), caption.c_str());
        QVERIFY2(demo::shapeName(mentioned.front().shape) == shape.toStdString(), caption.c_str());
        QVERIFY2(demo::nominalRgb(mentioned.front().colour) ==
                     (std::array<std::uint8_t, 3>{std::uint8_t(colour.red()), std::uint8_t(colour.green()),
                                                  std::uint8_t(colour.blue())}),
                 caption.c_str());
    }

private:
    std::string folder_;
    std::shared_ptr<const Model> model_;
    double entropy_ = 0;
};

QTEST_MAIN(TestDemoModel)
#include "test_demo_model.moc"
