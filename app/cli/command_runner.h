#pragma once
// What every command does around its own work: parse, load the model with progress on
// stderr, turn errors into messages and exit codes.

#include "cli/cli_options.h"
#include "querylens/model.h"

#include <QCommandLineParser>
#include <QStringList>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace querylens::cli {

// Parses `arguments` (program name first), then runs `body`. --help prints the help (exit 0),
// a parse error or UsageError prints the problem and the help (2), querylens::Error and other
// failures their message (1), Cancelled (Ctrl+C) "cancelled" (130).
int runCommand(QCommandLineParser& parser, const QStringList& arguments, const std::function<int()>& body);

// The positional arguments when there are `least` to `most` of them (-1: any number), else
// UsageError with `problem`.
QStringList positionalArguments(const QCommandLineParser& parser, int least, int most, const QString& problem);

// Loads the model named by the parser's options (see loadOptions), reporting progress and
// warnings on stderr.
std::shared_ptr<const Model> loadModel(const QCommandLineParser& parser, double& loadMs,
                                       const QString& fallbackFolder = {});

// "Warning: <text>" on stderr, the one form every command warns in; an empty text prints nothing.
void printWarning(const std::string& text);
void printWarnings(const std::vector<std::string>& texts);

// True once the user pressed Ctrl+C (a second press ends the program at once).
bool interrupted();
void installInterruptHandler();
// For commands that check interrupted() all along (batch): SIGTERM, a cluster scheduler's warning
// before it kills a job (time limit, preemption), counts as Ctrl+C.
void stopOnTermination();

}  // namespace querylens::cli
