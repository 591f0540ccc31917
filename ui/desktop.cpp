#include "desktop.h"

#include "main_window.h"
#include "querylens/checkpoints.h"
#include "querylens/demo_model.h"
#include "worker/worker_types.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QIcon>
#include <QProcessEnvironment>
#include <QSettings>

#include <cstdlib>
#include <iostream>
#include <utility>

namespace querylens {

namespace {

const char* const kNoDisplay =
    "the window needs a desktop session.\nThe command line works without one: querylens --help\n";

// Qt ends the process with qFatal (abort, exit 134, a core dump) when no platform plugin can
// start, e.g. DISPLAY names an X server that is gone. While the application is made, its
// messages are held back; a fatal one becomes the message above and exit code 1.
QtMessageHandler g_previousHandler = nullptr;
QList<std::pair<QtMsgType, QString>> g_heldMessages;

void startupMessageHandler(QtMsgType type, const QMessageLogContext& context, const QString& message)
{
    if (type != QtFatalMsg) {
        g_heldMessages.append({type, message});
        return;
    }
    std::cerr << "querylens: cannot open the window: " << message.section(QLatin1Char('\n'), 0, 0).toStdString()
              << "\n";
    for (const auto& [heldType, held] : g_heldMessages)
        if (heldType != QtDebugMsg)
            std::cerr << "  " << held.toStdString() << "\n";
    std::cerr << "querylens: " << kNoDisplay;
    std::cerr.flush();
    (void)context;
    std::_Exit(1);
}

bool hasDisplay()
{
    return !qEnvironmentVariableIsEmpty("DISPLAY") || !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY") ||
           !qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
}

}  // namespace

int runDesktop(int argc, char** argv)
{
    if (!hasDisplay()) {
        std::cerr << "querylens: no display found (DISPLAY and WAYLAND_DISPLAY are unset): " << kNoDisplay;
        return 1;
    }
    g_previousHandler = qInstallMessageHandler(startupMessageHandler);
    QApplication app(argc, argv);
    qInstallMessageHandler(g_previousHandler);
    for (const auto& [type, message] : g_heldMessages)
        if (g_previousHandler)
            g_previousHandler(type, QMessageLogContext(), message);
        else
            std::cerr << message.toStdString() << "\n";
    g_heldMessages.clear();
    QApplication::setApplicationName(QStringLiteral("QueryLens"));
    QApplication::setOrganizationName(QStringLiteral("QueryLens"));
    QApplication::setApplicationVersion(QStringLiteral(QUERYLENS_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/querylens/icon.png")));
    ui::registerWorkerTypes();

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("QueryLens: BLIP-2 captions, visual questions and Q-Former "
                                                    "attention, on your own machine. Commands: querylens --help"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOption({{QStringLiteral("m"), QStringLiteral("model")},
                      QStringLiteral("BLIP-2 checkpoint folder to load at start."), QStringLiteral("DIR")});
    parser.addOption({QStringLiteral("precision"), QStringLiteral("fp32, bf16 or int8 (default: the last used)."),
                      QStringLiteral("P")});
    parser.addPositionalArgument(QStringLiteral("IMAGE"), QStringLiteral("Images to open."), QStringLiteral("[IMAGE...]"));
    parser.process(app);

    ui::MainWindow window;
    window.show();

    // The model: the command line, else $QUERYLENS_MODEL, else the one used last time.
    QSettings settings;
    QString folder = parser.value(QStringLiteral("model"));
    if (folder.isEmpty())
        folder = QProcessEnvironment::systemEnvironment().value(QStringLiteral("QUERYLENS_MODEL"));
    if (folder.isEmpty())
        folder = settings.value(QStringLiteral("model/folder")).toString();
    if (folder.isEmpty()) {
        // Nothing named: a Hub checkpoint if there is one, else the demo model if it was made.
        for (const auto& checkpoint : findHubCheckpoints())
            if (checkpoint.problem.empty()) {
                folder = QString::fromStdString(checkpoint.folder);
                break;
            }
        if (folder.isEmpty() && QDir(QString::fromStdString(defaultDemoModelFolder())).exists(QStringLiteral("config.json")))
            folder = QString::fromStdString(defaultDemoModelFolder());
    }
    if (folder.isEmpty())
        window.offerModel();
    if (!folder.isEmpty()) {
        LoadOptions options;
        options.folder = QDir::cleanPath(folder).toStdString();
        const QString precision =
            parser.isSet(QStringLiteral("precision")) ? parser.value(QStringLiteral("precision"))
                                                      : settings.value(QStringLiteral("model/precision"), QStringLiteral("fp32")).toString();
        options.precision = parsePrecision(precision.toStdString()).value_or(Precision::Float32);
        window.loadModel(options);
    }
    if (!parser.positionalArguments().isEmpty())
        window.openImages(parser.positionalArguments());
    return app.exec();
}

}  // namespace querylens
