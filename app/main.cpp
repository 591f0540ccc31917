// querylens: the desktop window, or with a command the command-line interface.
//   querylens [--model DIR] [IMAGE...]      the window
//   querylens COMMAND [options] ...          see `querylens --help`

#include "cli/command_runner.h"
#include "cli/commands.h"
#include "cli/unknown_command.h"
#include "desktop.h"

#include <QCoreApplication>
#include <QGuiApplication>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

using Command = int (*)(const QStringList&);

const std::map<std::string, Command>& commands()
{
    static const std::map<std::string, Command> table{
        {"caption", querylens::cli::runCaption},
        {"ask", querylens::cli::runAsk},
        {"chat", querylens::cli::runChat},
        {"sessions", querylens::cli::runSessions},
        {"explain", querylens::cli::runExplain},
        {"explain-words", querylens::cli::runExplainWords},
        {"match", querylens::cli::runMatch},
        {"localize", querylens::cli::runLocalize},
        {"search", querylens::cli::runSearch},
        {"make-demo-model", querylens::cli::runMakeDemoModel},
        {"models", querylens::cli::runModels},
        {"download", querylens::cli::runDownload},
        {"batch", querylens::cli::runBatch},
        {"merge-results", querylens::cli::runMergeResults},
        {"make-scenes", querylens::cli::runMakeScenes},
        {"train-demo", querylens::cli::runTrainDemo},
        {"eval-demo", querylens::cli::runEvalDemo},
    };
    return table;
}

// Commands that draw maps with text (PNG output) need a QGuiApplication for fonts; they get
// the offscreen platform, so they run without a display like every other command.
bool drawsImages(const char* name)
{
    return !std::strcmp(name, "localize") || !std::strcmp(name, "explain-words") || !std::strcmp(name, "search");
}

int runCommand(Command command, int argc, char** argv)
{
    std::unique_ptr<QCoreApplication> application;
    if (drawsImages(argv[1])) {
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
        application = std::make_unique<QGuiApplication>(argc, argv);
    } else {
        application = std::make_unique<QCoreApplication>(argc, argv);
    }
    QCoreApplication::setApplicationName(QStringLiteral("querylens"));
    QCoreApplication::setApplicationVersion(QStringLiteral(QUERYLENS_VERSION));
    querylens::cli::installInterruptHandler();
    QStringList arguments = QCoreApplication::arguments();
    // "querylens caption ..." parses as program "querylens caption" with the rest as its options.
    arguments[0] += QLatin1Char(' ') + arguments[1];
    arguments.removeAt(1);
    return command(arguments);
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc > 1) {
        const auto it = commands().find(argv[1]);
        if (it != commands().end())
            return runCommand(it->second, argc, argv);
        if (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
            std::cout << "Usage: querylens [--model DIR] [IMAGE...]   (the desktop window)\n"
                         "       querylens COMMAND [options]          (see querylens COMMAND --help)\n\n"
                      << querylens::cli::commandSummary().toStdString();
            return 0;
        }
        if (!std::strcmp(argv[1], "--version")) {
            std::cout << "querylens " << QUERYLENS_VERSION << "\n";
            return 0;
        }
        // The window takes options and existing images; any other first word is a mistyped
        // command, said as such (exit 2), not a window that cannot open two missing images.
        std::error_code ignored;
        if (argv[1][0] != '-' && !std::filesystem::exists(argv[1], ignored)) {
            std::vector<std::string> names;
            for (const auto& [name, command] : commands())
                names.push_back(name);
            std::cerr << querylens::cli::unknownCommandMessage(argv[1], names);
            return 2;
        }
    }
    return querylens::runDesktop(argc, argv);
}
