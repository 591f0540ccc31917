// Every input that once made a fuzz target fail (tests/fuzz/regressions/<target>/<finding>),
// run again through the same target compiled into this suite: the bug it found stays fixed.
// A row per file; a return of the bug aborts or fails the row. The libFuzzer build runs the
// same targets on new inputs (scripts/fuzz.sh).

#include "fuzz_support.h"

#include <QDir>
#include <QFile>
#include <QtTest>

class TestFuzzRegressions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY2(!fuzzsupport::targetNames().empty(), "no fuzz target is compiled in");
        QVERIFY(QDir(QStringLiteral(QUERYLENS_FUZZ_REGRESSIONS)).exists());
    }

    void replaysFinding_data()
    {
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("path");
        const QDir root(QStringLiteral(QUERYLENS_FUZZ_REGRESSIONS));
        int rows = 0;
        for (const std::string& name : fuzzsupport::targetNames()) {
            const QString target = QString::fromStdString(name);
            for (const QFileInfo& file : QDir(root.filePath(target)).entryInfoList(QDir::Files, QDir::Name)) {
                QTest::newRow(qPrintable(target + QLatin1Char('/') + file.fileName())) << target << file.filePath();
                ++rows;
            }
        }
        if (rows == 0)
            QTest::newRow("no findings for these targets") << QString() << QString();
    }
    void replaysFinding()
    {
        QFETCH(QString, target);
        QFETCH(QString, path);
        if (target.isEmpty())
            QSKIP("no regression inputs for the targets of this suite");
        const auto entry = fuzzsupport::findTarget(target.toStdString());
        QVERIFY(entry);
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QByteArray bytes = file.readAll();
        QCOMPARE(entry(reinterpret_cast<const std::uint8_t*>(bytes.constData()), std::size_t(bytes.size())), 0);
    }
};

QTEST_GUILESS_MAIN(TestFuzzRegressions)
#include "test_fuzz_regressions.moc"
