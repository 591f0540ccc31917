#include "cli_runner.h"

#include <QProcess>
#include <QProcessEnvironment>

namespace {

CliRun runIn(const QProcessEnvironment& env, const QStringList& arguments, const QByteArray& input,
             const QString& workingDirectory)
{
    QProcess process;
    process.setProcessEnvironment(env);
    if (!workingDirectory.isEmpty())
        process.setWorkingDirectory(workingDirectory);
    process.start(QStringLiteral(QUERYLENS_BINARY), arguments);
    process.waitForStarted();
    if (!input.isEmpty())
        process.write(input);
    process.closeWriteChannel();
    process.waitForFinished(-1);
    CliRun result;
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

}  // namespace

CliRun runQuerylens(const QStringList& arguments, const QByteArray& input, const QString& workingDirectory)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("QUERYLENS_MODEL"));  // every test names its model
    return runIn(env, arguments, input, workingDirectory);
}

CliRun runQuerylensIn(const QProcessEnvironment& environment, const QStringList& arguments)
{
    return runIn(environment, arguments, {}, {});
}

nlohmann::json CliRun::lastJsonLine() const
{
    const QList<QByteArray> lines = out.trimmed().split('\n');
    if (lines.isEmpty())
        return nullptr;
    return nlohmann::json::parse(lines.last().toStdString(), nullptr, /*allow_exceptions=*/false);
}

QByteArray CliRun::textBeforeLastLine() const
{
    const QByteArray trimmed = out.trimmed();
    const int cut = trimmed.lastIndexOf('\n');
    return cut < 0 ? QByteArray() : trimmed.left(cut);
}
