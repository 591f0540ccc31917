// `querylens download` run as a person runs it, against the mock Hub: download then caption by
// repository id (the golden ids), a kill -9 mid-file and a rerun that fetches only the missing
// bytes, Ctrl+C with its advice and exit code, `querylens models` listing the unfinished
// download, offline runs, and errors with their exit codes.

#include "mock_hub_process.h"

#include "fixtures.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <csignal>

namespace {

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

QString fixture(const std::string& relative) { return QString::fromStdString(testsupport::fixturePath(relative)); }

}  // namespace

class TestCliDownload : public QObject {
    Q_OBJECT

private:
    QProcessEnvironment environment(bool offline = false) const
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove(QStringLiteral("QUERYLENS_MODEL"));
        env.remove(QStringLiteral("HF_TOKEN"));
        env.insert(QStringLiteral("HF_ENDPOINT"), hub_->endpoint());
        env.insert(QStringLiteral("HF_HUB_CACHE"), dir_->filePath(QStringLiteral("cache")));
        env.insert(QStringLiteral("XDG_STATE_HOME"), dir_->filePath(QStringLiteral("state")));
        if (offline)
            env.insert(QStringLiteral("HF_HUB_OFFLINE"), QStringLiteral("1"));
        return env;
    }

    Run run(const QStringList& arguments, bool offline = false, const QProcessEnvironment* env = nullptr)
    {
        QProcess process;
        process.setProcessEnvironment(env ? *env : environment(offline));
        process.start(QStringLiteral(QUERYLENS_BINARY), arguments);
        process.waitForStarted();
        process.closeWriteChannel();
        process.waitForFinished(-1);
        Run result;
        result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
        result.out = process.readAllStandardOutput();
        result.err = process.readAllStandardError();
        return result;
    }

    QString partialOfWeights() const
    {
        const QDir blobs(dir_->filePath(QStringLiteral("cache/models--test--tiny-opt/blobs")));
        const QStringList partials = blobs.entryList({QStringLiteral("*.incomplete")}, QDir::Files);
        return partials.isEmpty() ? QString() : blobs.filePath(partials.first());
    }

    // `querylens download test/tiny-opt`, whose weights stop arriving after 700000 bytes.
    void startStalledDownload(QProcess& process)
    {
        hub_->fault(QStringLiteral("stall"), {{"path", "test/tiny-opt/model.safetensors"}, {"bytes", 700000}, {"seconds", 20}});
        process.setProcessEnvironment(environment());
        process.start(QStringLiteral(QUERYLENS_BINARY), {QStringLiteral("download"), QStringLiteral("test/tiny-opt")});
        QVERIFY(process.waitForStarted());
    }

    qint64 weightsSize() const { return QFileInfo(fixture("tiny-opt/model.safetensors")).size(); }

private slots:
    void initTestCase()
    {
        hub_ = std::make_unique<MockHub>();
        QVERIFY2(hub_->started(), "the mock Hub did not start");
    }
    void init()
    {
        hub_->reset();
        dir_ = std::make_unique<QTemporaryDir>();
    }

    void downloadThenCaptionByRepositoryId()
    {
        const Run download = run({QStringLiteral("download"), QStringLiteral("test/tiny-opt"), QStringLiteral("--json")});
        QVERIFY2(download.exitCode == 0, download.err.constData());
        const QList<QByteArray> lines = download.out.trimmed().split('\n');
        QCOMPARE(lines.size(), 2);  // the snapshot folder, then the report
        const QString snapshot = QString::fromUtf8(lines[0]);
        QVERIFY(snapshot.startsWith(dir_->filePath(QStringLiteral("cache/models--test--tiny-opt/snapshots/"))));
        const auto report = nlohmann::json::parse(lines[1].toStdString());
        QCOMPARE(report.at("snapshot").get<std::string>(), snapshot.toStdString());
        QCOMPARE(report.at("files").size(), std::size_t(4));
        QCOMPARE(report.at("bytes_fetched").get<std::uint64_t>(), report.at("bytes_total").get<std::uint64_t>());
        bool pickleSkipped = false;
        for (const auto& skipped : report.at("skipped"))
            pickleSkipped |= skipped.at("path") == "pytorch_model.bin";
        QVERIFY(pickleSkipped);
        QCOMPARE(hub_->bytesServed(QStringLiteral("test/tiny-opt/pytorch_model.bin")), 0);
        // Not a terminal: plain lines, no carriage returns or escape sequences.
        QVERIFY(!download.err.contains('\r') && !download.err.contains('\033'));
        QVERIFY2(download.err.contains("[4/4] model.safetensors"), download.err.constData());

        // Offline, by repository id, the golden ids of the reference.
        hub_->reset();
        const Run caption = run({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"),
                                 QStringLiteral("test/tiny-opt"), QStringLiteral("--max-new-tokens"), QStringLiteral("20"),
                                 QStringLiteral("--json")},
                                /*offline=*/true);
        QVERIFY2(caption.exitCode == 0, caption.err.constData());
        const auto result = nlohmann::json::parse(caption.out.trimmed().split('\n').last().toStdString());
        const auto golden = testsupport::goldenInts("tiny-opt", "greedy_ids");
        QCOMPARE(result.at("token_ids").get<std::vector<std::int64_t>>(), golden);
        QCOMPARE(result.at("model").at("name").get<std::string>(), std::string("test/tiny-opt"));
        // $QUERYLENS_MODEL takes a repository id too.
        QProcessEnvironment env = environment(true);
        env.insert(QStringLiteral("QUERYLENS_MODEL"), QStringLiteral("test/tiny-opt"));
        const Run fromEnvironment = run({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--max-new-tokens"),
                                         QStringLiteral("3")},
                                        false, &env);
        QVERIFY2(fromEnvironment.exitCode == 0, fromEnvironment.err.constData());
        QCOMPARE(hub_->requests().size(), 0);  // offline: nothing asked

        // Downloading again offline prints the cached snapshot.
        const Run again = run({QStringLiteral("download"), QStringLiteral("test/tiny-opt")}, true);
        QCOMPARE(again.exitCode, 0);
        QCOMPARE(again.out.trimmed(), snapshot.toUtf8());
    }

    void killedMidFileRerunFetchesOnlyTheMissingBytes()
    {
        QProcess process;
        startStalledDownload(process);
        QTRY_VERIFY_WITH_TIMEOUT(!partialOfWeights().isEmpty() && QFileInfo(partialOfWeights()).size() == 700000, 30000);
        process.kill();  // SIGKILL: no chance to clean up
        process.waitForFinished();
        hub_->reset();
        const Run rerun = run({QStringLiteral("download"), QStringLiteral("test/tiny-opt")});
        QVERIFY2(rerun.exitCode == 0, rerun.err.constData());
        QCOMPARE(hub_->bytesServed(QStringLiteral("test/tiny-opt/model.safetensors")), weightsSize() - 700000);
        QCOMPARE(hub_->bytesServed(QStringLiteral("test/tiny-opt/config.json")), 0);  // complete files are not fetched again
        QVERIFY(partialOfWeights().isEmpty());
        QFile weights(QString::fromUtf8(rerun.out.trimmed()) + QStringLiteral("/model.safetensors"));
        QVERIFY(weights.open(QIODevice::ReadOnly));
        QFile original(fixture("tiny-opt/model.safetensors"));
        QVERIFY(original.open(QIODevice::ReadOnly));
        QCOMPARE(weights.readAll(), original.readAll());
    }

    void ctrlCKeepsThePartialAndSaysHowToResume()
    {
        QProcess process;
        startStalledDownload(process);
        QTRY_VERIFY_WITH_TIMEOUT(!partialOfWeights().isEmpty() && QFileInfo(partialOfWeights()).size() == 700000, 30000);
        ::kill(pid_t(process.processId()), SIGINT);
        QVERIFY(process.waitForFinished(30000));
        QCOMPARE(process.exitCode(), 130);
        const QByteArray err = process.readAllStandardError();
        QVERIFY2(err.contains("Run the same command again to resume: querylens download test/tiny-opt"), err.constData());
        QVERIFY2(err.contains("726 kB of 1.8 MB are kept"), err.constData());
        QCOMPARE(QFileInfo(partialOfWeights()).size(), qint64(700000));

        // `querylens models` lists it as unfinished, with its sizes and how to resume.
        const Run models = run({QStringLiteral("models")});
        QCOMPARE(models.exitCode, 0);
        QVERIFY2(models.out.contains("test/tiny-opt  (incomplete: 726 kB of 1.8 MB)"), models.out.constData());
        QVERIFY2(models.out.contains("resume with: querylens download test/tiny-opt"), models.out.constData());
        // --model refuses it with the same advice, instead of failing on a missing file.
        const Run caption = run({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"),
                                 QStringLiteral("test/tiny-opt")});
        QCOMPARE(caption.exitCode, 1);
        QVERIFY2(caption.err.contains("unfinished"), caption.err.constData());
    }

    // A snapshot whose config.json is `null` (hand-edited, or a tool that wrote nothing) is
    // listed with what is wrong and where, and is not offered as loadable.
    void cachedSnapshotWithANullConfigSaysSo()
    {
        const QString snapshot = dir_->filePath(QStringLiteral("cache/models--test--nulled/snapshots/0123abcd"));
        QVERIFY(QDir().mkpath(snapshot));
        QFile config(snapshot + QStringLiteral("/config.json"));
        QVERIFY(config.open(QIODevice::WriteOnly));
        config.write("null\n");
        config.close();
        const Run models = run({QStringLiteral("models")});
        QCOMPARE(models.exitCode, 0);
        QVERIFY2(models.out.contains("cannot be loaded: ") && models.out.contains("0123abcd/config.json") &&
                     models.out.contains("expected a JSON object, found null"),
                 models.out.constData());
        const Run quiet = run({QStringLiteral("models"), QStringLiteral("--quiet")});
        QCOMPARE(quiet.exitCode, 0);
        QVERIFY2(!quiet.out.contains("0123abcd"), quiet.out.constData());
    }

    void errorsHaveTheirExitCodes_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("says");
        QTest::newRow("missing repository") << QStringList{"download", "test/no-such-repo"} << 1 << "check the name";
        QTest::newRow("gated") << QStringList{"download", "test/gated-opt"} << 1 << "gated";
        QTest::newRow("not BLIP-2") << QStringList{"download", "test/not-blip2"} << 1 << "--force";
        QTest::newRow("no repository") << QStringList{"download"} << 2 << "give one repository id";
        QTest::newRow("not a repository id") << QStringList{"download", "a/b/c"} << 2 << "not a repository id";
        QTest::newRow("--model not cached") << QStringList{"caption", fixture("image.png"), "--model", "test/tiny-t5"} << 1
                                            << "querylens download test/tiny-t5";
    }
    void errorsHaveTheirExitCodes()
    {
        QFETCH(QStringList, arguments);
        QFETCH(int, exitCode);
        QFETCH(QString, says);
        const Run result = run(arguments);
        QCOMPARE(result.exitCode, exitCode);
        QVERIFY2(result.err.contains(says.toUtf8()), result.err.constData());
    }

private:
    std::unique_ptr<MockHub> hub_;
    std::unique_ptr<QTemporaryDir> dir_;
};

QTEST_GUILESS_MAIN(TestCliDownload)
#include "test_cli_download.moc"
