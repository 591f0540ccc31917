// The window's explanation views, clicked offscreen: text localisation with the matching
// model (scores of the reference, a map per word, the faithfulness curves), search of a folder
// (ranked thumbnails, a hit opened), the gradient maps of a generated word in the explorer
// (each method, the curves), and what each kind of model says it cannot do.

#include "caption_panel.h"
#include "decoding_panel.h"
#include "explain/faithfulness_chart.h"
#include "explain/localize_panel.h"
#include "explain/word_gradients_view.h"
#include "explorer/bar_chart.h"
#include "explorer/explorer_panel.h"
#include "explorer/map_view.h"
#include "fixtures.h"
#include "image_library.h"
#include "isolated_settings.h"
#include "main_window.h"
#include "message_bar.h"
#include "screenshots.h"
#include "search/search_panel.h"

#include <QComboBox>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace querylens;
using namespace querylens::ui;

namespace {

constexpr int kTimeoutMs = 120000;  // a generous bound for a loaded CI machine, not a speed limit

QString fixture(const std::string& relative) { return QString::fromStdString(testsupport::fixturePath(relative)); }

struct LoadedWindow {
    MainWindow window;
    explicit LoadedWindow(const std::string& config)
    {
        window.resize(1280, 820);
        window.show();
        DecodingOptions options;
        options.maxNewTokens = 8;
        window.decodingPanel()->setOptions(options);
        QSignalSpy ready(&window, &MainWindow::modelReady);
        LoadOptions load;
        load.folder = testsupport::fixturePath(config);
        window.loadModel(load);
        if (!ready.wait(kTimeoutMs))
            qFatal("the fixture model did not load");
    }
    void open(const QString& path)
    {
        QSignalSpy opened(&window, &MainWindow::imagesOpened);
        window.openImages({path});
        QVERIFY(opened.wait(kTimeoutMs));
    }
    void waitIdle() { QTRY_VERIFY_WITH_TIMEOUT(!window.isBusy(), kTimeoutMs); }
};

}  // namespace

class TestExplainViews : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        testsupport::isolateSettings();
    }

    void matchingModelLocalizesAPhrase()
    {
        LoadedWindow w("tiny-itm");
        MainWindow& window = w.window;
        // The window says what this model is for, where the caption would be.
        QVERIFY(window.messageBar()->text().contains(QStringLiteral("cannot caption or chat")));
        QCOMPARE(window.sideTabs()->currentWidget(), window.localizePanel());
        // No decoding settings for a model that does not generate: the tab goes, its page is not
        // drawn over another.
        auto* decoding = window.findChild<DecodingPanel*>();
        QVERIFY(decoding);
        QVERIFY(!window.sideTabs()->isTabVisible(window.sideTabs()->indexOf(decoding->parentWidget())));
        QVERIFY(!decoding->isVisible());
        w.open(fixture("image.png"));
        w.waitIdle();
        QVERIFY(window.captionPanel()->text().contains(QStringLiteral("cannot caption")));

        LocalizePanel* panel = window.localizePanel();
        QVERIFY(panel->phraseEdit()->isEnabled());
        QSignalSpy localized(&window, &MainWindow::textLocalized);
        panel->phraseEdit()->setText(QStringLiteral("two cats lying on a pink couch"));
        QTest::mouseClick(panel->localizeButton(), Qt::LeftButton);
        QVERIFY(localized.wait(kTimeoutMs));
        QVERIFY2(panel->scoresText().contains(QStringLiteral("Match probability 0.761")), qPrintable(panel->scoresText()));
        QCOMPARE(panel->wordCount(), 7);
        QCOMPARE(panel->mapView()->patches().size(), std::size_t(256));
        panel->selectWord(1);
        QVERIFY(panel->mapView()->title().contains(QStringLiteral("“cats”")));
        const std::vector<float> catsMap = panel->mapView()->patches();
        panel->selectWord(-1);
        QVERIFY(panel->mapView()->patches() != catsMap);

        QSignalSpy curves(&window, &MainWindow::faithfulnessShown);
        QTest::mouseClick(panel->faithfulnessButton(), Qt::LeftButton);
        QVERIFY(curves.wait(kTimeoutMs));
        QVERIFY(panel->chart()->hasReport());
        QCOMPARE(panel->chart()->seriesCount(), 4);
        QVERIFY(panel->chart()->summary().contains(QStringLiteral("deletion")));
        QCoreApplication::processEvents();  // the charts lay out their axes on the next event round
        saveScreenshot(window, QStringLiteral("localize"));
    }

    void searchRanksAFolderAndOpensAHit()
    {
        QTemporaryDir images, cache;
        qputenv("QUERYLENS_CACHE", cache.path().toUtf8());
        const QImage photo(fixture("image.png"));
        photo.save(images.filePath(QStringLiteral("cats.png")));
        photo.mirrored(true, false).save(images.filePath(QStringLiteral("mirrored.png")));
        photo.copy(0, 0, 320, 240).save(images.filePath(QStringLiteral("corner.jpg")));
        QImage green(200, 150, QImage::Format_RGB32);
        green.fill(Qt::darkGreen);
        green.save(images.filePath(QStringLiteral("green.png")));

        LoadedWindow w("tiny-itm");
        MainWindow& window = w.window;
        window.tabs()->setCurrentWidget(window.searchPanel());
        SearchPanel* panel = window.searchPanel();
        QVERIFY(panel->searchButton()->isEnabled());
        panel->setFolder(images.path());
        panel->queryEdit()->setText(QStringLiteral("two cats on a couch"));
        QSignalSpy shown(&window, &MainWindow::searchShown);
        QSignalSpy thumbnails(panel, &SearchPanel::thumbnailsReady);
        QTest::mouseClick(panel->searchButton(), Qt::LeftButton);
        QVERIFY(shown.wait(kTimeoutMs));
        QCOMPARE(panel->results()->count(), 4);
        QCOMPARE(panel->outcome().index.encoded, 4);
        QVERIFY(panel->outcome().result.hits.front().reranked);
        QVERIFY(panel->results()->item(0)->text().startsWith(QStringLiteral("1. match")));
        QVERIFY(thumbnails.count() > 0 || thumbnails.wait(kTimeoutMs));
        QVERIFY(!panel->results()->item(0)->icon().isNull());
        saveScreenshot(window, QStringLiteral("search"));

        // A second search of the same folder: nothing to encode.
        panel->queryEdit()->setText(QStringLiteral("a green field"));
        QTest::keyClick(panel->queryEdit(), Qt::Key_Return);
        QVERIFY(shown.wait(kTimeoutMs));
        QCOMPARE(panel->outcome().index.encoded, 0);

        // Opening a hit: it joins the images, and the window shows it with the localisation.
        const QString first = QString::fromStdString(panel->outcome().result.hits.front().path);
        QSignalSpy opened(&window, &MainWindow::imagesOpened);
        panel->results()->setCurrentRow(0);
        QTest::keyClick(panel->results(), Qt::Key_Return);
        QVERIFY(opened.wait(kTimeoutMs));
        QCOMPARE(window.library()->current()->path, first);
        QCOMPARE(window.tabs()->currentIndex(), 0);
        qunsetenv("QUERYLENS_CACHE");
    }

    void gradientMapsOfAGeneratedWord()
    {
        LoadedWindow w("tiny-opt");
        MainWindow& window = w.window;
        QSignalSpy captioned(&window, &MainWindow::captionFinished);
        w.open(fixture("image.png"));
        QVERIFY(captioned.count() > 0 || captioned.wait(kTimeoutMs));
        w.waitIdle();
        window.tabs()->setCurrentWidget(window.explorer());
        ExplorerPanel* explorer = window.explorer();
        WordGradientsView* view = window.wordGradients();
        explorer->chartTabs()->setCurrentWidget(view);
        QVERIFY(!explorer->words().empty());
        QSignalSpy explained(&window, &MainWindow::wordsExplained);
        explorer->selectWord(0);
        QVERIFY(explained.wait(kTimeoutMs));
        QCOMPARE(explorer->chartTabs()->currentWidget(), view);  // the page stays
        QVERIFY(view->hasExplanation());
        QCOMPARE(view->explanation().tokens, explorer->words().front().tokens);
        for (MapMethod method : allMapMethods()) {
            view->setMethod(method);
            QCOMPARE(view->mapView()->patches(), view->explanation().patchMap(method));
            QCOMPARE(view->queryChart()->barCount(), 32);
        }
        view->setMethod(MapMethod::Relevancy);
        QSignalSpy curves(&window, &MainWindow::faithfulnessShown);
        QTest::mouseClick(view->faithfulnessButton(), Qt::LeftButton);
        QVERIFY(curves.wait(kTimeoutMs));
        QVERIFY(view->chart()->hasReport());
        QCoreApplication::processEvents();
        saveScreenshot(window, QStringLiteral("gradient-maps"));

        // Another word: asked for again (the page is on screen).
        if (explorer->words().size() > 1) {
            explorer->selectWord(1);
            QVERIFY(explained.wait(kTimeoutMs));
            QCOMPARE(view->explanation().tokens, explorer->words()[1].tokens);
        }
        // The captioning model cannot localise or search, and says why.
        QVERIFY(!window.localizePanel()->phraseEdit()->isEnabled());
        QVERIFY(window.localizePanel()->scoresText().contains(QStringLiteral("Blip2ForImageTextRetrieval")));
        QVERIFY(!window.searchPanel()->searchButton()->isEnabled());
    }
};

QTEST_MAIN(TestExplainViews)
#include "test_explain_views.moc"
