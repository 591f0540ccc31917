#include "isolated_settings.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>

#include <utility>

namespace testsupport {

namespace {

constexpr char kFolderVariable[] = "QUERYLENS_TEST_STATE";

// The folder this process made; it lives until the process ends.
QString ownFolder()
{
    static QTemporaryDir folder(QDir::tempPath() + QStringLiteral("/querylens-test-XXXXXX"));
    if (!folder.isValid())
        qFatal("cannot make a temporary folder for the test's settings: %s", qPrintable(folder.errorString()));
    return folder.path();
}

}  // namespace

QString isolateSettings(const QString& suiteName)
{
    QString folder = qEnvironmentVariable(kFolderVariable);
    if (folder.isEmpty() || !QFileInfo(folder).isDir()) {
        folder = ownFolder();
        qputenv(kFolderVariable, folder.toUtf8());
    }
    QStandardPaths::setTestModeEnabled(false);
    for (const auto& [variable, name] : {std::pair{"XDG_CONFIG_HOME", "config"}, std::pair{"XDG_DATA_HOME", "data"},
                                         std::pair{"XDG_CACHE_HOME", "cache"}, std::pair{"XDG_STATE_HOME", "state"}}) {
        const QString path = folder + QLatin1Char('/') + QLatin1String(name);
        if (!QDir().mkpath(path))
            qFatal("cannot make %s", qPrintable(path));
        qputenv(variable, path.toUtf8());
    }
    for (const char* variable : {"HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"})
        qunsetenv(variable);
    // QSettings reads $XDG_CONFIG_HOME only once, at its first use: the paths are set outright.
    for (const QSettings::Format format : {QSettings::NativeFormat, QSettings::IniFormat}) {
        QSettings::setPath(format, QSettings::UserScope, folder + QStringLiteral("/config"));
        QSettings::setPath(format, QSettings::SystemScope, folder + QStringLiteral("/system-config"));
    }
    QCoreApplication::setOrganizationName(QStringLiteral("QueryLensTests"));
    QCoreApplication::setOrganizationDomain(QString());
    QCoreApplication::setApplicationName(
        suiteName.isEmpty() ? QFileInfo(QCoreApplication::applicationFilePath()).completeBaseName() : suiteName);
    return folder;
}

}  // namespace testsupport
