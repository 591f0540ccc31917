// The bounds readers put on their input (issue 18, item 3): a JSON file nested past 64 levels,
// a JSON or tokenizer file past 64 MB, and a session nested too deep are refused with a message
// naming the file, before they are parsed; files inside the bounds (the fixtures, a file nested
// exactly 64 deep) still read.

#include "fixtures.h"
#include "io/json_file.h"
#include "querylens/error.h"
#include "querylens/session_store.h"
#include "text/bpe_tokenizer.h"
#include "text/wordpiece_tokenizer.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

namespace {

QByteArray nested(int depth, const QByteArray& inner = "1")
{
    return QByteArray("{\"a\":").repeated(depth - 1) + "[" + inner + "]" + QByteArray("}").repeated(depth - 1);
}

void writeFile(const QString& path, const QByteArray& bytes)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(bytes), bytes.size());
}

void copyFixture(const QString& from, const QString& to)
{
    const QString source = QString::fromStdString(testsupport::fixturePath(from.toStdString()));
    for (const QString& name : QDir(source).entryList(QDir::Files))
        QVERIFY(QFile::copy(source + QLatin1Char('/') + name, to + QLatin1Char('/') + name));
}

// The message of the Error `call` throws, or "" when it does not throw.
template <typename Call>
QString errorOf(Call call)
{
    try {
        call();
    } catch (const querylens::Error& e) {
        return QString::fromStdString(e.what());
    }
    return QString();
}

}  // namespace

class TestInputLimits : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void jsonNestingIsBounded_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<bool>("refused");
        QTest::newRow("64 levels read") << nested(64) << false;
        QTest::newRow("65 levels refused") << nested(65) << true;
        QTest::newRow("100000 levels refused") << QByteArray(100000, '[') << true;
        QTest::newRow("brackets inside strings do not count")
            << QByteArray("{\"a\": \"") + QByteArray(1000, '[') + "\\\"" + QByteArray(1000, '{') + "\"}" << false;
    }
    void jsonNestingIsBounded()
    {
        QFETCH(QByteArray, text);
        QFETCH(bool, refused);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("config.json"));
        writeFile(path, text);
        const QString error = errorOf([&] { querylens::io::readJsonFile(path.toStdString()); });
        if (!refused) {
            QCOMPARE(error, QString());
            return;
        }
        QVERIFY2(error.startsWith(path + QStringLiteral(": arrays and objects nest more than 64 levels deep")),
                 qPrintable(error));
    }

    // Found by fuzz_bpe_files: nlohmann reports a number past the range of a double as
    // out_of_range, not parse_error; it escaped the reader and ended the program.
    void numberPastADoubleIsAnError()
    {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("vocab.json"));
        writeFile(path, QByteArray("{\"a\": 0, \"b\": 2061e308}"));
        const QString error = errorOf([&] { querylens::io::readJsonFile(path.toStdString()); });
        QCOMPARE(error, path + QStringLiteral(": not valid JSON (number overflow parsing '2061e308')"));
    }

    void oversizedFilesAreRefusedUnread_data()
    {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<QString>("file");
        QTest::newRow("vocab.json") << QStringLiteral("tiny-opt") << QStringLiteral("vocab.json");
        QTest::newRow("merges.txt") << QStringLiteral("tiny-opt") << QStringLiteral("merges.txt");
        QTest::newRow("WordPiece vocab.txt") << QStringLiteral("tiny-itm") << QStringLiteral("vocab.txt");
        QTest::newRow("tokenizer_config.json") << QStringLiteral("tiny-itm") << QStringLiteral("tokenizer_config.json");
    }
    void oversizedFilesAreRefusedUnread()
    {
        QFETCH(QString, fixture);
        QFETCH(QString, file);
        QTemporaryDir dir;
        copyFixture(fixture, dir.path());
        const auto load = [&] {
            if (fixture == QLatin1String("tiny-opt"))
                querylens::text::BpeTokenizer::fromFolder(dir.path().toStdString(), {});
            else
                querylens::text::WordPieceTokenizer::fromFolder(dir.path().toStdString());
        };
        QCOMPARE(errorOf(load), QString());  // the fixture as it is loads
        // 65 MB, sparse: the reader must refuse it from its size, without reading it.
        QVERIFY(QFile::resize(dir.filePath(file), qint64(65) << 20));
        const QString error = errorOf(load);
        QVERIFY2(error.startsWith(dir.filePath(file) + QStringLiteral(": is 65 MB; files of this kind are read up to 64 MB")),
                 qPrintable(error));
    }

    void sessionNestingIsBounded()
    {
        const QString error =
            errorOf([] { querylens::sessionFromJson(QByteArray(5000, '[').toStdString(), "deep.json"); });
        QVERIFY2(error.startsWith(QStringLiteral("deep.json: arrays and objects nest more than 64")), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestInputLimits)
#include "test_input_limits.moc"
