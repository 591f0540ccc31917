// The attention explorer in the real window on the fixture model: the maps it draws are the
// reference cross-attention tensors, the controls change them, clicks select queries and
// words, a word's chart and map follow their definition, ablation regenerates (and ablating
// nothing gives the original caption), and the exports are written.

#include "explorer/bar_chart.h"
#include "explorer/explorer_panel.h"
#include "explorer/map_view.h"
#include "explorer/query_grid.h"
#include "fixtures.h"
#include "isolated_settings.h"
#include "screenshots.h"
#include "main_window.h"
#include "decoding_panel.h"

#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <numeric>

using namespace querylens;
using namespace querylens::ui;

namespace {

constexpr int kTimeoutMs = 120000;

}  // namespace

class TestExplorer : public QObject {
    Q_OBJECT

    std::unique_ptr<MainWindow> window_;
    ExplorerPanel* explorer() const { return window_->explorer(); }

private slots:
    void initTestCase()
    {
        testsupport::isolateSettings();
        window_ = std::make_unique<MainWindow>();
        window_->resize(1280, 800);
        window_->show();
        DecodingOptions options;
        options.maxNewTokens = 20;
        window_->decodingPanel()->setOptions(options);
        QSignalSpy ready(window_.get(), &MainWindow::modelReady);
        LoadOptions load;
        load.folder = testsupport::fixturePath("tiny-opt");
        window_->loadModel(load);
        QVERIFY(ready.wait(kTimeoutMs));
        QSignalSpy captioned(window_.get(), &MainWindow::captionFinished);
        window_->openImages({QString::fromStdString(testsupport::fixturePath("image.png"))});
        QVERIFY(captioned.wait(kTimeoutMs));
        window_->tabs()->setCurrentWidget(explorer());
        QVERIFY(explorer()->isEnabled());
    }

    void drawnMapsAreTheReferenceTensors()
    {
        explorer()->setSelection({LayerAggregation::Single, 1, HeadAggregation::Single, 2});
        const auto golden = testsupport::goldenFloats("tiny-opt", "qformer_cross_attentions_L2");  // [1, 4, 32, 257]
        const QueryMaps& maps = explorer()->maps();
        QCOMPARE(maps.queries, 32);
        QCOMPARE(maps.gridSize, 16);
        for (int q = 0; q < 32; q += 5)
            for (int t = 0; t < 257; t += 16)
                QVERIFY(std::abs(maps.row(q)[t] - golden[std::size_t((2 * 32 + q) * 257 + t)]) <= 1e-5);
        explorer()->selectQuery(9);
        const std::vector<float>& shown = explorer()->mapView()->patches();
        QCOMPARE(int(shown.size()), 256);
        QVERIFY(std::abs(shown[17] - golden[std::size_t((2 * 32 + 9) * 257 + 18)]) <= 1e-5);  // patch 17 is token 18
        saveScreenshot(*window_, QStringLiteral("06-explorer-query"));
    }

    void changingTheSelectionChangesTheDrawing()
    {
        explorer()->setSelection({LayerAggregation::Single, 0, HeadAggregation::Mean, 0});
        const QImage before = explorer()->grid()->overlay(4);
        explorer()->setSelection({LayerAggregation::Single, 1, HeadAggregation::Mean, 0});
        QVERIFY(explorer()->grid()->overlay(4) != before);
        explorer()->setSelection({LayerAggregation::Flow, 0, HeadAggregation::Mean, 0});
        double sum = 0;
        for (int t = 0; t < 257; ++t)
            sum += explorer()->maps().row(4)[t];
        QVERIFY(std::abs(sum - 1.0) < 1e-4);
        explorer()->setSelection({LayerAggregation::Mean, 0, HeadAggregation::Mean, 0});
        saveScreenshot(*window_, QStringLiteral("07-explorer-grid"));
    }

    void clickingAThumbnailSelectsTheQuery()
    {
        const QRect tile = explorer()->grid()->tileRect(13);
        QTest::mouseClick(explorer()->grid(), Qt::LeftButton, Qt::NoModifier, tile.center());
        QCOMPARE(explorer()->selectedQuery(), 13);
        QVERIFY(explorer()->mapView()->title().contains(QStringLiteral("Query 13")));
        QCOMPARE(explorer()->focusChart()->barCount(), 32);
        // Hovering the large map reads out the patch value.
        const QRectF image = explorer()->mapView()->imageRect();
        QVERIFY(explorer()->mapView()->readoutAt(image.center()).contains(QStringLiteral("row 8")));
        QVERIFY(explorer()->mapView()->readoutAt(QPointF(-5, -5)).isEmpty());
    }

    void clickingAWordShowsWhereItCameFrom()
    {
        QVERIFY(explorer()->words().size() >= 3);
        explorer()->selectWord(1);
        const auto weights = explorer()->wordWeights();
        QCOMPARE(int(weights.size()), 32);
        QCOMPARE(explorer()->wordChart()->barCount(), 32);
        // The bars are the average of the word's tokens' attention to the queries.
        const ImageDocument* document = window_->library()->current();
        const auto& tokens = document->captionResult.sequences.front().tokens;
        const GeneratedWord& word = explorer()->words()[1];
        for (int q : {0, 7, 31}) {
            double expected = 0;
            for (int t : word.tokens)
                expected += tokens[std::size_t(t)].queryAttention[std::size_t(q)];
            expected /= double(word.tokens.size());
            QVERIFY(std::abs(weights[std::size_t(q)] - expected) < 1e-6);
        }
        // The map is the queries' maps weighted by the bars.
        std::vector<int> all(32);
        std::iota(all.begin(), all.end(), 0);
        const std::vector<float> expectedMap = weightedPatchMap(explorer()->maps(), weights, all);
        const std::vector<float>& shown = explorer()->mapView()->patches();
        QCOMPARE(shown.size(), expectedMap.size());
        for (std::size_t p = 0; p < shown.size(); p += 13)
            QVERIFY(std::abs(shown[p] - expectedMap[p]) < 1e-7);
        QVERIFY(explorer()->mapView()->title().contains(word.text));
        saveScreenshot(*window_, QStringLiteral("08-explorer-word"));
    }

    void ablatingNothingGivesTheOriginalCaption()
    {
        QSignalSpy ablated(window_.get(), &MainWindow::ablationFinished);
        emit explorer()->ablationRequested(window_->library()->current()->id, {});
        QVERIFY(ablated.wait(kTimeoutMs));
        const QString original = window_->library()->current()->caption;
        // The second line ("Without ...") holds the regenerated caption, unmarked.
        const QString text = explorer()->ablationText();
        QVERIFY2(!text.contains(QStringLiteral("background")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("32 queries in")), qPrintable(text));
    }

    void ablatingQueriesRegeneratesAndMarksChanges()
    {
        for (int q : {0, 1, 2, 3, 4, 5, 6, 7})
            QTest::mouseClick(explorer()->grid(), Qt::LeftButton, Qt::ControlModifier, explorer()->grid()->tileRect(q).center());
        QCOMPARE(int(explorer()->grid()->disabled().size()), 8);
        QSignalSpy ablated(window_.get(), &MainWindow::ablationFinished);
        emit explorer()->ablationRequested(window_->library()->current()->id,
                                           std::vector<int>(explorer()->grid()->disabled().begin(),
                                                            explorer()->grid()->disabled().end()));
        QVERIFY(ablated.wait(kTimeoutMs));
        const QString text = explorer()->ablationText();
        QVERIFY2(text.contains(QStringLiteral("24 queries in")), qPrintable(text));
        QVERIFY2(text.contains(QStringLiteral("background")), qPrintable(text));  // something changed
        saveScreenshot(*window_, QStringLiteral("09-explorer-ablation"));
    }

    void wordDiffMarksOnlyNewWords()
    {
        const auto changed = changedWords({QStringLiteral("a"), QStringLiteral("cat"), QStringLiteral("sleeps")},
                                          {QStringLiteral("a"), QStringLiteral("dog"), QStringLiteral("sleeps")});
        QCOMPARE(changed, (std::vector<bool>{false, true, false}));
    }

    void exportsAreWritten()
    {
        QTemporaryDir dir;
        QCOMPARE(explorer()->exportPng(dir.filePath(QStringLiteral("view.png"))), QString());
        QVERIFY(QImage(dir.filePath(QStringLiteral("view.png"))).width() > 100);
        QCOMPARE(explorer()->exportSafetensors(dir.filePath(QStringLiteral("maps.safetensors"))), QString());
        QVERIFY(QFileInfo(dir.filePath(QStringLiteral("maps.safetensors"))).size() > 2 * 4 * 32 * 257 * 4);
        QCOMPARE(explorer()->exportCsv(dir.filePath(QStringLiteral("stats.csv"))), QString());
        QFile stats(dir.filePath(QStringLiteral("stats.csv")));
        QVERIFY(stats.open(QIODevice::ReadOnly));
        QCOMPARE(stats.readAll().count('\n'), 33);
        QFile maps(dir.filePath(QStringLiteral("stats-maps.csv")));
        QVERIFY(maps.open(QIODevice::ReadOnly));
        QCOMPARE(maps.readAll().count('\n'), 1 + 32 * 257);
    }

    void cleanupTestCase() { window_.reset(); }
};

QTEST_MAIN(TestExplorer)
#include "test_explorer.moc"
