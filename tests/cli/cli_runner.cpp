#include "cli_runner.h"

#include <QProcess>
#include <QProcessEnvironment>

CliRun runQuerylens(const QStringList& arguments, const QByteArray& input, const QString& workingDirectory)
{
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("QUERYLENS_MODEL"));  // every test names its model
    process.setProcessEnvironment(env);
    if (!workingDirectory.isEmpty())
        process.setWorkingDirectory(workingDirectory);
    process.start(QStringLiteral(QUERYLENS_BINARY), arguments);
    process.waitForStarted();
    if (!input.isEmpty())
        process.write(input);
    process.closeWriteChannel();
    process.waitForFinished(-1);
    CliRun run;
    run.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    run.out = process.readAllStandardOutput();
    run.err = process.readAllStandardError();
    return run;
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
