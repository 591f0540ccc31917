// The model dialog's Download tab against the mock Hub, clicked as a person would: the
// catalogue's sizes and memory fit, a download with per-file and total progress, Pause, Resume
// (also after the dialog and its downloads were closed, as at the next start), Cancel, Open.

#include "fixtures.h"
#include "isolated_settings.h"
#include "mock_hub_process.h"
#include "screenshots.h"

#include "download/download_manager.h"
#include "download/download_panel.h"
#include "model_dialog.h"
#include "querylens/checkpoints.h"

#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

using namespace querylens;
using namespace querylens::ui;

class TestDownloadDialog : public QObject {
    Q_OBJECT

private:
    hub::HubSettings settings() const
    {
        hub::HubSettings s;
        s.endpoint = hub_->endpoint().toStdString();
        s.cacheFolder = dir_->filePath(QStringLiteral("cache")).toStdString();
        s.stateFolder = dir_->filePath(QStringLiteral("state")).toStdString();
        s.stallSeconds = 10;
        s.firstBackoffSeconds = 0.05;
        return s;
    }

    template <typename T>
    static T* child(QWidget& parent, const char* name)
    {
        T* widget = parent.findChild<T*>(QString::fromLatin1(name));
        if (!widget)
            qFatal("no widget named %s", name);
        return widget;
    }

    QStringList partials(const QString& repoFolder) const
    {
        return QDir(dir_->filePath(QStringLiteral("cache/") + repoFolder + QStringLiteral("/blobs")))
            .entryList({QStringLiteral("*.incomplete")}, QDir::Files);
    }

private slots:
    void initTestCase()
    {
        testsupport::isolateSettings();  // the catalogue's QSettings in a folder of the suite's own
        hub_ = std::make_unique<MockHub>();
        QVERIFY2(hub_->started(), "the mock Hub did not start");
        dir_ = std::make_unique<QTemporaryDir>();
    }

    void catalogueShowsSizesAndMemoryFit()
    {
        DownloadManager manager(settings(), nullptr);
        ModelDialog dialog(nullptr, {}, &manager);
        dialog.show();
        dialog.showDownloads();
        auto* table = child<QTableWidget>(dialog, "catalogueTable");
        QCOMPARE(table->rowCount(), 9);
        // Salesforce/blip2-opt-2.7b is on the mock (as tiny-opt): its size and memory arrive.
        qint64 optBytes = 0;  // what the mock serves of tiny-opt: its checkpoint files
        for (const char* name : {"config.json", "merges.txt", "model.safetensors", "vocab.json"})
            optBytes += QFileInfo(QString::fromStdString(testsupport::fixturePath(std::string("tiny-opt/") + name))).size();
        QTRY_COMPARE_WITH_TIMEOUT(table->item(0, 1)->text(), QString::fromStdString(hub::formatSize(std::uint64_t(optBytes))), 30000);
        const std::size_t fp32 = estimateWeightMemory(testsupport::fixturePath("tiny-opt"), Precision::Float32);
        QVERIFY2(table->item(0, 2)->text().startsWith(QString::fromStdString(hub::formatSize(fp32))), qPrintable(table->item(0, 2)->text()));
        QVERIFY(table->item(0, 2)->text().endsWith(QStringLiteral("✓")));
        // The others are not on the mock: their size stays unknown, as offline.
        QTRY_VERIFY_WITH_TIMEOUT(table->item(4, 1)->text().endsWith(QStringLiteral("MB")), 30000);  // flan-t5-xl = tiny-t5
        QCOMPARE(table->item(2, 1)->text(), QStringLiteral("unknown"));
        saveScreenshot(dialog, QStringLiteral("download-catalogue"));
        // Choosing a row fills the field.
        table->selectRow(4);
        QCOMPARE(child<QLineEdit>(dialog, "repoField")->text(), QStringLiteral("Salesforce/blip2-flan-t5-xl"));
    }

    void downloadPauseResumeAndOpen()
    {
        // The weights arrive slowly enough to be paused.
        hub_->fault(QStringLiteral("stall"), {{"path", "test/tiny-opt-sharded/model-00001-of-00002.safetensors"},
                                              {"bytes", 200000}, {"seconds", 3}});
        auto manager = std::make_unique<DownloadManager>(settings(), nullptr);
        auto dialog = std::make_unique<ModelDialog>(nullptr, QString(), manager.get());
        dialog->show();
        dialog->showDownloads();
        auto* field = child<QLineEdit>(*dialog, "repoField");
        field->clear();
        QTest::keyClicks(field, QStringLiteral("test/tiny-opt-sharded"));
        QSignalSpy paused(manager.get(), &DownloadManager::paused);
        QTest::mouseClick(child<QPushButton>(*dialog, "downloadButton"), Qt::LeftButton);
        auto* fileBar = child<QProgressBar>(*dialog, "fileProgress");
        auto* totalBar = child<QProgressBar>(*dialog, "totalProgress");
        QTRY_VERIFY_WITH_TIMEOUT(fileBar->value() > 0 && fileBar->value() < 1000 && totalBar->value() > 0, 30000);
        QVERIFY(!child<QPushButton>(*dialog, "downloadButton")->isEnabled());
        QVERIFY(child<QPushButton>(*dialog, "pauseButton")->isEnabled());
        saveScreenshot(*dialog, QStringLiteral("download-running"));

        QTest::mouseClick(child<QPushButton>(*dialog, "pauseButton"), Qt::LeftButton);
        QVERIFY(paused.wait(30000));
        QCOMPARE(partials(QStringLiteral("models--test--tiny-opt-sharded")).size(), 1);
        QVERIFY(child<QPushButton>(*dialog, "resumeButton")->isEnabled());
        QVERIFY(child<QLabel>(*dialog, "downloadStatus")->text().contains(QStringLiteral("Paused")));
        saveScreenshot(*dialog, QStringLiteral("download-paused"));

        // Closed and opened again, as at the next start: the unfinished download is offered.
        dialog.reset();
        manager.reset();
        manager = std::make_unique<DownloadManager>(settings(), nullptr);
        dialog = std::make_unique<ModelDialog>(nullptr, QString(), manager.get());
        dialog->show();
        dialog->showDownloads();
        auto* unfinished = child<QLabel>(*dialog, "unfinishedDownloads");
        QVERIFY2(unfinished->text().contains(QStringLiteral("test/tiny-opt-sharded")), qPrintable(unfinished->text()));
        QVERIFY(unfinished->text().contains(QStringLiteral("incomplete:")));
        QSignalSpy finished(manager.get(), &DownloadManager::finished);
        QTest::mouseClick(child<QPushButton>(*dialog, "resumeButton"), Qt::LeftButton);
        QVERIFY2(finished.wait(60000), qPrintable(child<QLabel>(*dialog, "downloadStatus")->text()));
        const QString folder = finished.at(0).at(1).toString();
        QCOMPARE(child<QProgressBar>(*dialog, "totalProgress")->value(), 1000);
        QVERIFY(partials(QStringLiteral("models--test--tiny-opt-sharded")).isEmpty());
        QVERIFY(child<QPushButton>(*dialog, "openButton")->isEnabled());
        saveScreenshot(*dialog, QStringLiteral("download-finished"));

        // Open: the downloaded checkpoint is chosen and the dialog accepts it.
        QTest::mouseClick(child<QPushButton>(*dialog, "openButton"), Qt::LeftButton);
        QCOMPARE(dialog->result(), int(QDialog::Accepted));
        QCOMPARE(QString::fromStdString(dialog->options().folder), folder);
        QVERIFY(inspectCheckpoint(folder.toStdString()).problem.empty());
    }

    void cancelRemovesThePartials()
    {
        hub_->fault(QStringLiteral("stall"), {{"path", "test/tiny-t5/model.safetensors"}, {"bytes", 300000}, {"seconds", 3}});
        DownloadManager manager(settings(), nullptr);
        ModelDialog dialog(nullptr, {}, &manager);
        dialog.show();
        dialog.showDownloads();
        child<QLineEdit>(dialog, "repoField")->setText(QStringLiteral("test/tiny-t5"));
        QSignalSpy cancelled(&manager, &DownloadManager::cancelled);
        QTest::mouseClick(child<QPushButton>(dialog, "downloadButton"), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(partials(QStringLiteral("models--test--tiny-t5")).size() == 1, 30000);
        QTest::mouseClick(child<QPushButton>(dialog, "cancelButton"), Qt::LeftButton);
        QVERIFY(cancelled.wait(30000));
        QVERIFY(partials(QStringLiteral("models--test--tiny-t5")).isEmpty());
        QVERIFY(hub::findIncompleteDownloads(settings().cacheFolder, settings().stateFolder).empty());
        QVERIFY(child<QPushButton>(dialog, "downloadButton")->isEnabled());
    }

    void failuresAreShownWhereTheUserLooks()
    {
        DownloadManager manager(settings(), nullptr);
        ModelDialog dialog(nullptr, {}, &manager);
        dialog.show();
        dialog.showDownloads();
        child<QLineEdit>(dialog, "repoField")->setText(QStringLiteral("test/gated-opt"));
        QSignalSpy failed(&manager, &DownloadManager::failed);
        QTest::mouseClick(child<QPushButton>(dialog, "downloadButton"), Qt::LeftButton);
        QVERIFY(failed.wait(30000));
        const QString text = child<QLabel>(dialog, "downloadStatus")->text();
        QVERIFY2(text.contains(QStringLiteral("gated")) && text.contains(QStringLiteral("test/gated-opt")), qPrintable(text));
        saveScreenshot(dialog, QStringLiteral("download-failed"));
    }

private:
    std::unique_ptr<MockHub> hub_;
    std::unique_ptr<QTemporaryDir> dir_;
};

QTEST_MAIN(TestDownloadDialog)
#include "test_download_dialog.moc"
