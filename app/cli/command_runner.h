#pragma once
// What every command does around its own work: parse, load the model with progress on
// stderr, turn errors into messages and exit codes.

#include "cli/cli_options.h"
#include "querylens/model.h"

#include <QCommandLineParser>
#include <QStringList>

#include <functional>
#include <memory>

namespace querylens::cli {

// Parses `arguments` (program name first); on --help prints it and returns false with code 0;
// on a parse error prints it and returns false with code 2.
bool parseArguments(QCommandLineParser& parser, const QStringList& arguments, int& exitCode);

// Runs `body`, mapping UsageError to 2, querylens::Error and other failures to 1 (message on
// stderr), Cancelled (Ctrl+C) to 130.
int runGuarded(QCommandLineParser& parser, const std::function<int()>& body);

// Loads the model named by the parser's options, reporting progress and warnings on stderr.
std::shared_ptr<const Model> loadModel(const QCommandLineParser& parser, double& loadMs);

// True once the user pressed Ctrl+C (a second press ends the program at once).
bool interrupted();
void installInterruptHandler();

}  // namespace querylens::cli
