// The Slurm recipe of packaging/cluster/slurm, run for real: slurm_cluster.sh starts a one-node
// cluster on localhost (munge, slurmctld, slurmd), submits a job array of three shards over
// seven images and its merge job, submits it again (which must find every image done), and
// stops the cluster. This suite then checks the merged results against `querylens caption`.

#include "fixtures.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <map>
#include <set>

using nlohmann::json;

namespace {

std::vector<json> jsonLines(const QString& path)
{
    QFile file(path);
    std::vector<json> lines;
    if (!file.open(QIODevice::ReadOnly))
        return lines;
    for (const QByteArray& line : file.readAll().split('\n'))
        if (!line.trimmed().isEmpty())
            lines.push_back(json::parse(line.toStdString()));
    return lines;
}

}  // namespace

class TestSlurmCluster : public QObject {
    Q_OBJECT

private slots:
    void jobArrayCaptionsEveryImageOnce()
    {
        QTemporaryDir dir;
        const QString images = dir.filePath(QStringLiteral("images"));
        QDir().mkpath(images);
        QStringList paths;
        for (int i = 0; i < 7; ++i) {
            paths << images + QStringLiteral("/photo%1.png").arg(i);
            QVERIFY(testsupport::fixtureVariant(i).save(paths.last()));
        }
        const QString model = QString::fromStdString(testsupport::fixturePath("tiny-opt"));

        QProcess cluster;
        cluster.start(QStringLiteral("bash"),
                      {QStringLiteral(QUERYLENS_SOURCE_DIR "/tests/cluster/slurm_cluster.sh"), QStringLiteral(QUERYLENS_SOURCE_DIR),
                       QStringLiteral(QUERYLENS_BINARY), dir.path(), QStringLiteral("3"), images, QStringLiteral("--model"), model,
                       QStringLiteral("--max-new-tokens"), QStringLiteral("10")});
        QVERIFY(cluster.waitForStarted());
        QVERIFY(cluster.waitForFinished(-1));  // the script waits on the jobs' states, and always ends
        const QByteArray log = cluster.readAllStandardError();
        if (cluster.exitCode() == 77)
            QSKIP(log.trimmed().split('\n').last().constData());
        QVERIFY2(cluster.exitStatus() == QProcess::NormalExit && cluster.exitCode() == 0, log.constData());
        qInfo("%s", log.trimmed().constData());

        // Every image once in the merged file, each from the shard its key hashes to.
        const auto merged = jsonLines(dir.filePath(QStringLiteral("out/results.jsonl")));
        QCOMPARE(int(merged.size()), 7);
        std::map<std::string, std::vector<int>> byImage;
        std::set<int> shards;
        for (const json& line : merged) {
            QVERIFY2(line.contains("text"), line.dump().c_str());
            byImage[line.at("key").get<std::string>()] = line.at("token_ids").get<std::vector<int>>();
            QCOMPARE(line.at("shard").at("count").get<int>(), 3);
            shards.insert(line.at("shard").at("index").get<int>());
        }
        QCOMPARE(int(byImage.size()), 7);
        int shardLines = 0;
        for (int shard = 0; shard < 3; ++shard)
            shardLines += int(jsonLines(dir.filePath(QStringLiteral("out/shard-%1-of-3.jsonl").arg(shard))).size());
        QCOMPARE(shardLines, 7);  // the second round added nothing

        // The same tokens as `querylens caption` of each image.
        QProcess caption;
        caption.start(QStringLiteral(QUERYLENS_BINARY), QStringList{QStringLiteral("caption")} + paths +
                                                            QStringList{QStringLiteral("--model"), model,
                                                                        QStringLiteral("--max-new-tokens"), QStringLiteral("10"),
                                                                        QStringLiteral("--json")});
        QVERIFY(caption.waitForFinished(-1));
        int compared = 0;
        for (const QByteArray& line : caption.readAllStandardOutput().split('\n')) {
            const int start = line.indexOf('{');
            if (start < 0)
                continue;
            const json report = json::parse(line.mid(start).toStdString());
            QCOMPARE(byImage.at(report.at("image").get<std::string>()), report.at("token_ids").get<std::vector<int>>());
            ++compared;
        }
        QCOMPARE(compared, 7);
    }
};

QTEST_GUILESS_MAIN(TestSlurmCluster)
#include "test_slurm_cluster.moc"
