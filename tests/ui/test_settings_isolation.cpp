// Each suite its own settings (issue 18; isolated_settings.h). The suite starts itself as a
// "probe" process standing for another suite: one probe saves a setting (as the window saves its
// recent files), an organisation-wide value (which QSettings reads as a fallback in every
// application of the organisation) and a file in its data folder (where the batch window keeps
// its results); a second probe, as a different suite or as the same suite run again, must see
// none of it, and the probes' home folder must stay empty. Before the helper, every suite used one
// store, and the first two would have leaked.

#include "isolated_settings.h"

#include <QCoreApplication>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <cstdio>

namespace {

constexpr int kTimeoutMs = 60000;  // a bound for a loaded machine, not a speed limit
const QString kRecentFiles = QStringLiteral("recentFiles");
const QString kShared = QStringLiteral("sharedByTheOrganisation");

QString marker() { return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation) + QStringLiteral("/marker"); }

// The probe: QUERYLENS_SETTINGS_PROBE=write|read, QUERYLENS_PROBE_SUITE=name. Prints the settings
// file, the marker's path and (reading) what it sees, one per line.
int runProbe(const QByteArray& mode, const QString& suite)
{
    testsupport::isolateSettings(suite);
    QSettings settings;
    if (mode == "write") {
        settings.setValue(kRecentFiles, QStringList{QStringLiteral("/photos/cat.png")});
        QSettings organisation(QCoreApplication::organizationName());
        organisation.setValue(kShared, QStringLiteral("leaked"));
        organisation.sync();
        settings.sync();
        QDir().mkpath(QFileInfo(marker()).path());
        QFile file(marker());
        if (!file.open(QIODevice::WriteOnly) || file.write("batch results") <= 0)
            return 3;
    }
    const QString seen = settings.value(kRecentFiles).toStringList().join(QLatin1Char(',')) + QLatin1Char('|') +
                         settings.value(kShared).toString() + QLatin1Char('|') +
                         (QFileInfo::exists(marker()) ? QStringLiteral("marker") : QString());
    std::printf("%s\n%s\n%s\n", qPrintable(settings.fileName()), qPrintable(marker()), qPrintable(seen));
    return settings.status() == QSettings::NoError ? 0 : 4;
}

struct Probe {
    int exitCode = -1;
    QStringList lines;  // settings file, marker, what it saw
};

Probe runProbeProcess(QProcessEnvironment environment, const char* mode, const QString& suite)
{
    environment.insert(QStringLiteral("QUERYLENS_SETTINGS_PROBE"), QString::fromLatin1(mode));
    environment.insert(QStringLiteral("QUERYLENS_PROBE_SUITE"), suite);
    QProcess process;
    process.setProcessEnvironment(environment);
    process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    process.start(QCoreApplication::applicationFilePath(), {});
    Probe probe;
    if (!process.waitForFinished(kTimeoutMs) || process.exitStatus() != QProcess::NormalExit)
        return probe;
    probe.exitCode = process.exitCode();
    probe.lines = QString::fromLocal8Bit(process.readAllStandardOutput()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    return probe;
}

// The environment ctest gives a suite: none of this suite's folder, and a home of `home`.
QProcessEnvironment anotherSuitesEnvironment(const QString& home)
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    for (const char* name : {"QUERYLENS_TEST_STATE", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"})
        environment.remove(QString::fromLatin1(name));
    environment.insert(QStringLiteral("HOME"), home);
    return environment;
}

QStringList filesUnder(const QString& folder)
{
    QStringList files;
    for (QDirIterator it(folder, QDir::Files | QDir::Hidden | QDir::System, QDirIterator::Subdirectories); it.hasNext();)
        files << it.next();
    return files;
}

}  // namespace

class TestSettingsIsolation : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { folder_ = testsupport::isolateSettings(); }

    // This suite's settings and standard folders lie in its own folder, not in the user's home.
    void settingsAndFoldersAreTheSuitesOwn()
    {
        QVERIFY(QFileInfo(folder_).isDir());
        QVERIFY2(folder_.startsWith(QDir::tempPath() + QStringLiteral("/querylens-test-")), qPrintable(folder_));
        QCOMPARE(QCoreApplication::organizationName(), QStringLiteral("QueryLensTests"));
        QCOMPARE(QCoreApplication::applicationName(), QStringLiteral("test_settings_isolation"));
        const QString settings = QSettings().fileName();
        QVERIFY2(settings.startsWith(folder_ + QLatin1Char('/')), qPrintable(settings));
        for (const auto location : {QStandardPaths::AppDataLocation, QStandardPaths::GenericConfigLocation,
                                    QStandardPaths::GenericDataLocation, QStandardPaths::CacheLocation,
                                    QStandardPaths::GenericCacheLocation, QStandardPaths::AppConfigLocation}) {
            const QString path = QStandardPaths::writableLocation(location);
            QVERIFY2(path.startsWith(folder_ + QLatin1Char('/')), qPrintable(path));
        }
        for (const char* variable : {"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"})
            QVERIFY2(qEnvironmentVariable(variable).startsWith(folder_ + QLatin1Char('/')), variable);
        QVERIFY(!qEnvironmentVariableIsSet("HF_HOME") && !qEnvironmentVariableIsSet("HF_HUB_CACHE"));
    }

    void suitesCannotSeeEachOthersState_data()
    {
        QTest::addColumn<QString>("reader");
        QTest::newRow("another suite") << QStringLiteral("test_other_suite");
        QTest::newRow("the same suite run again") << QStringLiteral("test_writer_suite");
    }
    void suitesCannotSeeEachOthersState()
    {
        QFETCH(QString, reader);
        QTemporaryDir home;  // stands for the user's home: nothing may be written there
        const QProcessEnvironment environment = anotherSuitesEnvironment(home.path());
        const Probe written = runProbeProcess(environment, "write", QStringLiteral("test_writer_suite"));
        QCOMPARE(written.exitCode, 0);
        QCOMPARE(written.lines.size(), 3);
        QCOMPARE(written.lines[2], QStringLiteral("/photos/cat.png|leaked|marker"));  // it sees its own state
        for (const QString& path : written.lines.mid(0, 2)) {
            QVERIFY2(!path.startsWith(home.path()) && !path.startsWith(folder_), qPrintable(path));
            QVERIFY2(!QFileInfo::exists(path), qPrintable(path + QStringLiteral(" outlived its suite")));
        }
        const Probe read = runProbeProcess(environment, "read", reader);
        QCOMPARE(read.exitCode, 0);
        QCOMPARE(read.lines.size(), 3);
        QCOMPARE(read.lines[2], QStringLiteral("||"));
        QVERIFY2(filesUnder(home.path()).isEmpty(), qPrintable(filesUnder(home.path()).join(QLatin1Char(' '))));
    }

    // A process the suite starts (the chat window it kills) works in the suite's folder, which
    // outlives it.
    void aChildProcessUsesTheSuitesFolder()
    {
        const Probe child = runProbeProcess(QProcessEnvironment::systemEnvironment(), "write", QStringLiteral("child"));
        QCOMPARE(child.exitCode, 0);
        QCOMPARE(child.lines.size(), 3);
        QVERIFY2(child.lines[0].startsWith(folder_ + QLatin1Char('/')), qPrintable(child.lines[0]));
        QVERIFY(QFileInfo::exists(child.lines[1]));
        const QSettings childs(child.lines[0], QSettings::IniFormat);
        QCOMPARE(childs.value(kRecentFiles).toStringList(), QStringList{QStringLiteral("/photos/cat.png")});
        QVERIFY(!QSettings().contains(kRecentFiles));  // the suite's own file stays its own
    }

private:
    QString folder_;
};

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    if (const QByteArray mode = qgetenv("QUERYLENS_SETTINGS_PROBE"); !mode.isEmpty())
        return runProbe(mode, qEnvironmentVariable("QUERYLENS_PROBE_SUITE"));
    TestSettingsIsolation test;
    return QTest::qExec(&test, argc, argv);
}

#include "test_settings_isolation.moc"
