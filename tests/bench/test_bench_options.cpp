// The benchmark programs' command lines, run as a person types them: --help prints the usage and
// exits 0; a mistyped option, a missing value or a value that is not a number stops the program
// at once with a message naming it (exit code 2), before any model is built or any timing runs.

#include <QProcess>
#include <QtTest>

class TestBenchOptions : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void mistakesAreRefusedWithTheirName_data()
    {
        QTest::addColumn<QString>("program");
        QTest::addColumn<QStringList>("arguments");
        QTest::addColumn<int>("exitCode");
        QTest::addColumn<QString>("message");
        const QString kernel = QStringLiteral(QUERYLENS_KERNEL_BENCH), model = QStringLiteral(QUERYLENS_BENCH),
                      branch = QStringLiteral(QUERYLENS_BRANCH_BENCH);
        QTest::newRow("kernel: help") << kernel << QStringList{"--help"} << 0
                                      << "usage: querylens-kernel-bench [--threads N]";
        QTest::newRow("kernel: unknown option") << kernel << QStringList{"--bogus", "1"} << 2
                                                << "querylens-kernel-bench: unknown option --bogus";
        QTest::newRow("kernel: a section mistyped")
            << kernel << QStringList{"--only", "gem"} << 2
            << "--only takes decode|gemm|attention|epilogue|crossover, not 'gem'";
        QTest::newRow("kernel: value missing") << kernel << QStringList{"--repeat", "3", "--threads"} << 2
                                               << "--threads needs a value";
        QTest::newRow("kernel: zero threads") << kernel << QStringList{"--threads", "0"} << 2
                                              << "--threads needs a whole number of at least 1, not '0'";
        QTest::newRow("model: help") << model << QStringList{"-h"} << 0 << "usage: querylens-bench [--model";
        QTest::newRow("model: not a number") << model << QStringList{"--threads", "x"} << 2
                                             << "--threads needs a whole number of at least 1, not 'x'";
        QTest::newRow("model: trailing text") << model << QStringList{"--tokens", "16k"} << 2
                                              << "--tokens needs a whole number of at least 2, not '16k'";
        QTest::newRow("model: precision") << model << QStringList{"--precision", "fp16"} << 2
                                          << "--precision takes fp32|bf16|int8, not 'fp16'";
        QTest::newRow("model: scale above 1") << model << QStringList{"--scale", "2"} << 2
                                              << "--scale must be in (0, 1]";
        QTest::newRow("model: scale zero") << model << QStringList{"--scale", "0"} << 2 << "--scale needs a number above";
        QTest::newRow("model: int8 checkpoint") << model << QStringList{"--save-checkpoint", "/nonexistent/x", "--precision", "int8"}
                                                << 2 << "--save-checkpoint writes fp32 or bf16";
        QTest::newRow("branch: help") << branch << QStringList{"--help"} << 0 << "usage: querylens-branch-bench";
        QTest::newRow("branch: a lone option") << branch << QStringList{"--repeat"} << 2 << "--repeat needs a value";
        QTest::newRow("branch: unknown option") << branch << QStringList{"--tokens", "4"} << 2
                                                << "querylens-branch-bench: unknown option --tokens";
    }
    void mistakesAreRefusedWithTheirName()
    {
        QFETCH(QString, program);
        QFETCH(QStringList, arguments);
        QFETCH(int, exitCode);
        QFETCH(QString, message);
        QProcess process;
        process.start(program, arguments);
        QVERIFY2(process.waitForFinished(120000), qPrintable(program + " did not finish"));
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.exitCode(), exitCode);
        const QString out = QString::fromUtf8(process.readAllStandardOutput());
        const QString err = QString::fromUtf8(process.readAllStandardError());
        // Help goes to stdout (it was asked for); a refusal to stderr, followed by the usage.
        const QString& shown = exitCode == 0 ? out : err;
        QVERIFY2(shown.contains(message), qPrintable("expected '" + message + "' in:\n" + shown));
        QVERIFY2(shown.contains(QStringLiteral("usage: ")), qPrintable(shown));
        if (exitCode != 0)
            QVERIFY2(out.isEmpty(), qPrintable("a refused command measured something:\n" + out));
    }
};

QTEST_GUILESS_MAIN(TestBenchOptions)
#include "test_bench_options.moc"
