// The window as a child process that test_chat_sessions kills with SIGKILL in the middle of an
// answer. It loads the model, opens the image, asks every question but the last and prints each
// answer as a JSON line {"turn", "text"}; then it asks the last one, waits until the turn in
// progress is on disk (the save an answer makes when it starts), prints "answering" and blocks
// its GUI thread on stdin, so that the worker's result is never recorded: what the parent kills
// is a window whose answer has started and not ended, every time.
//   chat_window_child MODEL_FOLDER IMAGE QUESTION... LAST_QUESTION

#include "chat/chat_controller.h"
#include "decoding_panel.h"
#include "isolated_settings.h"
#include "main_window.h"

#include <QApplication>
#include <QJsonDocument>
#include <QJsonObject>

#include <cstdio>
#include <unistd.h>

using namespace querylens;
using namespace querylens::ui;

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    testsupport::isolateSettings();  // in the parent suite's folder, never the user's
    const QStringList args = app.arguments().mid(1);
    if (args.size() < 3) {
        std::fprintf(stderr, "usage: chat_window_child MODEL_FOLDER IMAGE QUESTION... LAST_QUESTION\n");
        return 2;
    }
    const QString image = args[1];
    const QStringList questions = args.mid(2);
    MainWindow window;
    window.show();
    DecodingOptions options;
    options.maxNewTokens = 8;
    window.decodingPanel()->setOptions(options);

    int asked = 0;
    auto askNext = [&] {
        const QString question = questions[asked++];
        window.chat()->ask(question);
        if (asked < questions.size())
            return;
        // The last question: its turn is saved as in progress before the worker starts on it.
        window.chat()->flushSaves();
        std::printf("answering\n");
        std::fflush(stdout);
        char byte;
        while (::read(STDIN_FILENO, &byte, 1) > 0) {  // the parent never writes: this ends by SIGKILL
        }
        std::_Exit(3);
    };
    QObject::connect(&window, &MainWindow::modelReady, &window, [&] { window.openImages({image}); });
    QObject::connect(&window, &MainWindow::captionFinished, &window, [&](int) { askNext(); });
    QObject::connect(&window, &MainWindow::answerFinished, &window, [&](int) {
        const Conversation* c = window.library()->current()->conversation.get();
        const Turn& t = *c->find(c->activePath().back());
        const QJsonObject line{{QStringLiteral("turn"), t.id}, {QStringLiteral("text"), QString::fromStdString(t.answer)},
                               {QStringLiteral("session"), QString::fromStdString(c->name)}};
        std::printf("%s\n", QJsonDocument(line).toJson(QJsonDocument::Compact).constData());
        std::fflush(stdout);
        askNext();
    });
    LoadOptions load;
    load.folder = args[0].toStdString();
    window.loadModel(load);
    return app.exec();
}
