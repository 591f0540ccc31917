// `querylens batch` and `querylens merge-results` run as a person runs them, on the fixture
// models: batched results equal `querylens caption` of each image, folders, lists and WebDataset
// shards give the same texts, broken images give error lines, a torn last line is redone, runs
// killed at random moments resume to every input exactly once, shards cover every input once,
// and merging finds a missing shard.

#include "cli_runner.h"
#include "fixtures.h"
#include "querylens/shard.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>
#include <QtTest>

#include <archive.h>
#include <archive_entry.h>

#include <csignal>
#include <map>
#include <set>

using nlohmann::json;

namespace {

QString fixture(const std::string& relative) { return QString::fromStdString(testsupport::fixturePath(relative)); }

// The photo and windows of it, as PNG files (one JPEG) in `folder`; returns their paths.
QStringList writeImages(const QString& folder, int count)
{
    QDir().mkpath(folder);
    QStringList paths;
    for (int i = 0; i < count; ++i) {
        const QString path = folder + QStringLiteral("/img%1.%2").arg(i, 2, 10, QLatin1Char('0')).arg(i == 3 ? "jpg" : "png");
        testsupport::fixtureVariant(i).save(path);
        paths << path;
    }
    return paths;
}

QByteArray fileBytes(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// A WebDataset shard: for each image, KEY.<ext> with the image and KEY.json beside it.
void writeShard(const QString& path, const QStringList& images)
{
    archive* writer = archive_write_new();
    archive_write_set_format_pax_restricted(writer);
    QVERIFY(archive_write_open_filename(writer, path.toUtf8().constData()) == ARCHIVE_OK);
    auto add = [&](const QString& name, const QByteArray& data) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, name.toUtf8().constData());
        archive_entry_set_size(entry, data.size());
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, 0644);
        archive_write_header(writer, entry);
        archive_write_data(writer, data.constData(), std::size_t(data.size()));
        archive_entry_free(entry);
    };
    add(QStringLiteral("__index__"), "metadata, not a sample");
    for (const QString& image : images) {
        const QFileInfo info(image);
        add(QStringLiteral("samples/") + info.completeBaseName() + QStringLiteral(".json"), "{\"caption\": \"unused\"}");
        add(QStringLiteral("samples/") + info.completeBaseName() + QLatin1Char('.') + info.suffix(), fileBytes(image));
    }
    archive_write_close(writer);
    archive_write_free(writer);
}

// The complete lines of a results file, parsed.
std::vector<json> resultLines(const QString& path)
{
    std::vector<json> lines;
    for (const QByteArray& line : fileBytes(path).split('\n'))
        if (!line.isEmpty())
            lines.push_back(json::parse(line.toStdString()));
    return lines;
}

std::map<std::string, json> byKey(const std::vector<json>& lines)
{
    std::map<std::string, json> keyed;
    for (const json& line : lines)
        keyed[line.at("key").get<std::string>()] = line;
    return keyed;
}

QStringList batchArguments(const QStringList& inputs, const QString& model, const QString& out)
{
    return QStringList{QStringLiteral("batch")} + inputs +
           QStringList{QStringLiteral("--model"), model, QStringLiteral("--out"), out, QStringLiteral("--max-new-tokens"),
                       QStringLiteral("10"), QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("--batch-size"),
                       QStringLiteral("3")};
}

// `querylens caption` of each image (one process for all): image path -> generated ids.
std::map<std::string, std::vector<int>> captionIds(const QStringList& images, const QString& model,
                                                   const QStringList& extra = {})
{
    const CliRun run = runQuerylens(QStringList{QStringLiteral("caption")} + images +
                                    QStringList{QStringLiteral("--model"), model, QStringLiteral("--max-new-tokens"),
                                                QStringLiteral("10"), QStringLiteral("--threads"), QStringLiteral("1"),
                                                QStringLiteral("--json")} +
                                    extra);
    std::map<std::string, std::vector<int>> ids;
    for (const QByteArray& line : run.out.split('\n')) {
        const int start = line.indexOf('{');
        if (start < 0)
            continue;
        const json report = json::parse(line.mid(start).toStdString(), nullptr, false);
        if (report.is_object() && report.contains("image"))
            ids[report.at("image").get<std::string>()] = report.at("token_ids").get<std::vector<int>>();
    }
    return ids;
}

// How long the run under test takes from one growth of its results file to the next (a batch's
// lines), as last seen: the kill delay is a random fraction of it, so that the kill lands inside
// the following batch on a fast machine as on a slow one. A fixed delay (it was 0-40 ms) let a
// fast machine finish the whole run before the kill, and the test saw too few kills.
struct BatchPace {
    qint64 lastIntervalMs = -1;
};

// Runs the command while watching its results file; once the file holds `killAtLines` lines
// (0: never), kills it (SIGKILL) after `delayFraction` of one batch's time more. Returns the exit
// code, or -1 when it was killed (-2 when it never ended).
int runWatched(const QStringList& arguments, const QString& results, int killAtLines, double delayFraction,
               BatchPace& pace)
{
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("QUERYLENS_MODEL"));
    process.setProcessEnvironment(env);
    int lines = int(fileBytes(results).count('\n'));
    QElapsedTimer sinceGrowth;  // started at the first growth of this run: before it the model loads
    QTimer watch;
    watch.setTimerType(Qt::PreciseTimer);
    watch.setInterval(1);
    QObject::connect(&watch, &QTimer::timeout, &process, [&] {
        const int now = int(fileBytes(results).count('\n'));
        if (now != lines) {
            if (sinceGrowth.isValid())
                pace.lastIntervalMs = sinceGrowth.restart();
            else
                sinceGrowth.start();
            lines = now;
        }
        if (killAtLines > 0 && lines >= killAtLines) {
            watch.stop();
            const int delayMs = pace.lastIntervalMs > 0 ? int(delayFraction * double(pace.lastIntervalMs)) : 0;
            QTimer::singleShot(delayMs, Qt::PreciseTimer, &process, [&process] { process.kill(); });
        }
    });
    QSignalSpy finished(&process, &QProcess::finished);
    process.start(QStringLiteral(QUERYLENS_BINARY), arguments);
    process.waitForStarted();
    watch.start();
    if (!finished.wait(120000))
        return -2;
    return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
}

}  // namespace

class TestBatchCli : public QObject {
    Q_OBJECT

private slots:
    void batchEqualsCaptionOfEachImage_data()
    {
        QTest::addColumn<QString>("config");
        QTest::addColumn<QStringList>("decoding");
        QTest::newRow("opt greedy") << QStringLiteral("tiny-opt") << QStringList();
        QTest::newRow("t5 greedy") << QStringLiteral("tiny-t5") << QStringList();
        QTest::newRow("opt beams") << QStringLiteral("tiny-opt") << QStringList{QStringLiteral("--beams"), QStringLiteral("3")};
        QTest::newRow("t5 beams") << QStringLiteral("tiny-t5") << QStringList{QStringLiteral("--beams"), QStringLiteral("3")};
    }
    void batchEqualsCaptionOfEachImage()
    {
        QFETCH(QString, config);
        QUERYLENS_SKIP_T5_UNDER_ASAN(config);
        QFETCH(QStringList, decoding);
        QTemporaryDir dir;
        const QStringList images = writeImages(dir.filePath(QStringLiteral("images")), 5);
        const QString out = dir.filePath(QStringLiteral("results.jsonl"));
        const CliRun run = runQuerylens(batchArguments({dir.filePath(QStringLiteral("images"))}, fixture(config.toStdString()), out) +
                                        decoding + QStringList{QStringLiteral("--json")});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const json summary = run.lastJsonLine();
        QCOMPARE(summary.at("done").get<int>(), 5);
        QCOMPARE(summary.at("errors").get<int>(), 0);
        QCOMPARE(summary.at("outcome").get<std::string>(), std::string("finished"));
        const auto lines = byKey(resultLines(out));
        QCOMPARE(int(lines.size()), 5);
        const auto alone = captionIds(images, fixture(config.toStdString()), decoding);
        QCOMPARE(int(alone.size()), 5);
        for (const QString& image : images) {
            const json& line = lines.at(image.toStdString());  // the key: the path as reached
            QCOMPARE(line.at("token_ids").get<std::vector<int>>(), alone.at(image.toStdString()));
            QCOMPARE(line.at("source").at("file").get<std::string>(), image.toStdString());
            QVERIFY(line.at("batch_size").get<int>() >= 2);  // 5 images in batches of 3
            QCOMPARE(line.at("decoding").at("max_new_tokens").get<int>(), 10);
            QCOMPARE(line.at("model").at("name").get<std::string>(), config.toStdString());
        }
    }

    void brokenImagesGiveErrorLinesAndTheRunGoesOn()
    {
        QTemporaryDir dir;
        const QString folder = dir.filePath(QStringLiteral("images"));
        writeImages(folder, 2);
        QFile truncated(folder + QStringLiteral("/truncated.png"));
        QVERIFY(truncated.open(QIODevice::WriteOnly));
        truncated.write(fileBytes(fixture("image.png")).left(3000));
        truncated.close();
        QFile text(folder + QStringLiteral("/notes.jpg"));
        QVERIFY(text.open(QIODevice::WriteOnly));
        text.write("these are notes, not a photo\n");
        text.close();
        QFile(folder + QStringLiteral("/empty.webp")).open(QIODevice::WriteOnly);
        const QString out = dir.filePath(QStringLiteral("results.jsonl"));
        const CliRun run = runQuerylens(batchArguments({folder}, fixture("tiny-opt"), out) + QStringList{QStringLiteral("--json")});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const auto lines = byKey(resultLines(out));
        QCOMPARE(int(lines.size()), 5);
        // The progress (plain lines, stderr is not a terminal here) and the summary count them.
        const QRegularExpression progress(QStringLiteral("\\[5/5\\] 100\\.0%  [0-9.]+ images/s  ETA [0-9hms]+  errors 3"));
        QVERIFY2(progress.match(QString::fromUtf8(run.err)).hasMatch(), run.err.constData());
        QVERIFY2(run.err.contains("2 results, 3 errors"), run.err.constData());
        const json summary = run.lastJsonLine();
        QCOMPARE(summary.at("done").get<int>(), 5);
        QCOMPARE(summary.at("errors").get<int>(), 3);
        QCOMPARE(summary.at("remaining").get<int>(), 0);
        QCOMPARE(summary.at("outcome").get<std::string>(), std::string("finished"));
        QVERIFY(summary.at("images_per_s").get<double>() > 0);
        for (const char* broken : {"truncated.png", "notes.jpg", "empty.webp"}) {
            const json& line = lines.at((folder + QLatin1Char('/') + QLatin1String(broken)).toStdString());
            QVERIFY2(line.contains("error") && !line.contains("text"), line.dump().c_str());
            QVERIFY2(line.at("error").get<std::string>().find(broken) != std::string::npos, line.dump().c_str());
            QVERIFY2(run.err.contains(broken), run.err.constData());
        }
        QVERIFY(lines.at((folder + QStringLiteral("/img00.png")).toStdString()).contains("text"));
    }

    // The same images as files, as a folder, through a list and inside a WebDataset shard: the
    // same texts, and keys that say where each came from.
    void shardsListsAndFoldersGiveTheSameTexts()
    {
        QTemporaryDir dir;
        const QStringList images = writeImages(dir.filePath(QStringLiteral("images")), 4);
        const QString shard = dir.filePath(QStringLiteral("shard-000.tar"));
        writeShard(shard, images);
        QFile list(dir.filePath(QStringLiteral("list.txt")));
        QVERIFY(list.open(QIODevice::WriteOnly));
        list.write("# the images, relative to this list\n\nimages/img02.png\nimages/img00.png\n");
        list.close();

        std::map<std::string, std::vector<int>> byName;  // image file name -> ids from the files themselves
        const QString filesOut = dir.filePath(QStringLiteral("files.jsonl"));
        QVERIFY(runQuerylens(batchArguments(images, fixture("tiny-opt"), filesOut)).exitCode == 0);
        for (const json& line : resultLines(filesOut))
            byName[QFileInfo(QString::fromStdString(line.at("key").get<std::string>())).fileName().toStdString()] =
                line.at("token_ids").get<std::vector<int>>();
        QCOMPARE(int(byName.size()), 4);

        const QString shardOut = dir.filePath(QStringLiteral("shard.jsonl"));
        const CliRun shardRun = runQuerylens(batchArguments({shard}, fixture("tiny-opt"), shardOut));
        QVERIFY2(shardRun.exitCode == 0, shardRun.err.constData());
        const auto shardLines = resultLines(shardOut);
        QCOMPARE(int(shardLines.size()), 4);
        for (const json& line : shardLines) {
            const std::string member = line.at("source").at("member").get<std::string>();
            QCOMPARE(line.at("key").get<std::string>(), shard.toStdString() + "/samples/" +
                                                            QFileInfo(QString::fromStdString(member)).completeBaseName().toStdString());
            QCOMPARE(line.at("token_ids").get<std::vector<int>>(),
                     byName.at(QFileInfo(QString::fromStdString(member)).fileName().toStdString()));
        }

        const QString listOut = dir.filePath(QStringLiteral("list.jsonl"));
        QVERIFY(runQuerylens(batchArguments({QLatin1Char('@') + list.fileName()}, fixture("tiny-opt"), listOut)).exitCode == 0);
        const auto listLines = resultLines(listOut);
        QCOMPARE(int(listLines.size()), 2);
        QCOMPARE(listLines[0].at("key").get<std::string>(), dir.filePath(QStringLiteral("images/img02.png")).toStdString());
        QCOMPARE(listLines[0].at("token_ids").get<std::vector<int>>(), byName.at("img02.png"));

        // A folder gives the files' keys: the same inputs, found another way.
        const QString folderOut = dir.filePath(QStringLiteral("folder.jsonl"));
        QVERIFY(runQuerylens(batchArguments({dir.filePath(QStringLiteral("images"))}, fixture("tiny-opt"), folderOut)).exitCode == 0);
        QCOMPARE(byKey(resultLines(folderOut)).size(), std::size_t(4));
        for (const auto& [key, line] : byKey(resultLines(filesOut)))
            QCOMPARE(byKey(resultLines(folderOut)).at(key).at("token_ids"), line.at("token_ids"));
    }

    void tornLastLineIsRedone()
    {
        QTemporaryDir dir;
        writeImages(dir.filePath(QStringLiteral("images")), 4);
        const QString out = dir.filePath(QStringLiteral("results.jsonl"));
        const QStringList arguments = batchArguments({dir.filePath(QStringLiteral("images"))}, fixture("tiny-opt"), out);
        QVERIFY(runQuerylens(arguments).exitCode == 0);
        const QByteArray complete = fileBytes(out);
        const auto expected = byKey(resultLines(out));
        // A kill in the middle of writing the last line.
        const int lastStart = complete.lastIndexOf('\n', complete.size() - 2) + 1;
        QVERIFY(QFile::resize(out, lastStart + 25));

        QCOMPARE(runQuerylens(arguments).exitCode, 2);  // the file exists: without --resume it is left alone
        const CliRun resumed = runQuerylens(arguments + QStringList{QStringLiteral("--resume"), QStringLiteral("--json")});
        QVERIFY2(resumed.exitCode == 0, resumed.err.constData());
        QVERIFY2(resumed.err.contains("cut off"), resumed.err.constData());
        QCOMPARE(resumed.lastJsonLine().at("already_done").get<int>(), 3);
        QCOMPARE(resumed.lastJsonLine().at("done").get<int>(), 1);
        const QByteArray after = fileBytes(out);
        QVERIFY(after.startsWith(complete.left(lastStart)));  // the complete lines are untouched
        const auto lines = resultLines(out);
        QCOMPARE(int(lines.size()), 4);
        for (const auto& [key, line] : byKey(lines))
            QCOMPARE(line.at("token_ids"), expected.at(key).at("token_ids"));

        // Nothing left to do: the model is not even loaded.
        const CliRun again = runQuerylens(arguments + QStringList{QStringLiteral("--resume"), QStringLiteral("--json")});
        QCOMPARE(again.lastJsonLine().at("done").get<int>(), 0);
        QCOMPARE(fileBytes(out), after);
    }

    // SIGKILL at random moments, then resume, until a run ends by itself: every input exactly
    // once, with the texts of an uninterrupted run, and no complete line ever lost. Six batches
    // of three: each killed run finishes about one batch, so up to five kills can land.
    void killedAtRandomMomentsResumesToEachInputOnce()
    {
        QTemporaryDir dir;
        const int images = 18;
        writeImages(dir.filePath(QStringLiteral("images")), images);
        const QString model = fixture("tiny-opt");
        const QString cleanOut = dir.filePath(QStringLiteral("clean.jsonl"));
        BatchPace pace;  // the uninterrupted run measures it first
        QCOMPARE(runWatched(batchArguments({dir.filePath(QStringLiteral("images"))}, model, cleanOut), cleanOut, 0, 0,
                            pace),
                 0);
        const auto clean = byKey(resultLines(cleanOut));
        QCOMPARE(int(clean.size()), images);

        const QString out = dir.filePath(QStringLiteral("results.jsonl"));
        const QStringList arguments =
            batchArguments({dir.filePath(QStringLiteral("images"))}, model, out) + QStringList{QStringLiteral("--resume")};
        QRandomGenerator random(20241204);
        QByteArray completeBefore;
        int kills = 0, rounds = 0;
        for (; rounds < 40; ++rounds) {
            const int killAtLines = int(fileBytes(out).count('\n')) + 1 + int(random.bounded(3));
            const int code = runWatched(arguments, out, killAtLines, random.generateDouble(), pace);
            QVERIFY(code != -2);
            const QByteArray now = fileBytes(out);
            // What was complete before this round is still there, byte for byte.
            QVERIFY(now.startsWith(completeBefore));
            completeBefore = now.left(now.lastIndexOf('\n') + 1);
            if (code == 0)
                break;
            QCOMPARE(code, -1);
            ++kills;
        }
        qInfo("%d runs killed, the run after them finished", kills);
        QVERIFY2(kills >= 3, qPrintable(QStringLiteral("only %1 kills landed in %2 rounds").arg(kills).arg(rounds)));
        const CliRun last = runQuerylens(arguments + QStringList{QStringLiteral("--json")});
        QCOMPARE(last.exitCode, 0);
        QCOMPARE(last.lastJsonLine().at("done").get<int>(), 0);
        const auto lines = resultLines(out);
        std::multiset<std::string> keys;
        for (const json& line : lines)
            keys.insert(line.at("key").get<std::string>());
        QCOMPARE(int(keys.size()), images);
        for (const auto& [key, line] : clean) {
            QCOMPARE(int(keys.count(key)), 1);
            QCOMPARE(byKey(lines).at(key).at("text"), line.at("text"));
        }
    }

    void interruptStopsCleanlyAndResumes()
    {
        QUERYLENS_SKIP_T5_UNDER_ASAN("tiny-t5");  // T5 is the slower model: the interrupt comes mid-run
        QTemporaryDir dir;
        writeImages(dir.filePath(QStringLiteral("images")), 12);
        const QString out = dir.filePath(QStringLiteral("results.jsonl"));
        const QStringList arguments = batchArguments({dir.filePath(QStringLiteral("images"))}, fixture("tiny-t5"), out) +
                                      QStringList{QStringLiteral("--batch-size"), QStringLiteral("1"),
                                                  QStringLiteral("--max-new-tokens"), QStringLiteral("40")};
        QProcess process;
        QSignalSpy finished(&process, &QProcess::finished);
        // Ctrl+C as soon as the first line is there (watched every 2 ms: the tiny model is fast).
        QTimer watch;
        watch.setInterval(2);
        QObject::connect(&watch, &QTimer::timeout, &process, [&] {
            if (fileBytes(out).count('\n') >= 1) {
                watch.stop();
                ::kill(pid_t(process.processId()), SIGINT);
            }
        });
        process.start(QStringLiteral(QUERYLENS_BINARY), arguments);
        QVERIFY(process.waitForStarted());
        watch.start();
        QVERIFY(finished.wait(60000));
        QCOMPARE(process.exitCode(), 130);
        const QByteArray partial = fileBytes(out);
        QVERIFY(partial.endsWith('\n'));
        QVERIFY(process.readAllStandardError().contains("--resume"));
        const int written = int(resultLines(out).size());
        QVERIFY2(written < 12, "the interrupt came after the last image");
        const CliRun resumed = runQuerylens(arguments + QStringList{QStringLiteral("--resume"), QStringLiteral("--json")});
        QCOMPARE(resumed.exitCode, 0);
        QCOMPARE(resumed.lastJsonLine().at("done").get<int>(), 12 - written);
        QCOMPARE(int(byKey(resultLines(out)).size()), 12);
    }

    // Keys are paths as given: the shard tests run inside the temporary folder with relative
    // paths, so that the keys, and so the shards, are the same in every run.
    void shardsCoverEveryInputOnceAndMerge()
    {
        QTemporaryDir dir;
        writeImages(dir.filePath(QStringLiteral("images")), 10);
        std::multiset<std::string> keys;
        std::set<int> shardsWithInputs;
        QStringList outputs;
        for (int shard = 0; shard < 3; ++shard) {
            const QString out = QStringLiteral("shard-%1.jsonl").arg(shard);
            outputs << out;
            const CliRun run = runQuerylens(batchArguments({QStringLiteral("images")}, fixture("tiny-opt"), out) +
                                                QStringList{QStringLiteral("--shard"), QStringLiteral("%1/3").arg(shard)},
                                            {}, dir.path());
            QVERIFY2(run.exitCode == 0, run.err.constData());
            for (const json& line : resultLines(dir.filePath(out))) {
                const std::string key = line.at("key").get<std::string>();
                keys.insert(key);
                shardsWithInputs.insert(shard);
                QCOMPARE(querylens::shardOfKey(key, 3), shard);
                QCOMPARE(line.at("shard").at("index").get<int>(), shard);
                QCOMPARE(line.at("shard").at("count").get<int>(), 3);
            }
        }
        QCOMPARE(int(keys.size()), 10);
        QCOMPARE(int(std::set<std::string>(keys.begin(), keys.end()).size()), 10);
        QCOMPARE(int(shardsWithInputs.size()), 3);  // 10 keys spread over all three shards

        const CliRun merge = runQuerylens(QStringList{QStringLiteral("merge-results"), QStringLiteral("merged.jsonl")} +
                                              outputs + QStringList{QStringLiteral("--inputs"), QStringLiteral("images"),
                                                                    QStringLiteral("--json")},
                                          {}, dir.path());
        QVERIFY2(merge.exitCode == 0, merge.err.constData());
        QCOMPARE(merge.lastJsonLine().at("complete").get<bool>(), true);
        QCOMPARE(merge.lastJsonLine().at("written").get<int>(), 10);
        const auto lines = resultLines(dir.filePath(QStringLiteral("merged.jsonl")));
        QCOMPARE(int(lines.size()), 10);
        // In the inputs' order.
        for (int i = 0; i < 10; ++i)
            QCOMPARE(QString::fromStdString(lines[std::size_t(i)].at("key").get<std::string>()),
                     QStringLiteral("images/img%1.%2").arg(i, 2, 10, QLatin1Char('0')).arg(i == 3 ? "jpg" : "png"));
    }

    void mergeReportsAMissingShard_data()
    {
        QTest::addColumn<bool>("withInputs");
        QTest::newRow("with the inputs") << true;
        QTest::newRow("from the lines alone") << false;
    }
    void mergeReportsAMissingShard()
    {
        QFETCH(bool, withInputs);
        QTemporaryDir dir;
        writeImages(dir.filePath(QStringLiteral("images")), 10);
        QStringList outputs;
        for (int shard = 0; shard < 3; ++shard) {
            const QString out = QStringLiteral("shard-%1.jsonl").arg(shard);
            QVERIFY(runQuerylens(batchArguments({QStringLiteral("images")}, fixture("tiny-opt"), out) +
                                     QStringList{QStringLiteral("--shard"), QStringLiteral("%1/3").arg(shard)},
                                 {}, dir.path())
                        .exitCode == 0);
            QVERIFY(!resultLines(dir.filePath(out)).empty());
            if (shard != 1)
                outputs << out;
        }
        QStringList arguments = QStringList{QStringLiteral("merge-results"), QStringLiteral("merged.jsonl")} + outputs +
                                QStringList{QStringLiteral("--json")};
        if (withInputs)
            arguments << QStringLiteral("--inputs") << QStringLiteral("images");
        const CliRun merge = runQuerylens(arguments, {}, dir.path());
        QCOMPARE(merge.exitCode, 1);
        const json report = merge.lastJsonLine();
        QCOMPARE(report.at("complete").get<bool>(), false);
        QCOMPARE(report.at("missing_shards").get<std::vector<int>>(), std::vector<int>{1});
        QVERIFY2(merge.err.contains("Missing shard 1/3"), merge.err.constData());
        if (withInputs) {
            const auto missing = report.at("missing_keys").get<std::vector<std::string>>();
            QVERIFY(!missing.empty());
            for (const auto& key : missing)
                QCOMPARE(querylens::shardOfKey(key, 3), 1);
        }
        QCOMPARE(int(resultLines(dir.filePath(QStringLiteral("merged.jsonl"))).size()), report.at("written").get<int>());
    }

    void questionsPerImage()
    {
        QTemporaryDir dir;
        const QStringList images = writeImages(dir.filePath(QStringLiteral("images")), 3);
        QFile questions(dir.filePath(QStringLiteral("questions.jsonl")));
        QVERIFY(questions.open(QIODevice::WriteOnly));
        const QStringList asked = {QStringLiteral("what is in the picture?"), QStringLiteral("what colour is the couch?")};
        for (int i = 0; i < 2; ++i)
            questions.write(json{{"key", images[i].toStdString()}, {"question", asked[i].toStdString()}}.dump().append("\n").c_str());
        // A key of no input (a typo, a file since deleted) is warned about, not fatal.
        questions.write(json{{"key", "elsewhere/missing.png"}, {"question", "what is here?"}}.dump().append("\n").c_str());
        questions.close();
        const QString out = dir.filePath(QStringLiteral("answers.jsonl"));
        const CliRun run = runQuerylens(batchArguments({dir.filePath(QStringLiteral("images"))}, fixture("tiny-opt"), out) +
                                        QStringList{QStringLiteral("--task"), QStringLiteral("ask"), QStringLiteral("--questions"),
                                                    questions.fileName()});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QVERIFY2(run.err.contains("Warning: 1 key of --questions is not among the inputs"), run.err.constData());
        const auto lines = byKey(resultLines(out));
        QCOMPARE(int(lines.size()), 3);
        for (int i = 0; i < 2; ++i) {
            const json& line = lines.at(images[i].toStdString());
            QCOMPARE(line.at("question").get<std::string>(), asked[i].toStdString());
            QCOMPARE(line.at("prompt").get<std::string>(), "Question: " + asked[i].toStdString() + " Answer:");
            const CliRun alone = runQuerylens({QStringLiteral("ask"), images[i], asked[i], QStringLiteral("--model"),
                                               fixture("tiny-opt"), QStringLiteral("--max-new-tokens"), QStringLiteral("10"),
                                               QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("--json")});
            QCOMPARE(line.at("token_ids"), alone.lastJsonLine().at("token_ids"));
        }
        // The third image has no question and there is no --question for it.
        QVERIFY(lines.at(images[2].toStdString()).at("error").get<std::string>().find("no question") != std::string::npos);
    }

    void resumeRefusesOtherSettings()
    {
        QTemporaryDir dir;
        writeImages(dir.filePath(QStringLiteral("images")), 2);
        const QString out = dir.filePath(QStringLiteral("results.jsonl"));
        const QStringList arguments = batchArguments({dir.filePath(QStringLiteral("images"))}, fixture("tiny-opt"), out);
        QVERIFY(runQuerylens(arguments).exitCode == 0);
        QVERIFY(QFile::resize(out, fileBytes(out).indexOf('\n') + 1));  // one line left: one input to do
        const QByteArray before = fileBytes(out);
        CliRun run = runQuerylens(arguments + QStringList{QStringLiteral("--resume"), QStringLiteral("--beams"), QStringLiteral("2")});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("another decoding") && run.err.contains("num_beams 1 (this run: 2)"), run.err.constData());
        QUERYLENS_SKIP_T5_UNDER_ASAN("tiny-t5");  // the model is loaded before the results file is checked
        run = runQuerylens(batchArguments({dir.filePath(QStringLiteral("images"))}, fixture("tiny-t5"), out) +
                           QStringList{QStringLiteral("--resume")});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("another model: language_model OPT (this run: Flan-T5), name tiny-opt (this run: tiny-t5)"),
                 run.err.constData());
        QCOMPARE(fileBytes(out), before);
    }

    void usageErrors()
    {
        QTemporaryDir dir;
        const QString out = dir.filePath(QStringLiteral("r.jsonl"));
        const QString model = fixture("tiny-opt");
        const QString image = fixture("image.png");
        QCOMPARE(runQuerylens({QStringLiteral("batch"), image, QStringLiteral("--model"), model}).exitCode, 2);  // no --out
        QCOMPARE(runQuerylens({QStringLiteral("batch"), image, QStringLiteral("--model"), model, QStringLiteral("--out"), out,
                               QStringLiteral("--shard"), QStringLiteral("3/3")})
                     .exitCode,
                 2);
        QCOMPARE(runQuerylens({QStringLiteral("batch"), image, QStringLiteral("--model"), model, QStringLiteral("--out"), out,
                               QStringLiteral("--task"), QStringLiteral("ask")})
                     .exitCode,
                 2);  // no question
        const CliRun missing = runQuerylens({QStringLiteral("batch"), dir.filePath(QStringLiteral("nowhere")),
                                             QStringLiteral("--model"), model, QStringLiteral("--out"), out});
        QCOMPARE(missing.exitCode, 1);
        QVERIFY2(missing.err.contains("nowhere"), missing.err.constData());
        QCOMPARE(runQuerylens({QStringLiteral("merge-results"), out}).exitCode, 2);  // no input files
    }
};

QTEST_GUILESS_MAIN(TestBatchCli)
#include "test_batch_cli.moc"
