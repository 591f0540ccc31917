// "Caption a folder..." in the real window on the fixture model: File → Caption a Folder opens
// the batch window; Start captions the folder into the table and the results file (the same
// text as each image captioned alone, broken files as errors); Pause and Resume, Stop, and
// closing the program mid-batch lose nothing and redo nothing; export writes JSONL and CSV;
// a results file of another model is refused by name.

#include "batch/batch_results_model.h"
#include "batch/batch_window.h"
#include "decoding_panel.h"
#include "fixtures.h"
#include "isolated_settings.h"
#include "main_window.h"
#include "querylens/model.h"
#include "querylens/session.h"
#include "screenshots.h"
#include "worker/model_worker.h"

#include <QAction>
#include <QFile>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSemaphore>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTableView>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <atomic>
#include <climits>
#include <map>
#include <memory>
#include <set>

using namespace querylens;
using namespace querylens::ui;

namespace {

constexpr int kTimeoutMs = 120000;  // a generous bound for a loaded CI machine, not a speed limit

DecodingOptions tenTokens()
{
    DecodingOptions options;
    options.maxNewTokens = 10;
    return options;
}

// A main window with a fixture model loaded and 10-token greedy decoding.
std::unique_ptr<MainWindow> loadedWindow(const std::string& config = "tiny-opt")
{
    auto window = std::make_unique<MainWindow>();
    window->resize(1100, 700);
    window->show();
    window->decodingPanel()->setOptions(tenTokens());
    QSignalSpy ready(window.get(), &MainWindow::modelReady);
    LoadOptions load;
    load.folder = testsupport::fixturePath(config);
    load.threads = 1;
    window->loadModel(load);
    if (!ready.wait(kTimeoutMs))
        qFatal("the fixture model did not load");
    return window;
}

// Opens the batch window the way a person does: the File menu's action.
BatchWindow* openBatchWindow(MainWindow& window)
{
    QAction* action = window.findChild<QAction*>(QStringLiteral("captionFolderAction"));
    if (!action)
        return nullptr;
    action->trigger();
    return window.batchWindow();
}

void typeInto(QLineEdit* edit, const QString& text)
{
    edit->clear();
    QTest::keyClicks(edit, text);
    QTest::keyClick(edit, Qt::Key_Return);  // editingFinished
}

QStringList writeImages(const QString& folder, int count)
{
    QDir().mkpath(folder);
    QStringList paths;
    for (int i = 0; i < count; ++i) {
        paths << folder + QStringLiteral("/photo%1.png").arg(i, 2, 10, QLatin1Char('0'));
        testsupport::fixtureVariant(i).save(paths.last());
    }
    return paths;
}

std::vector<nlohmann::json> fileLines(const QString& path)
{
    QFile file(path);
    std::vector<nlohmann::json> lines;
    if (file.open(QIODevice::ReadOnly))
        for (const QByteArray& line : file.readAll().split('\n'))
            if (!line.isEmpty())
                lines.push_back(nlohmann::json::parse(line.toStdString()));
    return lines;
}

// Every key of the results file once.
void verifyEachKeyOnce(const QString& path, int expected)
{
    std::multiset<std::string> keys;
    for (const auto& line : fileLines(path))
        keys.insert(line.at("key").get<std::string>());
    QCOMPARE(int(keys.size()), expected);
    QCOMPARE(int(std::set<std::string>(keys.begin(), keys.end()).size()), expected);
}

// Holds the worker's thread right after the batch's first image is done, until released or
// until the window closes (its worker cancelled up to every job). A test's Pause, Stop or close
// then lands mid-batch for sure: without it, on a loaded machine (ctest -j2 beside other
// suites) the worker could finish every image while the test's thread waited for the CPU, and
// the pause found nothing left to pause.
class FirstRowGate {
public:
    explicit FirstRowGate(MainWindow& window) : state_(std::make_shared<State>())
    {
        ModelWorker* worker = window.worker();
        connection_ = QObject::connect(
            worker, &ModelWorker::batchRowDone, worker,
            [state = state_, worker] {
                if (state->held.exchange(true))
                    return;
                // On the worker's thread; the window's own (queued) row signal is already posted.
                while (!state->open.tryAcquire(1, 10) && !worker->cancelled(INT_MAX)) {
                }
            },
            Qt::DirectConnection);
    }
    ~FirstRowGate()
    {
        QObject::disconnect(connection_);
        release();
    }
    void release()
    {
        if (!state_->released.exchange(true))
            state_->open.release();
    }

private:
    struct State {
        QSemaphore open;
        std::atomic<bool> held{false}, released{false};
    };
    std::shared_ptr<State> state_;
    QMetaObject::Connection connection_;
};

// A window with the fixture model, its batch window opened from the File menu, the folder and
// the results file typed in and Start clicked, as a person does; and the signals the tests wait
// on. `holdAfterFirstRow`: a FirstRowGate is in place before the start. Members are destroyed
// gate first (released), window last.
struct StartedBatch {
    std::unique_ptr<MainWindow> window;
    BatchWindow* batch = nullptr;
    std::unique_ptr<QSignalSpy> ended, rows;
    std::unique_ptr<FirstRowGate> gate;
    bool running() const { return batch && batch->isRunning(); }
};

StartedBatch startBatch(const QString& folder, const QString& output, bool holdAfterFirstRow = false,
                        const std::string& config = "tiny-opt")
{
    StartedBatch run;
    run.window = loadedWindow(config);
    run.batch = openBatchWindow(*run.window);
    if (!run.batch)
        return run;
    run.ended = std::make_unique<QSignalSpy>(run.batch, &BatchWindow::ended);
    run.rows = std::make_unique<QSignalSpy>(run.batch->results(), &QAbstractItemModel::rowsInserted);
    if (holdAfterFirstRow)
        run.gate = std::make_unique<FirstRowGate>(*run.window);
    typeInto(run.batch->folderEdit(), folder);
    typeInto(run.batch->outputEdit(), output);
    if (run.batch->startButton()->isEnabled())
        QTest::mouseClick(run.batch->startButton(), Qt::LeftButton);
    return run;
}

}  // namespace

class TestBatchWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        testsupport::isolateSettings();
    }
    void init() { QSettings().clear(); }

    void captionsAFolderIntoTheTableAndTheFile()
    {
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("photos"));
        const QStringList images = writeImages(folder, 5);
        QFile broken(folder + QStringLiteral("/broken.jpg"));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write("not a JPEG");
        broken.close();
        const QString output = dir.filePath(QStringLiteral("results.jsonl"));

        StartedBatch run = startBatch(folder, output);
        QVERIFY(run.running());
        BatchWindow* batch = run.batch;
        QSignalSpy& ended = *run.ended;
        QVERIFY(QTest::qWaitForWindowExposed(batch));
        QVERIFY(!batch->startButton()->isEnabled());
        QVERIFY(batch->pauseButton()->isEnabled());
        QVERIFY(ended.wait(kTimeoutMs));
        QCOMPARE(ended.first().first().value<BatchEnd>(), BatchEnd::Finished);
        QCOMPARE(batch->results()->rowCount(), 6);
        QCOMPARE(batch->results()->errorCount(), 1);
        QCOMPARE(batch->progressBar()->value(), 6);
        QCOMPARE(batch->progressBar()->maximum(), 6);
        QVERIFY2(batch->statusText().contains(QStringLiteral("Done")), qPrintable(batch->statusText()));
        QCOMPARE(batch->startButton()->text(), QStringLiteral("Resume"));

        // Each image's row holds the caption it gets alone, and the file says the same.
        LoadOptions load;
        load.folder = testsupport::fixturePath("tiny-opt");
        load.threads = 1;
        const auto model = Model::load(load);
        std::map<QString, QString> alone;
        for (const QString& image : images)
            alone[image] = QString::fromStdString(
                model->newSession(model->encode(testsupport::toRgb(QImage(image))))->caption(tenTokens()).sequences.front().text);
        std::map<QString, QString> fromFile;
        for (const auto& line : fileLines(output))
            fromFile[QString::fromStdString(line.at("key").get<std::string>())] =
                QString::fromStdString(line.value("text", line.value("error", std::string())));
        for (const BatchRow& row : batch->results()->rows()) {
            QCOMPARE(fromFile.at(row.key), row.error.isEmpty() ? row.text : row.error);
            if (row.key.endsWith(QStringLiteral("broken.jpg"))) {
                QVERIFY2(row.error.contains(QStringLiteral("broken.jpg")), qPrintable(row.error));
                continue;
            }
            QCOMPARE(row.text, alone.at(row.key));
            QVERIFY(!row.thumbnail.isNull());
        }
        saveScreenshot(*batch, QStringLiteral("batch-01-finished"));
    }

    void pauseThenResumeDoesEveryImageOnce()
    {
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("photos"));
        writeImages(folder, 20);
        const QString output = dir.filePath(QStringLiteral("results.jsonl"));
        StartedBatch run = startBatch(folder, output, /*holdAfterFirstRow=*/true);
        QVERIFY(run.running());
        BatchWindow* batch = run.batch;
        QSignalSpy& ended = *run.ended;
        QVERIFY(run.rows->wait(kTimeoutMs));
        QTest::mouseClick(batch->pauseButton(), Qt::LeftButton);
        QVERIFY(!batch->pauseButton()->isEnabled());
        saveScreenshot(*batch, QStringLiteral("batch-02-pausing"));
        run.gate->release();
        QVERIFY(ended.wait(kTimeoutMs));
        QCOMPARE(ended.first().first().value<BatchEnd>(), BatchEnd::Paused);
        const int paused = batch->results()->rowCount();
        QVERIFY2(paused == 8,  // the batch in flight when Pause was clicked, whole
                 qPrintable(QStringLiteral("%1 rows at the pause").arg(paused)));
        verifyEachKeyOnce(output, paused);
        QVERIFY(batch->statusText().contains(QStringLiteral("Paused")));

        QCOMPARE(batch->startButton()->text(), QStringLiteral("Resume"));
        QTest::mouseClick(batch->startButton(), Qt::LeftButton);
        QVERIFY(ended.wait(kTimeoutMs));
        QCOMPARE(ended.last().first().value<BatchEnd>(), BatchEnd::Finished);
        QCOMPARE(batch->results()->rowCount(), 20);
        verifyEachKeyOnce(output, 20);
    }

    void stopDropsOnlyTheImagesInFlight()
    {
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("photos"));
        writeImages(folder, 20);
        const QString output = dir.filePath(QStringLiteral("results.jsonl"));
        StartedBatch run = startBatch(folder, output, /*holdAfterFirstRow=*/true);
        QVERIFY(run.running());
        BatchWindow* batch = run.batch;
        QSignalSpy& ended = *run.ended;
        QVERIFY(run.rows->wait(kTimeoutMs));
        QTest::mouseClick(batch->stopButton(), Qt::LeftButton);
        run.gate->release();
        QVERIFY(ended.wait(kTimeoutMs));
        QCOMPARE(ended.first().first().value<BatchEnd>(), BatchEnd::Cancelled);
        const int stopped = batch->results()->rowCount();
        QVERIFY(stopped < 20);
        verifyEachKeyOnce(output, stopped);  // what the table shows is what the file holds
        // The window's own Stop (Esc) is for a caption: it leaves a batch alone.
        QTest::mouseClick(batch->startButton(), Qt::LeftButton);
        run.window->stopGeneration();
        QVERIFY(ended.wait(kTimeoutMs));
        QCOMPARE(ended.last().first().value<BatchEnd>(), BatchEnd::Finished);
        verifyEachKeyOnce(output, 20);
    }

    // The program closes in the middle of a batch; opened again, the batch window shows what
    // was done and resumes by itself once the model is loaded.
    void resumesWhenTheProgramIsOpenedAgain()
    {
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("photos"));
        writeImages(folder, 24);
        const QString output = dir.filePath(QStringLiteral("results.jsonl"));
        {
            StartedBatch run = startBatch(folder, output, /*holdAfterFirstRow=*/true);
            QVERIFY(run.running());
            QVERIFY(run.rows->wait(kTimeoutMs));
            run.window.reset();  // closed mid-batch: the gate lets the cancelled worker go
        }
        const int before = int(fileLines(output).size());
        QVERIFY2(before > 0 && before < 24, qPrintable(QStringLiteral("%1 lines when closed").arg(before)));

        auto window = loadedWindow();
        BatchWindow* batch = openBatchWindow(*window);
        QSignalSpy ended(batch, &BatchWindow::ended);
        QCOMPARE(batch->folderEdit()->text(), folder);
        QCOMPARE(batch->outputEdit()->text(), output);
        QVERIFY(batch->isRunning());
        // What was done before shows at once (read from the file), while the rest comes.
        QTRY_VERIFY_WITH_TIMEOUT(batch->results()->rowCount() >= before, kTimeoutMs);
        saveScreenshot(*batch, QStringLiteral("batch-03-resumed"));
        QVERIFY(ended.wait(kTimeoutMs));
        QCOMPARE(ended.first().first().value<BatchEnd>(), BatchEnd::Finished);
        QCOMPARE(batch->results()->rowCount(), 24);
        verifyEachKeyOnce(output, 24);
        // Rows read back from the file get their thumbnails when they are shown.
        for (int row = 0; row < before; ++row)
            batch->results()->data(batch->results()->index(row, BatchResultsModel::ImageColumn), Qt::DecorationRole);
        const auto rowsWithThumbnails = [&] {
            const auto& rows = batch->results()->rows();
            return std::count_if(rows.begin(), rows.end(), [](const BatchRow& r) { return !r.thumbnail.isNull(); });
        };
        QTRY_COMPARE_WITH_TIMEOUT(int(rowsWithThumbnails()), 24, kTimeoutMs);
        batch->findChild<QTableView*>(QStringLiteral("batchResults"))->scrollToTop();
        saveScreenshot(*batch, QStringLiteral("batch-05-resumed-finished"));
        QVERIFY(!QSettings().value(QStringLiteral("batch/running")).toBool());
    }

    void exportsJsonLinesAndCsv()
    {
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("photos"));
        writeImages(folder, 3);
        const QString output = dir.filePath(QStringLiteral("results.jsonl"));
        StartedBatch run = startBatch(folder, output);
        QVERIFY(run.running());
        BatchWindow* batch = run.batch;
        QVERIFY(run.ended->wait(kTimeoutMs));

        const QString jsonl = dir.filePath(QStringLiteral("export.jsonl"));
        QVERIFY(batch->exportJsonLines(jsonl));
        QCOMPARE(fileLines(jsonl).size(), std::size_t(3));
        const QString csv = dir.filePath(QStringLiteral("export.csv"));
        QVERIFY(batch->exportCsv(csv));
        QFile file(csv);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = file.readAll().split('\n');
        QCOMPARE(lines.first().trimmed(), QByteArray("key,text,error,milliseconds"));
        QCOMPARE(lines.size(), 5);  // header, 3 rows, and the empty rest after the last newline
        QVERIFY(lines[1].startsWith(folder.toUtf8() + "/photo00.png,"));
        QVERIFY(!batch->exportCsv(dir.filePath(QStringLiteral("no-such-folder/x.csv"))));
        QVERIFY(batch->statusText().contains(QStringLiteral("cannot be written")));
    }

    void resultsOfAnotherModelAreRefused()
    {
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("photos"));
        writeImages(folder, 2);
        const QString output = dir.filePath(QStringLiteral("results.jsonl"));
        {
            StartedBatch run = startBatch(folder, output);
            QVERIFY(run.running());
            QVERIFY(run.ended->wait(kTimeoutMs));
        }
        QFile file(output);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const qint64 firstLine = file.readAll().indexOf('\n') + 1;
        file.close();
        QVERIFY(QFile::resize(output, firstLine + 10));  // one complete line, then a torn one: work is left
        QUERYLENS_SKIP_T5_UNDER_ASAN("tiny-t5");
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)  // scripts/sanitize.sh --thread: the same refusal of RTLD_DEEPBIND
        QSKIP("ThreadSanitizer cannot open the SentencePiece plugin (RTLD_DEEPBIND): no T5 here");
#endif
#endif
        auto window = loadedWindow("tiny-t5");
        BatchWindow* batch = openBatchWindow(*window);
        QSignalSpy ended(batch, &BatchWindow::ended);
        QTRY_VERIFY_WITH_TIMEOUT(batch->startButton()->isEnabled(), kTimeoutMs);
        QTest::mouseClick(batch->startButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!batch->isRunning(), kTimeoutMs);
        QVERIFY(ended.isEmpty());
        QVERIFY2(batch->statusText().contains(QStringLiteral("another model")), qPrintable(batch->statusText()));
        QTRY_COMPARE_WITH_TIMEOUT(batch->results()->rowCount(), 1, kTimeoutMs);  // what the file holds, still shown
        saveScreenshot(*batch, QStringLiteral("batch-04-other-model"));
    }
};

QTEST_MAIN(TestBatchWindow)
#include "test_batch_window.moc"
