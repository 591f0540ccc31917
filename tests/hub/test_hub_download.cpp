// Downloads from the mock Hub into an empty cache: the layout huggingface_hub writes, resume
// with only the missing bytes, every fault of the mock ending well or with its named error,
// corrupted bytes caught, concurrent downloads, offline mode, disk space and write failures.

#include "hub_test_tree.h"
#include "mock_hub_process.h"

#include "fixtures.h"
#include "querylens/checkpoints.h"
#include "querylens/hub.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <thread>

using namespace querylens::hub;

namespace {

struct Workspace {
    QTemporaryDir dir;
    QString cache() const { return dir.filePath(QStringLiteral("cache")); }
    QString state() const { return dir.filePath(QStringLiteral("state")); }
    QString repo(const QString& id) const
    {
        return cache() + QLatin1Char('/') + QString::fromStdString(repoFolderName(id.toStdString()));
    }
};

HubSettings settingsFor(const MockHub& hub, const Workspace& workspace)
{
    HubSettings settings;
    settings.endpoint = hub.endpoint().toStdString();
    settings.cacheFolder = workspace.cache().toStdString();
    settings.stateFolder = workspace.state().toStdString();
    settings.stallSeconds = 1;          // the mock's stall lasts 3 s
    settings.firstBackoffSeconds = 0.05;
    settings.maxBackoffSeconds = 2;     // Retry-After of the mock is 1 s
    return settings;
}

DownloadResult download(const HubSettings& settings, const QString& repo, const DownloadProgressCallback& progress = {},
                        PlanOptions options = {})
{
    const auto ref = parseRepoRef(repo.toStdString());
    return downloadSnapshot(settings, planDownload(settings, *ref, options), progress);
}

QString fixture(const QString& relative) { return QString::fromStdString(testsupport::fixturePath(relative.toStdString())); }

// The digest a blob must be named by: sha256 for LFS files, git's blob sha1 for small ones.
QString expectedEtag(const PlannedFile& file) { return QString::fromStdString(file.etag()); }

}  // namespace

class TestHubDownload : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY2(QFile::exists(QStringLiteral("/usr/bin/python3")), "the mock Hub needs Debian's python3");
        hub_ = std::make_unique<MockHub>();
        QVERIFY2(hub_->started(), "the mock Hub did not start");
    }
    void init() { hub_->reset(); }
    void cleanupTestCase() { hub_.reset(); }

    void downloadIntoEmptyCacheGivesTheHubLayout_data()
    {
        QTest::addColumn<QString>("repo");
        QTest::addColumn<QString>("fixtureName");
        QTest::addColumn<QStringList>("decoys");
        QTest::newRow("tiny-opt") << "test/tiny-opt" << "tiny-opt" << QStringList{"pytorch_model.bin", "README.md"};
        QTest::newRow("tiny-t5") << "test/tiny-t5" << "tiny-t5" << QStringList{"tf_model.h5"};
        QTest::newRow("tiny-itm") << "test/tiny-itm" << "tiny-itm" << QStringList{"flax_model.msgpack"};
        QTest::newRow("sharded with index") << "test/tiny-opt-sharded" << QString()
                                            << QStringList{"extra.safetensors", "pytorch_model-00001-of-00002.bin",
                                                           "onnx/model.onnx"};
    }
    void downloadIntoEmptyCacheGivesTheHubLayout()
    {
        QFETCH(QString, repo);
        QFETCH(QString, fixtureName);
        QFETCH(QStringList, decoys);
        Workspace workspace;
        const HubSettings settings = settingsFor(*hub_, workspace);
        const DownloadPlan plan = planDownload(settings, *parseRepoRef(repo.toStdString()));
        const DownloadResult result = downloadSnapshot(settings, plan);
        QCOMPARE(result.filesFetched, int(plan.files.size()));
        QCOMPARE(result.bytesFetched, plan.totalBytes);

        const QString repoFolder = workspace.repo(repo);
        QStringList expected;
        for (const auto& file : plan.files) {
            const QString etag = expectedEtag(file);
            const QString blob = repoFolder + "/blobs/" + etag;
            const QString path = QString::fromStdString(file.path);
            const QByteArray bytes = fileBytes(blob);
            // Named by its digest, computed here independently.
            QCOMPARE(file.lfs() ? sha256Hex(bytes) : gitBlobSha1Hex(bytes), etag);
            if (!fixtureName.isEmpty())
                QCOMPARE(bytes, fileBytes(fixture(fixtureName + "/" + path)));
            // The snapshot entry: a relative symlink to the blob.
            const QString pointer = QString::fromStdString(plan.snapshotFolder) + "/" + path;
            QVERIFY2(QFileInfo(pointer).isSymLink(), qPrintable(pointer));
            QCOMPARE(QFile::symLinkTarget(pointer), QFileInfo(blob).absoluteFilePath());
            QCOMPARE(QString::fromLocal8Bit(std::filesystem::read_symlink(pointer.toStdString()).c_str()),
                     "../../blobs/" + etag);
            expected << "blobs/" + etag << "snapshots/" + QString::fromStdString(plan.commit) + "/" + path;
            QVERIFY(QFile::exists(workspace.cache() + "/.locks/" + QFileInfo(repoFolder).fileName() + "/" + etag + ".lock"));
        }
        expected << QStringLiteral("refs/main");
        expected.sort();
        QCOMPARE(listTree(repoFolder), expected);  // nothing else: no partial, no temporary file
        // refs/main: exactly the 40 hex digits of the commit, no newline.
        QCOMPARE(fileBytes(repoFolder + "/refs/main"), QByteArray::fromStdString(plan.commit));
        QCOMPARE(QDir(workspace.state()).entryList(QDir::Files), QStringList());  // no unfinished note

        // Decoys and pickles were listed as skipped and never fetched.
        for (const QString& decoy : decoys) {
            QVERIFY2(std::any_of(plan.skipped.begin(), plan.skipped.end(),
                                 [&](const SkippedFile& s) { return QString::fromStdString(s.path) == decoy; }),
                     qPrintable(decoy));
            QCOMPARE(hub_->bytesServed(repo + "/" + decoy), 0);
        }
        // The snapshot is a loadable checkpoint.
        const auto summary = querylens::inspectCheckpoint(plan.snapshotFolder);
        QVERIFY2(summary.problem.empty(), summary.problem.c_str());
        QVERIFY(summary.parameters > 0);
        QCOMPARE(summary.name, repo.toStdString());
        // A second run asks only for the plan and fetches nothing.
        hub_->reset();
        const DownloadResult again = download(settings, repo);
        QCOMPARE(again.filesFetched, 0);
        QCOMPARE(again.bytesFetched, std::uint64_t(0));
        for (const auto& request : hub_->requests())  // the revision and the tree: no file
            QVERIFY2(request.toObject().value("path").toString().startsWith("/api/"),
                     qPrintable(request.toObject().value("path").toString()));
    }

    void refsOfRevisionsWithSlashesAndRenamedRepositories()
    {
        Workspace workspace;
        const HubSettings settings = settingsFor(*hub_, workspace);
        const DownloadResult result = download(settings, QStringLiteral("test/tiny-opt@release/v1"));
        QCOMPARE(fileBytes(workspace.repo("test/tiny-opt") + "/refs/release/v1"), QByteArray::fromStdString(result.commit));
        // A renamed repository answers with relative 307s: followed, and cached under the name asked for.
        const DownloadResult renamed = download(settings, QStringLiteral("test/old-name-opt"));
        QVERIFY(renamed.snapshotFolder.find("models--test--old-name-opt") != std::string::npos);
        QVERIFY(QFile::exists(QString::fromStdString(renamed.snapshotFolder) + "/model.safetensors"));
        // The ref is rewritten only when it changes (same inode after a second download).
        const QString ref = workspace.repo("test/tiny-opt") + "/refs/release/v1";
        struct stat before {}, after {};
        ::stat(ref.toUtf8().constData(), &before);
        download(settings, QStringLiteral("test/tiny-opt@release/v1"));
        ::stat(ref.toUtf8().constData(), &after);
        QCOMPARE(after.st_ino, before.st_ino);
    }

    void stoppedDownloadResumesWithOnlyTheMissingBytes()
    {
        Workspace workspace;
        const HubSettings settings = settingsFor(*hub_, workspace);
        const QString weights = QStringLiteral("test/tiny-opt/model.safetensors");
        hub_->fault(QStringLiteral("stall"), {{"path", weights}, {"bytes", 600000}, {"seconds", 2}});
        std::uint64_t stoppedAt = 0;
        // Stop as soon as the weights are partly on disk, as Ctrl+C or Pause would.
        QVERIFY_THROWS_EXCEPTION(querylens::Cancelled, download(settings, QStringLiteral("test/tiny-opt"), [&](const DownloadProgress& p) {
            if (p.file == "model.safetensors" && p.fileBytes >= 600000) {
                stoppedAt = p.fileBytes;
                return false;
            }
            return true;
        }));
        const auto plan = planDownload(settings, *parseRepoRef("test/tiny-opt"));
        const PlannedFile& file = *std::find_if(plan.files.begin(), plan.files.end(),
                                                [](const PlannedFile& f) { return f.path == "model.safetensors"; });
        const QString partial = workspace.repo("test/tiny-opt") + "/blobs/" + expectedEtag(file) + ".incomplete";
        QCOMPARE(QFileInfo(partial).size(), qint64(600000));
        QCOMPARE(stoppedAt, std::uint64_t(600000));
        // Listed as unfinished, with its sizes; not offered as a loadable snapshot.
        const auto unfinished = findIncompleteDownloads(settings.cacheFolder, settings.stateFolder);
        QCOMPARE(unfinished.size(), std::size_t(1));
        QCOMPARE(unfinished[0].repo, std::string("test/tiny-opt"));
        QCOMPARE(unfinished[0].totalBytes, plan.totalBytes);
        QCOMPARE(unfinished[0].bytesOnDisk, plan.totalBytes - file.size + 600000);
        QVERIFY(!cachedSnapshotFolder(settings.cacheFolder, settings.stateFolder, *parseRepoRef("test/tiny-opt")));

        hub_->reset();
        const DownloadResult result = download(settings, QStringLiteral("test/tiny-opt"));
        QCOMPARE(hub_->bytesServed(weights), qint64(file.size - 600000));  // only the missing bytes
        QCOMPARE(result.bytesFetched, file.size - 600000);
        QCOMPARE(fileBytes(QString::fromStdString(result.snapshotFolder) + "/model.safetensors"),
                 fileBytes(fixture("tiny-opt/model.safetensors")));
        QVERIFY(!QFile::exists(partial));
        QVERIFY(findIncompleteDownloads(settings.cacheFolder, settings.stateFolder).empty());
        QVERIFY(cachedSnapshotFolder(settings.cacheFolder, settings.stateFolder, *parseRepoRef("test/tiny-opt")));
        // Every request for the weights asked for a range, starting where the partial ended.
        bool sawResume = false;
        for (const auto& value : hub_->requests()) {
            const QJsonObject request = value.toObject();
            if (request.value("server").toString() == "cdn" && request.value("path").toString().contains("model.safetensors"))
                sawResume |= request.value("range").toString() == QStringLiteral("bytes=600000-");
        }
        QVERIFY(sawResume);
    }

    void faultsEndWellOrWithTheirError_data()
    {
        QTest::addColumn<QString>("repo");
        QTest::addColumn<QString>("faults");      // JSON array of fault commands
        QTest::addColumn<QString>("token");
        QTest::addColumn<bool>("resume");         // start with half of the weights on disk
        QTest::addColumn<QString>("error");       // the HubErrorCode name, or empty: succeeds
        QTest::addColumn<QString>("says");        // a phrase of the message
        const QString w = QStringLiteral("test/tiny-opt/model.safetensors");
        const auto faults = [](const QString& name, const QString& path, const QString& more = {}) {
            return QStringLiteral(R"([{"name":"%1","path":"%2"%3}])").arg(name, path, more);
        };
        QTest::newRow("connection cut mid-body") << "test/tiny-opt" << faults("cut", w, R"(,"bytes":500000,"times":2)") << "" << false << "" << "";
        QTest::newRow("small file cut mid-body") << "test/tiny-opt" << faults("cut", "test/tiny-opt/vocab.json", R"(,"bytes":100)") << "" << false << "" << "";
        QTest::newRow("200 to a Range request") << "test/tiny-opt" << faults("ignore-range", w) << "" << true << "" << "";
        QTest::newRow("416 to a resume") << "test/tiny-opt" << faults("range-416", w) << "" << true << "" << "";
        QTest::newRow("CDN 403 after N bytes") << "test/tiny-opt" << faults("expire", w, R"(,"bytes":700000)") << "" << false << "" << "";
        QTest::newRow("429 with Retry-After") << "test/tiny-opt" << faults("status-429", w, R"(,"retry_after":1)") << "" << false << "" << "";
        QTest::newRow("503 then fine") << "test/tiny-opt" << faults("status-503", w, R"(,"times":2)") << "" << false << "" << "";
        QTest::newRow("503 for ever") << "test/tiny-opt" << faults("status-503", "test/tiny-opt/config.json", R"(,"times":100)")
                                      << "" << false << "Network" << "try again later";
        QTest::newRow("wrong bytes once") << "test/tiny-opt" << faults("corrupt", w) << "" << false << "" << "";
        QTest::newRow("wrong bytes twice") << "test/tiny-opt" << faults("corrupt", w, R"(,"times":2)") << "" << false
                                           << "Integrity" << "do not match";
        QTest::newRow("slow server (stall)") << "test/tiny-opt" << faults("stall", w, R"(,"bytes":300000,"seconds":3)") << "" << false << "" << "";
        QTest::newRow("paginated tree") << "test/tiny-opt-sharded" << faults("paginate", "test/tiny-opt-sharded", R"(,"page_size":2)") << "" << false << "" << "";
        QTest::newRow("relative 307 (renamed)") << "test/old-name-opt" << "[]" << "" << false << "" << "";
        QTest::newRow("gated, no token") << "test/gated-opt" << "[]" << "" << false << "GatedRepo" << "log in";
        QTest::newRow("gated, no access") << "test/gated-opt" << "[]" << "hf_other" << false << "GatedRepo" << "ask for access";
        QTest::newRow("gated, granted") << "test/gated-opt" << "[]" << "granted-token" << false << "" << "";
        QTest::newRow("private, no token") << "test/private-opt" << "[]" << "" << false << "Unauthorized" << "HF_TOKEN";
        QTest::newRow("private, token") << "test/private-opt" << "[]" << "private-token" << false << "" << "";
        QTest::newRow("missing repository") << "test/no-such-repo" << "[]" << "" << false << "RepoNotFound" << "test/no-such-repo";
        QTest::newRow("missing revision") << "test/tiny-opt@no-such-branch" << "[]" << "" << false << "RevisionNotFound" << "revision";
        QTest::newRow("listed file missing") << "test/tiny-opt" << faults("head-404", "test/tiny-opt/vocab.json") << "" << false
                                             << "EntryNotFound" << "vocab.json";
        QTest::newRow("huge headers") << "test/tiny-opt" << faults("huge-headers", w) << "" << false << "Protocol" << "64 kB";
        QTest::newRow("path traversal in tree") << "test/tiny-opt" << faults("hostile-tree", "test/tiny-opt") << "" << false
                                                << "Protocol" << "unsafe path";
        QTest::newRow("not BLIP-2") << "test/not-blip2" << "[]" << "" << false << "NotBlip2" << "--force";
    }
    void faultsEndWellOrWithTheirError()
    {
        QFETCH(QString, repo);
        QFETCH(QString, faults);
        QFETCH(QString, token);
        QFETCH(bool, resume);
        QFETCH(QString, error);
        QFETCH(QString, says);
        Workspace workspace;
        HubSettings settings = settingsFor(*hub_, workspace);
        settings.token = token.toStdString();
        const auto ref = *parseRepoRef(repo.toStdString());
        std::string weightsEtag;
        if (resume) {
            // Half of the weights from an earlier, interrupted run.
            const auto plan = planDownload(settings, ref);
            const auto& file = *std::find_if(plan.files.begin(), plan.files.end(),
                                             [](const PlannedFile& f) { return f.path == "model.safetensors"; });
            weightsEtag = file.etag();
            QDir().mkpath(workspace.repo(repo) + "/blobs");
            QFile partial(workspace.repo(repo) + "/blobs/" + QString::fromStdString(file.etag()) + ".incomplete");
            QVERIFY(partial.open(QIODevice::WriteOnly));
            partial.write(fileBytes(fixture("tiny-opt/model.safetensors")).left(800000));
        }
        for (const auto& fault : QJsonDocument::fromJson(faults.toUtf8()).array()) {
            QJsonObject parameters = fault.toObject();
            const QString name = parameters.take("name").toString();
            hub_->fault(name, parameters);
        }
        try {
            const DownloadResult result = downloadSnapshot(settings, planDownload(settings, ref));
            QVERIFY2(error.isEmpty(), qPrintable("succeeded, expected " + error));
            // Whatever happened on the way, the files are the right bytes.
            for (const QString& name : {QStringLiteral("config.json"), QStringLiteral("vocab.json"), QStringLiteral("merges.txt")})
                QCOMPARE(fileBytes(QString::fromStdString(result.snapshotFolder) + "/" + name),
                         fileBytes(fixture("tiny-opt/" + name)));
            if (QFile::exists(QString::fromStdString(result.snapshotFolder) + "/model.safetensors"))
                QCOMPARE(fileBytes(QString::fromStdString(result.snapshotFolder) + "/model.safetensors"),
                         fileBytes(fixture("tiny-opt/model.safetensors")));
            QCOMPARE(listTree(workspace.repo(repo) + "/blobs").filter(".incomplete"), QStringList());
        } catch (const HubError& e) {
            QVERIFY2(!error.isEmpty(), e.what());
            QCOMPARE(QString::fromLatin1(hubErrorCodeName(e.code())), error);
            QVERIFY2(QString::fromUtf8(e.what()).contains(says), e.what());
        }
        const QJsonObject stats = hub_->stats();
        // The token never went to the CDN.
        QCOMPARE(stats.value("cdn_authorization").toInt(), 0);
        if (QTest::currentDataTag() == QByteArray("429 with Retry-After")) {
            // The retry waited for Retry-After (1 s) before asking again.
            double refused = 0, retried = 0;
            for (const auto& value : stats.value("requests").toArray()) {
                const QJsonObject request = value.toObject();
                if (request.value("status").toInt() == 429)
                    refused = request.value("time").toDouble();
                else if (refused > 0 && retried == 0 && request.value("path").toString().contains("model.safetensors"))
                    retried = request.value("time").toDouble();
            }
            QVERIFY2(retried - refused >= 0.9, qPrintable(QString::number(retried - refused)));
        }
        if (QTest::currentDataTag() == QByteArray("wrong bytes twice")) {
            // Corrupted bytes never became a blob, and no partial of them is kept.
            const QString etag = sha256Hex(fileBytes(fixture("tiny-opt/model.safetensors")));
            QCOMPARE(listTree(workspace.repo(repo) + "/blobs").filter(etag), QStringList());
        }
        if (QTest::currentDataTag() == QByteArray("listed file missing")) {
            // As huggingface_hub does: a marker that the file is not in that commit.
            QCOMPARE(listTree(workspace.repo(repo) + "/.no_exist").size(), 1);
            QVERIFY(listTree(workspace.repo(repo) + "/.no_exist")[0].endsWith("/vocab.json"));
        }
    }

    void forceDownloadsAnotherModelType()
    {
        Workspace workspace;
        PlanOptions options;
        options.force = true;
        const DownloadResult result = download(settingsFor(*hub_, workspace), QStringLiteral("test/not-blip2"), {}, options);
        QCOMPARE(result.filesFetched, 2);
    }

    void concurrentDownloadsOfOneRepositoryDoNotCorrupt()
    {
        Workspace workspace;
        const HubSettings settings = settingsFor(*hub_, workspace);
        // Slow the shards down so that the two downloads overlap.
        hub_->fault(QStringLiteral("stall"), {{"path", "test/tiny-opt-sharded/model-0000*"}, {"bytes", 100000}, {"seconds", 0.5}, {"times", 2}});
        std::string errors[2];
        DownloadResult results[2];
        std::thread threads[2];
        for (int i = 0; i < 2; ++i)
            threads[i] = std::thread([&, i] {
                try {
                    HubSettings mine = settings;
                    mine.stallSeconds = 5;
                    results[i] = download(mine, QStringLiteral("test/tiny-opt-sharded"));
                } catch (const std::exception& e) {
                    errors[i] = e.what();
                }
            });
        for (auto& thread : threads)
            thread.join();
        QVERIFY2(errors[0].empty(), errors[0].c_str());
        QVERIFY2(errors[1].empty(), errors[1].c_str());
        QCOMPARE(results[0].snapshotFolder, results[1].snapshotFolder);
        const auto summary = querylens::inspectCheckpoint(results[0].snapshotFolder);
        QVERIFY2(summary.problem.empty(), summary.problem.c_str());
        // Each shard crossed the network once: the second download waited on the lock and found it.
        const QJsonObject bytes = hub_->stats().value("bytes").toObject();
        const auto plan = planDownload(settings, *parseRepoRef("test/tiny-opt-sharded"));
        for (const auto& file : plan.files) {
            const QByteArray blob = fileBytes(workspace.repo("test/tiny-opt-sharded") + "/blobs/" + expectedEtag(file));
            QCOMPARE(file.lfs() ? sha256Hex(blob) : gitBlobSha1Hex(blob), expectedEtag(file));
            if (file.lfs())
                QCOMPARE(bytes.value("test/tiny-opt-sharded/" + QString::fromStdString(file.path)).toInteger(), qint64(file.size));
        }
        QCOMPARE(listTree(workspace.repo("test/tiny-opt-sharded")).filter(".tmp-"), QStringList());
    }

    void offlineModeUsesTheCacheAndAsksNothing()
    {
        Workspace workspace;
        HubSettings settings = settingsFor(*hub_, workspace);
        const DownloadResult result = download(settings, QStringLiteral("test/tiny-opt"));
        hub_->reset();
        settings.offline = true;
        try {
            planDownload(settings, *parseRepoRef("test/tiny-opt"));
            QFAIL("planned offline");
        } catch (const HubError& e) {
            QCOMPARE(e.code(), HubErrorCode::Offline);
            QVERIFY2(QString::fromUtf8(e.what()).contains(QString::fromStdString(result.snapshotFolder)), e.what());
        }
        QCOMPARE(cachedSnapshotFolder(settings.cacheFolder, settings.stateFolder, *parseRepoRef("test/tiny-opt")).value_or(""),
                 result.snapshotFolder);
        QCOMPARE(hub_->requests().size(), 0);
        // --model REPO_ID resolves through the cache the environment names.
        qputenv("HF_HUB_CACHE", workspace.cache().toUtf8());
        qputenv("XDG_STATE_HOME", workspace.dir.filePath(QStringLiteral("xdg")).toUtf8());
        QCOMPARE(resolveModelFolder("test/tiny-opt"), result.snapshotFolder);
        QCOMPARE(resolveModelFolder("test/tiny-opt@" + result.commit), result.snapshotFolder);
        try {
            resolveModelFolder("test/tiny-t5");
            QFAIL("resolved a repository that is not cached");
        } catch (const querylens::Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains("querylens download test/tiny-t5"), e.what());
        }
        qunsetenv("HF_HUB_CACHE");
        qunsetenv("XDG_STATE_HOME");
    }

    void notEnoughDiskSpaceIsRefusedBeforeStarting()
    {
        Workspace workspace;
        HubSettings settings = settingsFor(*hub_, workspace);
        settings.freeSpace = [](const std::string&) { return std::uint64_t(1'000'000); };
        const auto plan = planDownload(settings, *parseRepoRef("test/tiny-opt"));
        hub_->reset();
        try {
            downloadSnapshot(settings, plan);
            QFAIL("started without the space");
        } catch (const HubError& e) {
            QCOMPARE(e.code(), HubErrorCode::DiskSpace);
            QVERIFY2(QString::fromUtf8(e.what()).contains("1.0 MB are free"), e.what());
        }
        QCOMPARE(hub_->requests().size(), 0);
        // Enough once the partial already on disk is counted.
        settings.freeSpace = [&](const std::string&) { return plan.totalBytes; };
        downloadSnapshot(settings, plan);
    }

    void aFailedWriteKeepsThePartialAndSaysSo()
    {
        Workspace workspace;
        const HubSettings settings = settingsFor(*hub_, workspace);
        const auto plan = planDownload(settings, *parseRepoRef("test/tiny-opt"));
        // A file-size limit makes write() fail mid-file (EFBIG), as a full disk (ENOSPC) would.
        std::signal(SIGXFSZ, SIG_IGN);
        rlimit old{};
        ::getrlimit(RLIMIT_FSIZE, &old);
        rlimit limit = old;
        limit.rlim_cur = 1'000'000;
        ::setrlimit(RLIMIT_FSIZE, &limit);
        std::string message;
        try {
            downloadSnapshot(settings, plan);
        } catch (const HubError& e) {
            message = e.what();
            QCOMPARE(e.code(), HubErrorCode::DiskSpace);
        }
        ::setrlimit(RLIMIT_FSIZE, &old);
        QVERIFY2(message.find("kept") != std::string::npos, message.c_str());
        QVERIFY2(message.find(".incomplete") != std::string::npos, message.c_str());
        const auto unfinished = findIncompleteDownloads(settings.cacheFolder, settings.stateFolder);
        QCOMPARE(unfinished.size(), std::size_t(1));
        QVERIFY(unfinished[0].bytesOnDisk > 0 && unfinished[0].bytesOnDisk < plan.totalBytes);
        // With room again it resumes and completes.
        const DownloadResult result = downloadSnapshot(settings, plan);
        QCOMPARE(fileBytes(QString::fromStdString(result.snapshotFolder) + "/model.safetensors"),
                 fileBytes(fixture("tiny-opt/model.safetensors")));
    }

    void withoutSymlinksFilesLiveInTheSnapshot()
    {
        Workspace workspace;
        HubSettings settings = settingsFor(*hub_, workspace);
        settings.useSymlinks = false;
        const DownloadResult result = download(settings, QStringLiteral("test/tiny-opt"));
        QVERIFY(!result.warnings.empty());
        const QString weights = QString::fromStdString(result.snapshotFolder) + "/model.safetensors";
        QVERIFY(!QFileInfo(weights).isSymLink());
        QCOMPARE(fileBytes(weights), fileBytes(fixture("tiny-opt/model.safetensors")));
        QCOMPARE(listTree(workspace.repo("test/tiny-opt") + "/blobs"), QStringList());  // moved, as huggingface_hub does
        hub_->reset();
        QCOMPARE(download(settings, QStringLiteral("test/tiny-opt")).bytesFetched, std::uint64_t(0));
    }

    void discardRemovesPartialsButKeepsCompleteBlobs()
    {
        Workspace workspace;
        const HubSettings settings = settingsFor(*hub_, workspace);
        hub_->fault(QStringLiteral("stall"), {{"path", "test/tiny-opt/model.safetensors"}, {"bytes", 300000}, {"seconds", 2}});
        QVERIFY_THROWS_EXCEPTION(querylens::Cancelled,
                                 download(settings, QStringLiteral("test/tiny-opt"), [](const DownloadProgress& p) {
                                     return !(p.file == "model.safetensors" && p.fileBytes >= 300000);
                                 }));
        QCOMPARE(listTree(workspace.repo("test/tiny-opt") + "/blobs").filter(".incomplete").size(), 1);
        discardDownload(settings, *parseRepoRef("test/tiny-opt"));
        QCOMPARE(listTree(workspace.repo("test/tiny-opt") + "/blobs").filter(".incomplete"), QStringList());
        QVERIFY(listTree(workspace.repo("test/tiny-opt") + "/blobs").size() >= 3);  // config, vocab, merges
        QVERIFY(findIncompleteDownloads(settings.cacheFolder, settings.stateFolder).empty());
    }

    void progressReportsFilesPhasesAndTotals()
    {
        Workspace workspace;
        std::vector<DownloadProgress> reports;
        const DownloadResult result = download(settingsFor(*hub_, workspace), QStringLiteral("test/tiny-opt-sharded"),
                                               [&](const DownloadProgress& p) {
                                                   reports.push_back(p);
                                                   return true;
                                               });
        QVERIFY(!reports.empty());
        std::set<std::string> verified;
        std::uint64_t lastTotal = 0;
        for (const auto& report : reports) {
            QVERIFY(report.totalBytes <= report.totalSize);
            QVERIFY(report.fileBytes <= report.fileSize);
            QVERIFY(report.totalBytes >= lastTotal);  // nothing is lost on the way
            lastTotal = report.totalBytes;
            if (report.phase == DownloadPhase::Verifying)
                verified.insert(report.file);
        }
        QCOMPARE(reports.back().totalBytes, reports.back().totalSize);
        QCOMPARE(int(verified.size()), reports.back().fileCount);  // each file had its verifying phase
        QCOMPARE(result.filesFetched, reports.back().fileCount);
    }

    void weightShapesComeFromTheRemoteHeaders()
    {
        Workspace workspace;
        const HubSettings settings = settingsFor(*hub_, workspace);
        const auto plan = planDownload(settings, *parseRepoRef("test/tiny-opt-sharded"));
        const auto shapes = fetchWeightShapes(settings, plan);
        QVERIFY(!shapes.empty());
        QCOMPARE(hub_->stats().value("bytes").toObject().value("test/tiny-opt-sharded/model-00001-of-00002.safetensors").toInteger() < 20000,
                 true);  // headers only
        const auto memory = querylens::estimateWeightMemory(shapes, querylens::Precision::Float32);
        QCOMPARE(memory, querylens::estimateWeightMemory(testsupport::fixturePath("tiny-opt"), querylens::Precision::Float32));
    }

private:
    std::unique_ptr<MockHub> hub_;
};

QTEST_GUILESS_MAIN(TestHubDownload)
#include "test_hub_download.moc"
