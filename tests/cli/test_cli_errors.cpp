// Errors a person can read (issue 18, item 4), from the real binary: a mistyped command is a
// usage error with a suggestion (not a window, not a Qt abort), the window without a display
// exits 1 with a message, quoted file content cannot print binary to the terminal, and an
// image too large for the decoder says its size.

#include "cli_runner.h"
#include "fixtures.h"

#include <QBuffer>
#include <QDir>
#include <QImage>
#include <QFile>
#include <QTemporaryDir>
#include <QtEndian>
#include <QtTest>

namespace {

QString fixture(const std::string& relative) { return QString::fromStdString(testsupport::fixturePath(relative)); }

void copyCheckpoint(const QString& from, const QString& to)
{
    for (const QString& name : QDir(from).entryList(QDir::Files))
        QVERIFY(QFile::copy(from + QLatin1Char('/') + name, to + QLatin1Char('/') + name));
}

void writeFile(const QString& path, const QByteArray& bytes)
{
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
    QCOMPARE(file.write(bytes), bytes.size());
}

// Bytes no terminal should receive from a quoted file: ESC, NUL, and bytes that are not UTF-8.
bool hasRawControlBytes(const QByteArray& text)
{
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && byte != '\n' && byte != '\t') || byte == 0x7f)
            return true;
    }
    return QString::fromUtf8(text).contains(QChar::ReplacementCharacter);
}

std::uint32_t crc32(const QByteArray& bytes)
{
    std::uint32_t crc = 0xffffffffu;
    for (char c : bytes) {
        crc ^= static_cast<unsigned char>(c);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

QByteArray bigEndian32(std::uint32_t value)
{
    QByteArray bytes(4, '\0');
    qToBigEndian(value, bytes.data());
    return bytes;
}

QByteArray pngChunk(const QByteArray& type, const QByteArray& data)
{
    return bigEndian32(std::uint32_t(data.size())) + type + data + bigEndian32(crc32(type + data));
}

// Images whose headers claim 30000 x 30000 pixels (3.4 GB decoded) in a few bytes.
QByteArray hugePng()
{
    const QByteArray header = bigEndian32(30000) + bigEndian32(30000) + QByteArray("\x08\x02\x00\x00\x00", 5);
    return QByteArray("\x89PNG\r\n\x1a\n", 8) + pngChunk("IHDR", header) + pngChunk("IDAT", QByteArray()) +
           pngChunk("IEND", QByteArray());
}

// A real JPEG (written by Qt) whose frame header (SOF0) is changed to claim 30000 x 30000.
QByteArray hugeJpeg()
{
    QImage image(16, 16, QImage::Format_RGB888);
    image.fill(Qt::darkCyan);
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "jpg");
    const int frame = bytes.indexOf(QByteArray("\xff\xc0", 2));
    if (frame < 0)
        return {};
    // FF C0, length (2), precision (1), height (2), width (2).
    qToBigEndian(quint16(30000), bytes.data() + frame + 5);
    qToBigEndian(quint16(30000), bytes.data() + frame + 7);
    return bytes;
}

}  // namespace

class TestCliErrors : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void unknownCommandIsAUsageError_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<QByteArray>("expected");
        const QString image = fixture("image.png");
        QTest::newRow("letters swapped") << QStringList{QStringLiteral("captoin"), image}
                                         << QByteArray("unknown command 'captoin'; did you mean 'caption'?");
        QTest::newRow("letter missing") << QStringList{QStringLiteral("downlad"), QStringLiteral("x/y")}
                                        << QByteArray("unknown command 'downlad'; did you mean 'download'?");
        QTest::newRow("capitals and a slip") << QStringList{QStringLiteral("Explian-words")}
                                             << QByteArray("did you mean 'explain-words'?");
        QTest::newRow("beginning of a command") << QStringList{QStringLiteral("sess")}
                                                << QByteArray("did you mean 'sessions'?");
        QTest::newRow("nothing close") << QStringList{QStringLiteral("frobnicate")}
                                       << QByteArray("unknown command 'frobnicate'\n");
        QTest::newRow("missing image") << QStringList{QStringLiteral("no-such-photo.png")}
                                       << QByteArray("'no-such-photo.png' is neither a command nor an existing file");
        QTest::newRow("control bytes in the word") << QStringList{QString::fromLatin1("cap\x1b[2Jtion")}
                                                   << QByteArray("unknown command 'cap\\x1b[2Jtion'");
    }
    void unknownCommandIsAUsageError()
    {
        QFETCH(QStringList, arguments);
        QFETCH(QByteArray, expected);
        // With no display, as over SSH: the mistake must be found before any window is tried.
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
            env.remove(QString::fromLatin1(name));
        const CliRun run = runQuerylensIn(env, arguments);
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(expected), run.err.constData());
        QVERIFY2(run.err.contains("querylens --help"), run.err.constData());
        QVERIFY(run.out.isEmpty());
        QVERIFY(!hasRawControlBytes(run.err));
    }

    void windowWithoutDisplayExitsWithOne_data()
    {
        QTest::addColumn<QString>("display");
        QTest::addColumn<QString>("platform");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("no DISPLAY nor WAYLAND_DISPLAY")
            << QString() << QString() << QByteArray("no display found (DISPLAY and WAYLAND_DISPLAY are unset)");
        QTest::newRow("DISPLAY names no X server")
            << QStringLiteral(":97") << QString() << QByteArray("cannot open the window");
        QTest::newRow("no such platform plugin")
            << QString() << QStringLiteral("no-such-platform") << QByteArray("cannot open the window");
    }
    void windowWithoutDisplayExitsWithOne()
    {
        QFETCH(QString, display);
        QFETCH(QString, platform);
        QFETCH(QByteArray, expected);
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char* name : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XAUTHORITY"})
            env.remove(QString::fromLatin1(name));
        if (!display.isEmpty())
            env.insert(QStringLiteral("DISPLAY"), display);
        if (!platform.isEmpty())
            env.insert(QStringLiteral("QT_QPA_PLATFORM"), platform);
        // An existing image: the arguments are right, only the display is missing.
        const CliRun run = runQuerylensIn(env, {fixture("image.png")});
        QCOMPARE(run.exitCode, 1);  // not 134 (abort) nor a crash (-1)
        QVERIFY2(run.err.contains(expected), run.err.constData());
        QVERIFY2(run.err.contains("the window needs a desktop session"), run.err.constData());
        QVERIFY2(run.err.contains("querylens --help"), run.err.constData());
    }

    void quotedFileContentIsEscaped_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("terminal escape in merges.txt")
            << QStringLiteral("merges.txt") << QByteArray("#version: 0.2\n\x1b[31mred\x1b[0m\n")
            << QByteArray("line 2 is not a merge of two symbols: '\\x1b[31mred\\x1b[0m'");
        QTest::newRow("NUL and invalid UTF-8 in merges.txt")
            << QStringLiteral("merges.txt") << QByteArray("a\x00\xff\xfe b\r\x07 c\n", 12)
            << QByteArray("line 1 is not a merge of two symbols: 'a\\x00\\xff\\xfe b\\r\\x07 c'");
        QTest::newRow("a binary file of one long line")
            << QStringLiteral("merges.txt") << QByteArray(200000, '\x9b')
            << QByteArray("is not a merge of two symbols: '\\x9b\\x9b");
        QTest::newRow("control character in a JSON string")
            << QStringLiteral("config.json") << QByteArray("{\"model_type\": \"blip\\u001b[2J\\u0000\"}")
            << QByteArray("model_type is 'blip\\x1b[2J\\x00'");
    }
    void quotedFileContentIsEscaped()
    {
        QFETCH(QString, file);
        QFETCH(QByteArray, bytes);
        QFETCH(QByteArray, expected);
        QTemporaryDir dir;
        copyCheckpoint(fixture("tiny-opt"), dir.path());
        QFile::remove(dir.filePath(file));
        writeFile(dir.filePath(file), bytes);
        const CliRun run = runQuerylens({QStringLiteral("caption"), fixture("image.png"), QStringLiteral("--model"), dir.path()});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains(file.toUtf8()), run.err.constData());
        QVERIFY2(run.err.contains(expected), run.err.constData());
        QVERIFY2(!hasRawControlBytes(run.err), run.err.toHex().constData());
        QVERIFY2(run.err.size() < 4000, "a quoted line is cut, not printed whole");
    }

    void imageTooLargeToDecodeSaysItsSize_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("bytes");
        QTest::newRow("PNG") << QStringLiteral("huge.png") << hugePng();
        QTest::newRow("JPEG") << QStringLiteral("huge.jpg") << hugeJpeg();
        QTest::newRow("PPM") << QStringLiteral("huge.ppm") << QByteArray("P6\n30000 30000\n255\n") + QByteArray(64, '\0');
    }
    void imageTooLargeToDecodeSaysItsSize()
    {
        QFETCH(QString, name);
        QFETCH(QByteArray, bytes);
        QTemporaryDir dir;
        const QString path = dir.filePath(name);
        writeFile(path, bytes);
        const CliRun run = runQuerylens({QStringLiteral("caption"), path, QStringLiteral("--model"), fixture("tiny-opt")});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains(name.toUtf8() + ": too large to decode: 30000 x 30000"), run.err.constData());
        QVERIFY2(run.err.contains("the limit is 1024 MB"), run.err.constData());
    }

    // train-demo's numbers outside their range stop it before any training, naming the option
    // and what it accepts.
    void trainingNumbersOutOfRangeAreUsageErrors_data()
    {
        QTest::addColumn<QString>("option");
        QTest::addColumn<QString>("value");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("caption share above 1") << QStringLiteral("caption-share") << QStringLiteral("1.5")
                                               << QByteArray("--caption-share must be a number from 0 to 1");
        QTest::newRow("caption share not a number") << QStringLiteral("caption-share") << QStringLiteral("a third")
                                                    << QByteArray("--caption-share must be a number from 0 to 1");
        QTest::newRow("caption share NaN") << QStringLiteral("caption-share") << QStringLiteral("nan")
                                           << QByteArray("--caption-share must be a number from 0 to 1");
        QTest::newRow("negative caption crowding") << QStringLiteral("caption-crowding") << QStringLiteral("-0.5")
                                                   << QByteArray("--caption-crowding must be a number from 0 to 1");
        QTest::newRow("no answers per row") << QStringLiteral("answers-per-row") << QStringLiteral("0")
                                            << QByteArray("--answers-per-row must be a whole number of at least 1");
        QTest::newRow("negative entropy weight") << QStringLiteral("entropy-weight") << QStringLiteral("-0.1")
                                                 << QByteArray("--entropy-weight must be a number of at least 0");
        QTest::newRow("infinite entropy weight") << QStringLiteral("entropy-weight") << QStringLiteral("inf")
                                                 << QByteArray("--entropy-weight must be a number of at least 0");
        QTest::newRow("zero stage 1 rate") << QStringLiteral("stage1-rate") << QStringLiteral("0")
                                           << QByteArray("--stage1-rate must be a number above 0 and at most 1");
        QTest::newRow("stage 2 rate above 1") << QStringLiteral("stage2-rate") << QStringLiteral("2")
                                              << QByteArray("--stage2-rate must be a number above 0 and at most 1");
        QTest::newRow("empty stage 2 batch") << QStringLiteral("stage2-batch") << QStringLiteral("0")
                                             << QByteArray("--stage2-batch must be a whole number of at least 1");
        QTest::newRow("generation stage 1 rate in words") << QStringLiteral("generation-stage1-rate") << QStringLiteral("5e-4x")
            << QByteArray("--generation-stage1-rate must be a number above 0 and at most 1");
    }
    void trainingNumbersOutOfRangeAreUsageErrors()
    {
        QFETCH(QString, option);
        QFETCH(QString, value);
        QFETCH(QByteArray, expected);
        QTemporaryDir dir;
        const CliRun run = runQuerylens({QStringLiteral("train-demo"), QStringLiteral("--out"), dir.path(), QStringLiteral("--tiny"),
                                         QStringLiteral("--") + option, value});
        QCOMPARE(run.exitCode, 2);
        QVERIFY2(run.err.contains(expected), run.err.constData());
        QVERIFY2(QDir(dir.path()).isEmpty(), "nothing trained nor written");
    }
};

QTEST_GUILESS_MAIN(TestCliErrors)
#include "test_cli_errors.moc"
