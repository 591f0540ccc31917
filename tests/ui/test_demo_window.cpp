// The window a new user sees with the shipped demo model: the empty window offers the sample
// scenes, a click on one gives a caption with the scene's colours, the explorer's query maps are peaked and
// different, a colour word's map lies on its object, and the query catalogue lists every query.
// With QUERYLENS_SCREENSHOTS=DIR set, it saves each view as a PNG.

#include "caption_panel.h"
#include "explorer/explorer_panel.h"
#include "explorer/query_catalogue_view.h"
#include "isolated_settings.h"
#include "main_window.h"
#include "message_bar.h"
#include "querylens/demo_model.h"
#include "querylens/demo_scenes.h"
#include "sample_scenes.h"
#include "screenshots.h"

#include <QApplication>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QtTest>

#include <set>

using namespace querylens;
using namespace querylens::ui;

namespace {
constexpr int kTimeoutMs = 120000;  // a generous bound for a loaded CI machine, not a speed limit
}

class TestDemoWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        testsupport::isolateSettings();
        QVERIFY2(!bundledResourceFolder("demo-model").empty(), "resources/demo-model not found");
        QVERIFY2(sampleScenePaths().size() >= 4, "resources/demo-scenes has too few scenes");
    }

    void firstClickOnASampleScene()
    {
        MainWindow window;
        window.resize(1280, 800);
        window.show();
        QSignalSpy ready(&window, &MainWindow::modelReady);
        LoadOptions load;
        load.folder = bundledResourceFolder("demo-model");
        window.loadModel(load);
        QVERIFY(ready.wait(kTimeoutMs));
        QVERIFY(window.messageBar()->text().contains(QStringLiteral("trained on synthetic shapes, not a real BLIP-2")));

        // The empty window offers the samples; one click opens the first.
        QVERIFY(window.sampleScenes()->isVisible());
        saveScreenshot(window, QStringLiteral("demo-empty"));
        const QString path = sampleScenePaths().front();
        auto* button = window.sampleScenes()->findChild<QToolButton*>(QStringLiteral("sample-") + QFileInfo(path).baseName());
        QVERIFY(button);
        QSignalSpy captioned(&window, &MainWindow::captionFinished);
        QTest::mouseClick(button, Qt::LeftButton);
        QVERIFY(captioned.wait(kTimeoutMs));
        QVERIFY(!window.sampleScenes()->isVisible());

        // The caption names every object of the scene (its ground truth lies beside it).
        QFile truthFile(QString(path).replace(QStringLiteral(".png"), QStringLiteral(".json")));
        QVERIFY(truthFile.open(QIODevice::ReadOnly));
        const QByteArray truthJson = truthFile.readAll();
        const std::string truth = QJsonDocument::fromJson(truthJson).object().value(QStringLiteral("caption")).toString().toStdString();
        const std::string caption = window.captionPanel()->text().toStdString();
        // The same objects, each named once: colour and shape, the way eval-demo scores a caption
        // (sizes aside), and no object named twice (one way its wrong captions go).
        auto objects = [](const std::string& text) {
            std::multiset<std::pair<int, int>> found;
            for (const auto& m : demo::mentionedObjects(text))
                found.insert({int(m.colour), int(m.shape)});
            return found;
        };
        QVERIFY2(objects(caption) == objects(truth), (caption + " | " + truth).c_str());
        saveScreenshot(window, QStringLiteral("demo-caption"));

        // The grid: peaked maps that look at different places.
        window.tabs()->setCurrentWidget(window.explorer());
        ExplorerPanel* explorer = window.explorer();
        QTRY_VERIFY_WITH_TIMEOUT(explorer->maps().queries > 0, kTimeoutMs);
        const auto stats = queryStatistics(explorer->maps());
        double entropy = 0;
        std::set<int> peaks;
        for (const auto& s : stats) {
            entropy += s.normalizedEntropy / double(stats.size());
            peaks.insert(s.peakPatch);
        }
        QVERIFY2(entropy < 0.9, qPrintable(QString::number(entropy)));
        QVERIFY2(peaks.size() >= 4, qPrintable(QString::number(peaks.size())));
        saveScreenshot(window, QStringLiteral("demo-grid"));

        // A colour word's map peaks on its object's patches.
        int colourWord = -1;
        for (int i = 0; i < int(explorer->words().size()); ++i)
            if (demo::parseColour(explorer->words()[std::size_t(i)].text.trimmed().toLower().toStdString()))
                colourWord = i;
        QVERIFY(colourWord >= 0);
        explorer->selectWord(colourWord);
        QVERIFY(!explorer->wordWeights().empty());
        std::vector<int> indices(explorer->wordWeights().size());
        for (std::size_t i = 0; i < indices.size(); ++i)
            indices[i] = int(i);
        const std::vector<float> wordMap = weightedPatchMap(explorer->maps(), explorer->wordWeights(), indices);
        const int peak = int(std::max_element(wordMap.begin(), wordMap.end()) - wordMap.begin());
        // The object of that colour in the ground truth: its mask (run-length code) under the peak patch.
        const std::string colour = explorer->words()[std::size_t(colourWord)].text.trimmed().toLower().toStdString();
        const QJsonObject scene = QJsonDocument::fromJson(truthJson).object();
        const int width = scene.value(QStringLiteral("width")).toInt(), height = scene.value(QStringLiteral("height")).toInt();
        const int grid = explorer->maps().gridSize;
        double covered = 0;
        for (const auto& value : scene.value(QStringLiteral("objects")).toArray()) {
            const QJsonObject object = value.toObject();
            if (object.value(QStringLiteral("colour")).toString().toStdString() != colour)
                continue;
            std::vector<std::uint8_t> mask;
            int bit = 0;
            for (const auto& count : object.value(QStringLiteral("mask_rle")).toObject().value(QStringLiteral("counts")).toArray()) {
                mask.insert(mask.end(), std::size_t(count.toInt()), std::uint8_t(bit));
                bit = 1 - bit;
            }
            const int r = peak / grid, c = peak % grid;
            int inside = 0, all = 0;
            for (int y = r * height / grid; y < (r + 1) * height / grid; ++y)
                for (int x = c * width / grid; x < (c + 1) * width / grid; ++x, ++all)
                    inside += mask[std::size_t(y) * width + x];
            covered = std::max(covered, double(inside) / all);
        }
        QVERIFY2(covered >= 0.1, qPrintable(QStringLiteral("the map of \"%1\" peaks at patch %2, %3 on the object")
                                                .arg(QString::fromStdString(colour)).arg(peak).arg(covered)));
        saveScreenshot(window, QStringLiteral("demo-word-map"));

        // The catalogue: one row per query.
        explorer->chartTabs()->setCurrentWidget(explorer->catalogueView());
        QCOMPARE(explorer->catalogueView()->table()->rowCount(), explorer->maps().queries);
        saveScreenshot(window, QStringLiteral("demo-catalogue"));
    }
};

QTEST_MAIN(TestDemoWindow)
#include "test_demo_window.moc"
