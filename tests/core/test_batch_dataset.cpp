// The dataset side of batches, without a model: WebDataset's naming and grouping rules on real
// tar shards, the expansion of folders and lists into keys, the results file's torn-line
// detection and resume plan, merging, stable shard hashes, and the question file.

#include "batch/webdataset.h"
#include "querylens/batch_results.h"
#include "querylens/batch_runner.h"
#include "querylens/dataset_inputs.h"
#include "querylens/error.h"
#include "querylens/shard.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <archive.h>
#include <archive_entry.h>

using namespace querylens;

namespace {

void writeFile(const QString& path, const QByteArray& data)
{
    QDir().mkpath(QFileInfo(path).path());
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(data);
}

QByteArray readFile(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// A tar with these members (name, content), in this order; `compression` "gzip" or "".
void writeTar(const QString& path, const std::vector<std::pair<std::string, std::string>>& members,
              const char* compression = "")
{
    archive* writer = archive_write_new();
    archive_write_set_format_pax_restricted(writer);
    if (std::string(compression) == "gzip")
        archive_write_add_filter_gzip(writer);
    QVERIFY(archive_write_open_filename(writer, path.toUtf8().constData()) == ARCHIVE_OK);
    for (const auto& [name, data] : members) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, name.c_str());
        archive_entry_set_size(entry, la_int64_t(data.size()));
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_perm(entry, 0644);
        archive_write_header(writer, entry);
        archive_write_data(writer, data.data(), data.size());
        archive_entry_free(entry);
    }
    archive_write_close(writer);
    archive_write_free(writer);
}

std::vector<std::string> keysOf(const InputListing& listing)
{
    std::vector<std::string> keys;
    for (const auto& item : listing.items)
        keys.push_back(item.key);
    return keys;
}

std::string resultLine(const std::string& key, bool error = false, int shardIndex = -1, int shardCount = 0)
{
    std::string line = "{\"key\":\"" + key + "\"";
    line += error ? ",\"error\":\"broken\"" : ",\"text\":\"a cat\"";
    if (shardCount > 0)
        line += ",\"shard\":{\"index\":" + std::to_string(shardIndex) + ",\"count\":" + std::to_string(shardCount) + "}";
    return line + "}";
}

}  // namespace

class TestBatchDataset : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void webDatasetNames_data()
    {
        QTest::addColumn<QString>("member");
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("suffix");
        QTest::newRow("plain") << "000123.jpg" << "000123" << "jpg";
        QTest::newRow("folders") << "train/part1/000123.jpg" << "train/part1/000123" << "jpg";
        QTest::newRow("several dots: key ends at the first") << "a/img.seg.PNG" << "a/img" << "seg.png";
        QTest::newRow("dots in a folder name") << "v1.2/img.json" << "v1.2/img" << "json";
        QTest::newRow("no dot: not a sample member") << "README" << "" << "";
        QTest::newRow("leading dot in the base name") << "dir/.hidden.jpg" << "dir/" << "hidden.jpg";
    }
    void webDatasetNames()
    {
        QFETCH(QString, member);
        QFETCH(QString, key);
        QFETCH(QString, suffix);
        const auto name = batch::splitWebDatasetName(member.toStdString());
        if (key.isEmpty()) {
            QVERIFY(!name);
            return;
        }
        QVERIFY(name);
        QCOMPARE(QString::fromStdString(name->key), key);
        QCOMPARE(QString::fromStdString(name->suffix), suffix);
    }

    void webDatasetMetadataAndImageSuffixes()
    {
        QVERIFY(batch::isWebDatasetMetadata("__index__"));
        QVERIFY(batch::isWebDatasetMetadata("__meta__/info.json"));
        QVERIFY(!batch::isWebDatasetMetadata("a/__index__"));
        QVERIFY(!batch::isWebDatasetMetadata("sample.__x__.jpg"));
        for (const char* image : {"jpg", "jpeg", "png", "webp", "seg.png", "ppm", "tif"})
            QVERIFY2(batch::isImageSuffix(image), image);
        for (const char* other : {"json", "txt", "cls", "png.json", "mp4"})
            QVERIFY2(!batch::isImageSuffix(other), other);
    }

    // Samples are consecutive members that share a key; each sample's image is its jpg, jpeg,
    // png or webp (in that order of preference), else any other image suffix.
    void shardSamplesAreGroupedAsWebDatasetGroupsThem_data()
    {
        QTest::addColumn<QString>("compression");
        QTest::newRow("tar") << "";
        QTest::newRow("tar.gz") << "gzip";
    }
    void shardSamplesAreGroupedAsWebDatasetGroupsThem()
    {
        QFETCH(QString, compression);
        QTemporaryDir dir;
        const QString path = dir.filePath(compression.isEmpty() ? QStringLiteral("s.tar") : QStringLiteral("s.tar.gz"));
        writeTar(path,
                 {{"__index__", "x"},
                  {"d/a.json", "{}"},
                  {"d/a.seg.png", "mask"},
                  {"d/a.jpg", "photo"},
                  {"d/b.txt", "no image here"},
                  {"d/c.ppm", "P3"},
                  {"d/c.cls", "3"},
                  {"d/e.png", "one"},
                  {"d/e.png", "repeated suffix"},
                  {"d/f.webp", "w"},
                  {"d/a.txt", "a again, after other samples"}},
                 compression.isEmpty() ? "" : "gzip");
        const batch::ShardListing listing = batch::listWebDatasetShard(path.toStdString());
        QCOMPARE(listing.samples.size(), std::size_t(4));
        QCOMPARE(listing.samples[0].key, std::string("d/a"));
        QCOMPARE(listing.samples[0].imageMember, std::string("d/a.jpg"));  // jpg before seg.png
        QCOMPARE(listing.samples[1].imageMember, std::string("d/c.ppm"));
        QCOMPARE(listing.samples[2].imageMember, std::string("d/e.png"));
        QCOMPARE(listing.samples[3].imageMember, std::string("d/f.webp"));
        QString warnings;
        for (const auto& w : listing.warnings)
            warnings += QString::fromStdString(w) + QLatin1Char('\n');
        QVERIFY2(warnings.contains("1 sample has no image"), qPrintable(warnings));  // d/b
        QVERIFY2(warnings.contains("repeats suffix png"), qPrintable(warnings));
        QVERIFY2(warnings.contains("d/a comes back"), qPrintable(warnings));

        const InputListing inputs = listInputs({path.toStdString()}, defaultImageExtensions());
        QCOMPARE(inputs.items.size(), std::size_t(4));
        QCOMPARE(inputs.items[0].key, path.toStdString() + "/d/a");
        QCOMPARE(inputs.items[0].path, path.toStdString());
        QCOMPARE(inputs.items[0].member, std::string("d/a.jpg"));
    }

    void damagedShardIsAnErrorNamingIt()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("broken.tar"));
        writeFile(path, QByteArray("this is not a tar archive at all").repeated(40));
        try {
            listInputs({path.toStdString()}, defaultImageExtensions());
            QFAIL("a broken shard was accepted");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("broken.tar") != std::string::npos, e.what());
        }
    }

    void foldersListsAndFilesGiveTheSameKeys()
    {
        QTemporaryDir dir;
        const QString root = dir.filePath(QStringLiteral("data"));
        for (const char* name : {"b.png", "a.JPG", "sub/c.webp", "sub/notes.txt", ".hidden/d.png", ".e.png", "sub/z/f.bmp"})
            writeFile(root + QLatin1Char('/') + QLatin1String(name), "x");
        const std::string folder = root.toStdString();
        const InputListing byFolder = listInputs({folder + "/./"}, defaultImageExtensions());
        const std::vector<std::string> expected = {folder + "/a.JPG", folder + "/b.png", folder + "/sub/c.webp",
                                                   folder + "/sub/z/f.bmp"};
        QCOMPARE(keysOf(byFolder), expected);

        writeFile(dir.filePath(QStringLiteral("list.txt")), "# images\ndata/sub/c.webp\n\n  data//a.JPG  \r\n");
        const InputListing byList = listInputs({"@" + dir.filePath(QStringLiteral("list.txt")).toStdString()},
                                               defaultImageExtensions());
        QCOMPARE(keysOf(byList), (std::vector<std::string>{folder + "/sub/c.webp", folder + "/a.JPG"}));

        // Given twice (a file and its folder): once, with a warning.
        const InputListing twice = listInputs({folder + "/b.png", folder}, defaultImageExtensions());
        QCOMPARE(twice.items.size(), std::size_t(4));
        QCOMPARE(twice.items.front().key, folder + "/b.png");
        QCOMPARE(twice.warnings.size(), std::size_t(1));

        writeFile(dir.filePath(QStringLiteral("bad-list.txt")), "data/b.png\ndata/missing.png\n");
        try {
            listInputs({"@" + dir.filePath(QStringLiteral("bad-list.txt")).toStdString()}, defaultImageExtensions());
            QFAIL("a missing listed file was accepted");
        } catch (const Error& e) {
            const std::string message = e.what();
            QVERIFY2(message.find("bad-list.txt") != std::string::npos && message.find("line 2") != std::string::npos &&
                         message.find("missing.png") != std::string::npos,
                     e.what());
        }
    }

    void tornLastLineIsDetectedAndCutOff()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("r.jsonl"));
        const std::string complete = resultLine("a") + "\n" + "not json\n" + resultLine("b", true) + "\n";
        writeFile(path, QByteArray::fromStdString(complete + resultLine("c").substr(0, 12)));
        const ResultsContent content = readResults(path.toStdString());
        QVERIFY(content.tornEnd);
        QCOMPARE(content.lines.size(), std::size_t(2));
        QCOMPARE(content.lines[1].key, std::string("b"));
        QVERIFY(content.lines[1].error);
        QCOMPARE(content.lines[1].lineNumber, std::size_t(3));
        QCOMPARE(content.problems.size(), std::size_t(1));
        QCOMPARE(content.completeBytes, std::uint64_t(complete.size()));
        {
            ResultsLog log(path.toStdString());
            QVERIFY(log.existing().tornEnd);
            QCOMPARE(readFile(path).toStdString(), complete);  // only the torn line went
            log.append(resultLine("c"));
            log.sync();
        }
        QCOMPARE(readFile(path).toStdString(), complete + resultLine("c") + "\n");
        QVERIFY(!readResults(path.toStdString()).tornEnd);
        QVERIFY(readResults(dir.filePath(QStringLiteral("missing.jsonl")).toStdString()).lines.empty());
    }

    void planSkipsDoneKeysAndOtherShards()
    {
        std::vector<DatasetItem> items;
        for (int i = 0; i < 40; ++i)
            items.push_back({"img" + std::to_string(i) + ".png", "img" + std::to_string(i) + ".png", {}});
        ResultsContent existing;
        for (const auto& [key, error] : std::vector<std::pair<std::string, bool>>{{"img1.png", false}, {"img2.png", true}}) {
            ResultLine line;
            line.key = key;
            line.error = error;
            existing.lines.push_back(line);
        }
        BatchPlan plan = planBatch(items, existing, std::nullopt, false);
        QCOMPARE(plan.todo.size(), std::size_t(38));
        QCOMPARE(plan.alreadyDone, std::size_t(2));
        plan = planBatch(items, existing, std::nullopt, true);  // retry the error line
        QCOMPARE(plan.todo.size(), std::size_t(39));
        QCOMPARE(plan.todo[1].key, std::string("img2.png"));

        std::size_t covered = 0;
        for (int shard = 0; shard < 4; ++shard) {
            const BatchPlan part = planBatch(items, {}, Shard{shard, 4}, false);
            QVERIFY(!part.todo.empty());
            covered += part.todo.size();
            for (const auto& item : part.todo)
                QCOMPARE(shardOfKey(item.key, 4), shard);
        }
        QCOMPARE(covered, items.size());
    }

    // Shards must stay the same between versions and machines: these values are fixed (computed
    // independently, in Python, from the FNV-1a and splitmix64 definitions).
    void stableHashIsFixed()
    {
        QCOMPARE(stableKeyHash(""), std::uint64_t(0xf52a15e9a9b5e89bull));
        QCOMPARE(stableKeyHash("images/img00.png"), std::uint64_t(0x4b21cd08dfba2cc7ull));
        QCOMPARE(stableKeyHash("shards/000.tar/sample0001"), std::uint64_t(0x0708857daae2d1e0ull));
        QCOMPARE(shardOfKey("images/img00.png", 7), 2);
        QCOMPARE(shardOfKey("shards/000.tar/sample0001", 7), 6);
        QCOMPARE(shardOfKey("images/img00.png", 1), 0);
        QVERIFY(Shard({2, 7}).contains("images/img00.png"));
    }

    void shardText()
    {
        QCOMPARE(parseShard("0/1")->count, 1);
        QCOMPARE(parseShard("3/8")->index, 3);
        QCOMPARE(parseShard("3/8")->text(), std::string("3/8"));
        for (const char* bad : {"8/8", "-1/4", "1/0", "1", "/4", "a/b", "1/4/2", ""})
            QVERIFY2(!parseShard(bad), bad);
    }

    void mergeKeepsOneLinePerKey()
    {
        QTemporaryDir dir;
        const QString a = dir.filePath(QStringLiteral("a.jsonl")), b = dir.filePath(QStringLiteral("b.jsonl"));
        writeFile(a, QByteArray::fromStdString(resultLine("x", false, 0, 2) + "\n" + resultLine("y", true, 0, 2) + "\n"));
        writeFile(b, QByteArray::fromStdString(resultLine("y", false, 0, 2) + "\n" + resultLine("x", false, 0, 2) + "\n" +
                                               resultLine("z", false, 1, 2) + "\n" + resultLine("w").substr(0, 5)));
        const QString out = dir.filePath(QStringLiteral("merged.jsonl"));
        const MergeReport report = mergeResults({a.toStdString(), b.toStdString()}, out.toStdString());
        QCOMPARE(report.written, std::size_t(3));
        QCOMPARE(report.errorLines, std::size_t(0));  // y's error line was replaced by its retry
        QCOMPARE(report.duplicateKeys, std::vector<std::string>{"x"});
        QCOMPARE(report.shardCount, 2);
        QVERIFY(report.missingShards.empty());
        QCOMPARE(report.problems.size(), std::size_t(1));  // b's torn end
        QVERIFY(!report.complete());
        const ResultsContent merged = readResults(out.toStdString());
        QCOMPARE(merged.lines.size(), std::size_t(3));
        QVERIFY(!merged.lines[1].error);

        const std::vector<std::string> expected = {"w", "x", "y", "z"};
        const MergeReport checked = mergeResults({a.toStdString(), b.toStdString()}, out.toStdString(), &expected);
        QCOMPARE(checked.missingKeys, std::vector<std::string>{"w"});
        QCOMPARE(readResults(out.toStdString()).lines.front().key, std::string("x"));  // in the inputs' order
    }

    void questionFile()
    {
        QTemporaryDir dir;
        const QString good = dir.filePath(QStringLiteral("q.jsonl"));
        writeFile(good, "{\"key\": \"a.png\", \"question\": \"what is this?\"}\n\n{\"key\": \"b.png\", \"question\": \"why?\"}\n");
        const auto questions = readQuestionFile(good.toStdString());
        QCOMPARE(questions.size(), std::size_t(2));
        QCOMPARE(questions.at("b.png"), std::string("why?"));
        for (const char* bad : {"{\"key\": \"a\"}\n", "[1, 2]\n", "{\"key\": \"a\", \"question\": \" \"}\n",
                                "{\"key\": \"a\", \"question\": \"x\"}\n{\"key\": \"a\", \"question\": \"y\"}\n"}) {
            writeFile(good, bad);
            try {
                readQuestionFile(good.toStdString());
                QFAIL(bad);
            } catch (const Error& e) {
                QVERIFY2(std::string(e.what()).find("q.jsonl") != std::string::npos, e.what());
            }
        }
    }
};

QTEST_APPLESS_MAIN(TestBatchDataset)
#include "test_batch_dataset.moc"
