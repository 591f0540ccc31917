#pragma once
// What the conversation suites share: a window with the fixture model loaded, settings and
// sessions in temporary folders, and small drivers for the chat pane's real widgets.

#include "chat/chat_controller.h"
#include "chat/chat_pane.h"
#include "chat/conversation_view.h"
#include "chat/question_edit.h"
#include "chat/turn_widget.h"
#include "decoding_panel.h"
#include "fixtures.h"
#include "isolated_settings.h"
#include "main_window.h"

#include <QApplication>
#include <QMimeData>
#include <QSignalSpy>
#include <QToolButton>
#include <QtTest>

namespace chattest {

using namespace querylens;
using namespace querylens::ui;

constexpr int kTimeoutMs = 120000;  // a generous bound for a loaded CI machine, not a speed limit

inline QString fixture(const std::string& relative) { return QString::fromStdString(testsupport::fixturePath(relative)); }

// Keeps the user's settings and sessions out of a suite: settings and folders of its own
// (isolated_settings.h) and the sessions in `sessionsFolder`.
inline void keepTheUserOut(const QString& sessionsFolder)
{
    testsupport::isolateSettings();
    qputenv("QUERYLENS_SESSIONS_DIR", sessionsFolder.toUtf8());
}

// Greedy decoding of `tokens` tokens, as the reference used.
inline DecodingOptions greedy(int tokens = 8)
{
    DecodingOptions options;
    options.maxNewTokens = tokens;
    return options;
}

// A window on the fixture model (or `folder`), shown at a size that gives the chat room.
struct LoadedWindow {
    MainWindow window;
    explicit LoadedWindow(const std::string& folder = testsupport::fixturePath("tiny-opt"), bool load = true)
    {
        window.resize(1400, 860);
        window.show();
        window.decodingPanel()->setOptions(greedy());
        if (!load)
            return;
        QSignalSpy ready(&window, &MainWindow::modelReady);
        LoadOptions options;
        options.folder = folder;
        window.loadModel(options);
        if (!ready.wait(kTimeoutMs))
            qFatal("the model did not load");
    }
    ChatPane* pane() const { return window.chatPane(); }
    ConversationView* view() const { return window.chatPane()->view(); }
    const Conversation* conversation() const
    {
        const ImageDocument* d = const_cast<MainWindow&>(window).library()->current();
        return d ? d->conversation.get() : nullptr;
    }
};

// Opens the fixture image and waits for its caption (which also encodes it).
inline bool openFixtureImage(MainWindow& window, const QString& path = fixture("image.png"))
{
    QSignalSpy captioned(&window, &MainWindow::captionFinished);
    window.openImages({path});
    return captioned.wait(kTimeoutMs);
}

// Types a question into the question box and presses Enter, as a person does; waits for the answer.
inline bool askByKeyboard(LoadedWindow& loaded, const QString& question)
{
    QSignalSpy answered(&loaded.window, &MainWindow::answerFinished);
    QuestionEdit* box = loaded.pane()->questionEdit();
    box->setFocus();
    QTest::keyClicks(box, question);
    QTest::keyClick(box, Qt::Key_Return);
    return answered.wait(kTimeoutMs);
}

// Clicks a button of a turn on screen (by object name) and waits for an answer if one follows.
inline QToolButton* turnButton(LoadedWindow& loaded, int turnId, const QString& name)
{
    TurnWidget* turn = loaded.view()->turn(turnId);
    return turn ? turn->findChild<QToolButton*>(name) : nullptr;
}

inline void dropFile(QWidget* target, const QString& path)
{
    QMimeData data;
    data.setUrls({QUrl::fromLocalFile(path)});
    const QPoint at = target->rect().center();
    QDragEnterEvent enter(at, Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent drop(QPointF(at), Qt::CopyAction, &data, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(target, &drop);
}

}  // namespace chattest
