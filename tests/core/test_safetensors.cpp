// The safetensors reader and sharded archives: the fixture loads, and every malformed input
// gives its own error naming the file and the key.

#include "fixtures.h"
#include "io/safetensors.h"
#include "io/weight_archive.h"
#include "querylens/error.h"

#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <filesystem>
#include <fstream>

using querylens::Error;
using namespace querylens::io;

namespace {

QByteArray safetensorsBytes(const QByteArray& header, int dataBytes)
{
    QByteArray bytes(8, '\0');
    const quint64 length = quint64(header.size());
    for (int i = 0; i < 8; ++i)
        bytes[i] = char((length >> (8 * i)) & 0xff);
    return bytes + header + QByteArray(dataBytes, '\x01');
}

std::string writeFile(const QTemporaryDir& dir, const QString& name, const QByteArray& bytes)
{
    const QString path = dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size())
        qFatal("cannot write %s", qPrintable(path));
    return path.toStdString();
}

QByteArray readFile(const std::string& path)
{
    QFile file(QString::fromStdString(path));
    if (!file.open(QIODevice::ReadOnly))
        qFatal("cannot read %s", path.c_str());
    return file.readAll();
}

}  // namespace

class TestSafetensors : public QObject {
    Q_OBJECT
private slots:
    void loadsFixtureWithShapesAndDtypes()
    {
        const auto file = SafetensorsFile::open(testsupport::fixturePath("tiny-opt/model.safetensors"));
        const auto* record = file->find("language_model.model.decoder.embed_tokens.weight");
        QVERIFY(record);
        QCOMPARE(record->dtype, DType::F32);
        QCOMPARE(record->shape, (std::vector<std::int64_t>{1000, 64}));
        QCOMPARE(record->nbytes, std::size_t(1000 * 64 * 4));
        QVERIFY(!file->find("language_model.lm_head.weight"));  // tied, stored once
    }

    void rejectsMalformedFiles_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expectedMessage");
        QTest::addColumn<QString>("expectedKey");

        QTest::newRow("too short") << QByteArray("\x05\x00\x00", 3) << "too short" << "";
        QByteArray huge(8, '\0');
        huge[2] = 0x10;  // claims a 1 MiB header
        QTest::newRow("header length beyond the file") << (huge + "{}") << "runs past the end of the file" << "";
        QTest::newRow("bad json") << safetensorsBytes("{\"a\": [1, 2", 0) << "not valid JSON" << "";
        QTest::newRow("header not an object") << safetensorsBytes("[1, 2]   ", 0) << "not a JSON object" << "";
        QTest::newRow("unknown dtype")
            << safetensorsBytes(R"({"w": {"dtype": "F7", "shape": [2], "data_offsets": [0, 8]}})", 8)
            << "unknown dtype 'F7'" << "w";
        QTest::newRow("missing shape")
            << safetensorsBytes(R"({"w": {"dtype": "F32", "data_offsets": [0, 8]}})", 8) << "has no shape" << "w";
        QTest::newRow("offsets beyond the data")
            << safetensorsBytes(R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8)
            << "lie beyond the data section" << "w";
        QTest::newRow("offsets reversed")
            << safetensorsBytes(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 8)
            << "end before they begin" << "w";
        QTest::newRow("shape times dtype differs from span")
            << safetensorsBytes(R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 8]}})", 8)
            << "needs 16 bytes but data_offsets [0, 8] span 8" << "w";
        QTest::newRow("overlapping offsets")
            << safetensorsBytes(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},)"
                                R"( "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
                                24)
            << "overlap those of 'a'" << "b";
    }

    void rejectsMalformedFiles()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expectedMessage);
        QFETCH(QString, expectedKey);
        QTemporaryDir dir;
        const std::string path = writeFile(dir, "broken.safetensors", bytes);
        try {
            SafetensorsFile::open(path);
            QFAIL("a malformed file was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.message()).contains(expectedMessage), e.what());
            QCOMPARE(QString::fromStdString(e.file()), QString::fromStdString(path));
            QCOMPARE(QString::fromStdString(e.key()), expectedKey);
        }
    }

    void truncatedCheckpointNamesATensor()
    {
        QByteArray bytes = readFile(testsupport::fixturePath("tiny-opt/model.safetensors"));
        bytes.chop(1000);
        QTemporaryDir dir;
        const std::string path = writeFile(dir, "model.safetensors", bytes);
        try {
            SafetensorsFile::open(path);
            QFAIL("a truncated file was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.message()).contains("file truncated?"), e.what());
            QVERIFY(!e.key().empty());
        }
    }

    void writerRoundTrips()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("out.safetensors").toStdString();
        const std::vector<float> a{1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
        const std::vector<std::int64_t> b{42, -7};
        writeSafetensors(path, {{"a", DType::F32, {2, 3}, a.data()}, {"b", DType::I64, {2}, b.data()}},
                         {{"format", "pt"}});
        const auto file = SafetensorsFile::open(path);
        QCOMPARE(file->metadata().at("format"), std::string("pt"));
        const auto* ra = file->find("a");
        QVERIFY(ra);
        QCOMPARE(ra->shape, (std::vector<std::int64_t>{2, 3}));
        QVERIFY(std::memcmp(file->data(*ra), a.data(), a.size() * 4) == 0);
        const auto* rb = file->find("b");
        QVERIFY(rb && rb->dtype == DType::I64);
        QVERIFY(std::memcmp(file->data(*rb), b.data(), b.size() * 8) == 0);
        // The data section starts 8-byte aligned, so tensors can be used in place.
        QCOMPARE(ra->offset % 8, std::size_t(0));
    }

    void shardedFolderLoadsAndChecksTheIndex()
    {
        QTemporaryDir dir;
        const std::vector<float> x{1, 2}, y{3, 4, 5};
        writeSafetensors(dir.filePath("model-00001-of-00002.safetensors").toStdString(), {{"x", DType::F32, {2}, x.data()}});
        writeSafetensors(dir.filePath("model-00002-of-00002.safetensors").toStdString(), {{"y", DType::F32, {3}, y.data()}});
        writeFile(dir, "model.safetensors.index.json",
                  R"({"metadata": {"total_size": 20}, "weight_map": {"x": "model-00001-of-00002.safetensors",)"
                  R"( "y": "model-00002-of-00002.safetensors"}})");
        const auto archive = WeightArchive::openFolder(dir.path().toStdString());
        QCOMPARE(archive.names(), (std::vector<std::string>{"x", "y"}));
        QCOMPARE(archive.totalBytes(), std::size_t(20));
        QCOMPARE(archive.find("y")->record->shape, (std::vector<std::int64_t>{3}));

        writeFile(dir, "model.safetensors.index.json",
                  R"({"weight_map": {"x": "model-00002-of-00002.safetensors", "y": "model-00002-of-00002.safetensors"}})");
        QVERIFY_THROWS_EXCEPTION(Error, WeightArchive::openFolder(dir.path().toStdString()));
        writeFile(dir, "model.safetensors.index.json", R"({"weight_map": {"x": "model-00009-of-00009.safetensors"}})");
        try {
            WeightArchive::openFolder(dir.path().toStdString());
            QFAIL("a missing shard was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.message()).contains("model-00009-of-00009.safetensors"), e.what());
            QCOMPARE(e.key(), std::string("x"));
        }
    }

    // The index is input: a shard name that is not a plain file name beside it is refused with
    // the index and the tensor named, before any file system call (a name past NAME_MAX made
    // std::filesystem throw; found by fuzz_weight_index).
    void shardNamesThatAreNotFileNamesAreRefused_data()
    {
        QTest::addColumn<QString>("shard");
        QTest::addColumn<QString>("expected");
        QTest::newRow("past NAME_MAX") << QString(300, 'm') << "300 bytes long";
        QTest::newRow("parent folder") << "../model.safetensors" << "not a file in";
        QTest::newRow("nested") << "sub/model.safetensors" << "not a file in";
        QTest::newRow("dot-dot") << ".." << "not a file in";
        QTest::newRow("empty") << "" << "empty shard";
        QTest::newRow("NUL") << "model.safetensors\\u0000x" << "NUL";
    }
    void shardNamesThatAreNotFileNamesAreRefused()
    {
        QFETCH(QString, shard);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const std::vector<float> x{1, 2};
        writeSafetensors(dir.filePath("model.safetensors").toStdString(), {{"x", DType::F32, {2}, x.data()}});
        writeFile(dir, "model.safetensors.index.json",
                  (R"({"weight_map": {"x": ")" + shard + R"("}})").toUtf8());
        try {
            WeightArchive::openFolder(dir.path().toStdString());
            QFAIL("the shard name was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.message()).contains(expected), e.what());
            QVERIFY2(QString::fromStdString(e.file()).endsWith("model.safetensors.index.json"), e.what());
            QCOMPARE(e.key(), std::string("x"));
        }
    }

    void folderWithoutSafetensorsSaysWhat()
    {
        QTemporaryDir dir;
        writeFile(dir, "pytorch_model.bin", "not really");
        try {
            WeightArchive::openFolder(dir.path().toStdString());
            QFAIL("a .bin-only folder was accepted");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.message()).contains(".bin"), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestSafetensors)
#include "test_safetensors.moc"
