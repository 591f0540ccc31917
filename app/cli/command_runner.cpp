#include "cli/command_runner.h"

#include "querylens/error.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace querylens::cli {

namespace {

std::atomic<bool> g_interrupted{false};

void onInterrupt(int)
{
    if (g_interrupted.exchange(true))
        std::_Exit(130);  // a second Ctrl+C: stop now
}

}  // namespace

bool interrupted() { return g_interrupted.load(); }

void installInterruptHandler() { std::signal(SIGINT, onInterrupt); }

void stopOnTermination() { std::signal(SIGTERM, onInterrupt); }

static bool parseArguments(QCommandLineParser& parser, const QStringList& arguments, int& exitCode)
{
    const QCommandLineOption help = parser.addHelpOption();
    if (!parser.parse(arguments)) {
        std::cerr << "querylens: " << parser.errorText().toStdString() << "\n\n" << parser.helpText().toStdString();
        exitCode = 2;
        return false;
    }
    if (parser.isSet(help)) {
        std::cout << parser.helpText().toStdString();
        exitCode = 0;
        return false;
    }
    return true;
}

static int runGuarded(QCommandLineParser& parser, const std::function<int()>& body)
{
    try {
        return body();
    } catch (const UsageError& e) {
        std::cerr << "querylens: " << e.message.toStdString() << "\n\n" << parser.helpText().toStdString();
        return 2;
    } catch (const Cancelled&) {
        std::cerr << "querylens: cancelled\n";
        return 130;
    } catch (const Error& e) {
        std::cerr << "querylens: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "querylens: unexpected failure: " << e.what() << "\n";
        return 1;
    }
}

int runCommand(QCommandLineParser& parser, const QStringList& arguments, const std::function<int()>& body)
{
    int exitCode = 0;
    if (!parseArguments(parser, arguments, exitCode))
        return exitCode;
    return runGuarded(parser, body);
}

QStringList positionalArguments(const QCommandLineParser& parser, int least, int most, const QString& problem)
{
    const QStringList positional = parser.positionalArguments();
    if (positional.size() < least || (most >= 0 && positional.size() > most))
        throw UsageError{problem};
    return positional;
}

std::shared_ptr<const Model> loadModel(const QCommandLineParser& parser, double& loadMs, const QString& fallbackFolder)
{
    const LoadOptions options = loadOptions(parser, fallbackFolder);
    const bool interactive = ::isatty(STDERR_FILENO);
    int lastPercent = -1;
    const auto start = std::chrono::steady_clock::now();
    auto model = Model::load(options, [&](double fraction, const std::string& stage) {
        const int percent = int(fraction * 100);
        if (interactive && percent != lastPercent) {
            std::cerr << "\rLoading " << options.folder << ": " << stage << " " << percent << "%   " << std::flush;
            lastPercent = percent;
        }
        return !interrupted();
    });
    loadMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (interactive)
        std::cerr << "\r\033[K";
    const ModelInfo& info = model->info();
    if (info.isDemo)
        std::cerr << "Note: " << info.name << " is the demo model with random weights: its text is meaningless.\n";
    else if (info.isTrainedDemo)
        std::cerr << "Note: " << info.name << " is the demo model trained on synthetic shapes, not a real BLIP-2.\n";
    printWarnings(info.warnings);
    return model;
}

void printWarning(const std::string& text)
{
    if (!text.empty())
        std::cerr << "Warning: " << text << "\n";
}

void printWarnings(const std::vector<std::string>& texts)
{
    for (const auto& text : texts)
        printWarning(text);
}

}  // namespace querylens::cli
