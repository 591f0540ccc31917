#pragma once
// Runs the querylens binary and collects what a person would see.

#include <QByteArray>
#include <QProcessEnvironment>
#include <QStringList>

#include <nlohmann/json.hpp>

struct CliRun {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
    // The last line of stdout parsed as JSON (the --json report); null when it is not JSON.
    nlohmann::json lastJsonLine() const;
    // stdout without its last line.
    QByteArray textBeforeLastLine() const;
};

CliRun runQuerylens(const QStringList& arguments, const QByteArray& input = {}, const QString& workingDirectory = {});
// The same in a given environment (e.g. without DISPLAY, as over SSH).
CliRun runQuerylensIn(const QProcessEnvironment& environment, const QStringList& arguments);
