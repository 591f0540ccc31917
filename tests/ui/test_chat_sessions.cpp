// Conversations that are kept, in the real window: saved when an answer starts and when it ends;
// reloaded, versions and all, after the window is destroyed and made again (from the recent
// sessions it offers); a chat killed with SIGKILL in the middle of an answer shows its earlier
// turns intact and the last marked interrupted; export -> import -> export gives the same bytes;
// corrupt and future files are reported and left alone; a session whose image moved asks for it;
// one whose model is missing says which it needs; one open elsewhere is read-only.

#include "chat_window_support.h"
#include "isolated_settings.h"
#include "killed_chat.h"
#include "message_bar.h"
#include "screenshots.h"

#include <QFile>
#include <QLabel>
#include <QListWidget>
#include <QProcess>
#include <QPushButton>
#include <QTemporaryDir>

#include <nlohmann/json.hpp>

using namespace chattest;

namespace {

QByteArray fileBytes(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

// Waits for the recent sessions the empty chat pane offers, and double-clicks the one named.
void openFromRecent(LoadedWindow& loaded, const QString& name)
{
    QListWidget* recent = loaded.pane()->recentList();
    QListWidgetItem* found = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT(([&] {
                                 for (int i = 0; i < recent->count(); ++i)
                                     if (recent->item(i)->data(Qt::UserRole).toString() == name)
                                         found = recent->item(i);
                                 return found != nullptr;
                             }()),
                             kTimeoutMs);
    const QRect rect = recent->visualItemRect(found);
    QTest::mouseClick(recent->viewport(), Qt::LeftButton, {}, rect.center());
    QTest::mouseDClick(recent->viewport(), Qt::LeftButton, {}, rect.center());
    QTRY_VERIFY_WITH_TIMEOUT(loaded.conversation() && loaded.conversation()->name == name.toStdString(), kTimeoutMs);
}

// A conversation of two turns about `image`, in a window that is then closed. Returns its name.
QString makeConversation(const QString& image, QString* transcript = nullptr)
{
    LoadedWindow loaded;
    if (!openFixtureImage(loaded.window, image) || !askByKeyboard(loaded, QStringLiteral("what is in the picture?")) ||
        !askByKeyboard(loaded, QStringLiteral("what colour is it?")))
        return {};
    if (transcript)
        *transcript = loaded.pane()->transcriptText();
    return QString::fromStdString(loaded.conversation()->name);
}

}  // namespace

class TestChatSessions : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        testsupport::isolateSettings();
    }

    void init()
    {
        // Each test its own sessions folder.
        sessions_ = std::make_unique<QTemporaryDir>();
        qputenv("QUERYLENS_SESSIONS_DIR", sessions_->filePath(QStringLiteral("sessions")).toUtf8());
    }

    void savedWhenAnAnswerStartsAndEnds()
    {
        LoadedWindow loaded;
        QVERIFY(openFixtureImage(loaded.window));
        QSignalSpy saved(loaded.window.chat(), &ChatController::sessionSaved);
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what is in the picture?")));
        // Two saves: the turn in progress, then the answer.
        QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 2, kTimeoutMs);
        const Conversation onDisk = SessionStore().load(loaded.conversation()->name);
        QCOMPARE(onDisk.turns().size(), std::size_t(1));
        QCOMPARE(onDisk.turns().front().state, TurnState::Complete);
        QCOMPARE(onDisk.turns().front().answer, loaded.conversation()->turns().front().answer);
        QCOMPARE(QString::fromStdString(onDisk.image.path), QFileInfo(fixture("image.png")).absoluteFilePath());
        QCOMPARE(onDisk.model.name, std::string("tiny-opt"));
        // The token report, with attention to the queries, is kept for the explorer and the comparison.
        QCOMPARE(onDisk.turns().front().result.sequences.front().tokens.front().queryAttention.size(), std::size_t(32));
    }

    void aSessionReloadsAfterTheWindowIsRecreated()
    {
        QString before;
        std::vector<int> path;
        QString name;
        {
            LoadedWindow loaded;
            QVERIFY(openFixtureImage(loaded.window));
            QVERIFY(askByKeyboard(loaded, QStringLiteral("what is in the picture?")));
            QVERIFY(askByKeyboard(loaded, QStringLiteral("what colour is it?")));
            // A second version of the second turn.
            QSignalSpy answered(&loaded.window, &MainWindow::answerFinished);
            loaded.window.chat()->ask(QStringLiteral("what colour is the sofa?"), 2);
            QVERIFY(answered.wait(kTimeoutMs));
            before = loaded.pane()->transcriptText();
            path = loaded.conversation()->activePath();
            name = QString::fromStdString(loaded.conversation()->name);
        }  // destroyed: pending saves are written first

        LoadedWindow loaded;
        saveScreenshot(loaded.window, QStringLiteral("23-recent-conversations"));
        openFromRecent(loaded, name);
        if (QTest::currentTestFailed())
            return;
        QCOMPARE(loaded.conversation()->activePath(), path);
        QCOMPARE(loaded.pane()->transcriptText(), before);
        QCOMPARE(loaded.view()->turn(3)->findChild<QLabel*>(QStringLiteral("versionLabel"))->text(), QStringLiteral("2 / 2"));
        QVERIFY(loaded.pane()->noticeText().isEmpty());  // same image, same model
        // It goes on where it was: a follow-up continues the branch on screen.
        QVERIFY(askByKeyboard(loaded, QStringLiteral("is it big?")));
        QCOMPARE(loaded.conversation()->find(4)->parent, 3);
    }

    void aKilledChatShowsItsTurnsAndTheLastInterrupted()
    {
        const SessionStore store;
        testsupport::KilledChat killed;
        testsupport::killChatMidAnswer(
            QStringLiteral(QUERYLENS_BINARY),
            {QStringLiteral("chat"), fixture("image.png"), QStringLiteral("--session"), QStringLiteral("killed"),
             QStringLiteral("--model"), fixture("tiny-opt"), QStringLiteral("--max-new-tokens"), QStringLiteral("8"),
             QStringLiteral("--json")},
            {QStringLiteral("what is in the picture?"), QStringLiteral("what colour is it?")}, QStringLiteral("is it big?"),
            [&] {
                try {
                    const Conversation c = store.load("killed");
                    return c.turns().size() == 3 && c.find(3)->state == TurnState::InProgress;
                } catch (const std::exception&) {
                    return false;
                }
            },
            killed);
        if (QTest::currentTestFailed())
            return;
        QVERIFY(killed.killed);
        QList<nlohmann::json> answers;
        for (const QByteArray& line : killed.output.split('\n'))
            if (line.startsWith('{'))
                answers << nlohmann::json::parse(line.toStdString());
        QCOMPARE(answers.size(), 2);

        // The program starts again: the recent sessions say an answer was interrupted.
        LoadedWindow loaded;
        openFromRecent(loaded, QStringLiteral("killed"));
        if (QTest::currentTestFailed())
            return;
        const Conversation* c = loaded.conversation();
        QCOMPARE(c->activePath(), (std::vector<int>{1, 2, 3}));
        QCOMPARE(c->find(1)->answer, answers[0].at("text").get<std::string>());
        QCOMPARE(c->find(2)->answer, answers[1].at("text").get<std::string>());
        QCOMPARE(c->find(2)->state, TurnState::Complete);
        QCOMPARE(c->find(3)->state, TurnState::Interrupted);
        const QString note = loaded.view()->turn(3)->findChild<QLabel*>(QStringLiteral("answerNote"))->text();
        QVERIFY2(note.contains(QStringLiteral("interrupted")), qPrintable(note));
        QVERIFY2(loaded.window.messageBar()->text().contains(QStringLiteral("interrupted")), qPrintable(loaded.window.messageBar()->text()));
        saveScreenshot(loaded.window, QStringLiteral("25-interrupted-answer"));
        // Regenerating the interrupted turn answers it as a new version.
        QSignalSpy answered(&loaded.window, &MainWindow::answerFinished);
        turnButton(loaded, 3, QStringLiteral("regenerateAnswer"))->click();
        QVERIFY(answered.wait(kTimeoutMs));
        QCOMPARE(loaded.conversation()->children(2), (std::vector<int>{3, 4}));
        QCOMPARE(loaded.conversation()->find(4)->state, TurnState::Complete);
        loaded.window.chat()->flushSaves();
        QCOMPARE(store.load("killed").find(3)->state, TurnState::Interrupted);
    }

    // The same for the window itself: a child window asks two questions, then a third, and is
    // killed with SIGKILL once that turn is saved as in progress and before its answer is
    // recorded (chat_window_child blocks there). The window started again shows the two
    // answers the child printed, whole, and the third turn interrupted.
    void aKilledWindowShowsItsTurnsAndTheLastInterrupted()
    {
        QProcess child;
        child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        child.start(QStringLiteral(QUERYLENS_WINDOW_CHILD),
                    {fixture("tiny-opt"), fixture("image.png"), QStringLiteral("what is in the picture?"),
                     QStringLiteral("what colour is it?"), QStringLiteral("is it big?")});
        QVERIFY(child.waitForStarted(kTimeoutMs));
        QByteArray output;
        QSignalSpy more(&child, &QProcess::readyReadStandardOutput);
        while (!output.contains("answering\n") && child.state() == QProcess::Running) {
            if (!child.bytesAvailable() && !more.wait(kTimeoutMs))
                break;
            output += child.readAllStandardOutput();
        }
        QVERIFY2(output.contains("answering\n"), output.constData());
        QCOMPARE(child.state(), QProcess::Running);
        child.kill();  // SIGKILL
        QVERIFY(child.waitForFinished(kTimeoutMs));
        QCOMPARE(child.exitStatus(), QProcess::CrashExit);

        QList<nlohmann::json> answers;
        for (const QByteArray& line : output.split('\n'))
            if (line.startsWith('{'))
                answers << nlohmann::json::parse(line.toStdString());
        QCOMPARE(answers.size(), 2);
        const QString name = QString::fromStdString(answers[0].at("session").get<std::string>());
        const Conversation onDisk = SessionStore().load(name.toStdString());
        QCOMPARE(onDisk.find(3)->state, TurnState::InProgress);  // as the kill left it

        LoadedWindow loaded;
        openFromRecent(loaded, name);
        if (QTest::currentTestFailed())
            return;
        const Conversation* c = loaded.conversation();
        QCOMPARE(c->activePath(), (std::vector<int>{1, 2, 3}));
        for (int turn = 1; turn <= 2; ++turn) {
            QCOMPARE(c->find(turn)->state, TurnState::Complete);
            QCOMPARE(c->find(turn)->answer, answers[turn - 1].at("text").get<std::string>());
            QCOMPARE(loaded.view()->turn(turn)->answerText().toStdString(), c->find(turn)->answer);
        }
        QCOMPARE(c->find(3)->question, std::string("is it big?"));
        QCOMPARE(c->find(3)->state, TurnState::Interrupted);
        const QString note = loaded.view()->turn(3)->findChild<QLabel*>(QStringLiteral("answerNote"))->text();
        QVERIFY2(note.contains(QStringLiteral("interrupted")), qPrintable(note));
    }

    void exportThenImportIsIdentical()
    {
        LoadedWindow loaded;
        QVERIFY(openFixtureImage(loaded.window));
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what is in the picture?")));
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what colour is it?")));
        QTemporaryDir out;
        const QString json = out.filePath(QStringLiteral("cats.json")), markdown = out.filePath(QStringLiteral("cats.md"));
        loaded.window.chat()->exportCurrent(json, false);
        loaded.window.chat()->exportCurrent(markdown, true);
        loaded.window.chat()->flushSaves();
        QVERIFY(fileBytes(markdown).contains("**You:** what colour is it?"));
        const QByteArray exported = fileBytes(json);
        QVERIFY(exported.startsWith("{"));

        const std::string original = loaded.conversation()->name;
        loaded.window.chat()->importFile(json);
        QTRY_VERIFY_WITH_TIMEOUT(loaded.conversation() && loaded.conversation()->name == "cats", kTimeoutMs);
        QCOMPARE(loaded.pane()->transcriptText().isEmpty(), false);
        const QString again = out.filePath(QStringLiteral("cats-again.json"));
        loaded.window.chat()->exportCurrent(again, false);
        loaded.window.chat()->flushSaves();
        QCOMPARE(fileBytes(again), exported);
        QVERIFY(original != "cats");
    }

    void badFilesAreReportedAndKept_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QString>("problem");
        QTest::newRow("corrupt") << QByteArray("{\"format\": \"querylens-session/1\", \"turns\": [{") << QStringLiteral("is not valid JSON");
        QTest::newRow("future") << QByteArray("{\"format\": \"querylens-session/4\"}") << QStringLiteral("newer QueryLens");
    }
    void badFilesAreReportedAndKept()
    {
        QFETCH(QByteArray, content);
        QFETCH(QString, problem);
        const QString folder = sessions_->filePath(QStringLiteral("sessions"));
        QDir().mkpath(folder);
        const QString path = folder + QStringLiteral("/bad.json");
        {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(content);
        }
        {
            LoadedWindow loaded;
            QListWidget* recent = loaded.pane()->recentList();
            QTRY_VERIFY_WITH_TIMEOUT(recent->count() > 0 && recent->item(0)->data(Qt::UserRole).toString() == QStringLiteral("bad"),
                                     kTimeoutMs);
            QVERIFY2(recent->item(0)->text().contains(problem), qPrintable(recent->item(0)->text()));
            QVERIFY(!loaded.window.chat()->openSession(QStringLiteral("bad")));
            QVERIFY2(loaded.window.messageBar()->text().contains(problem) &&
                         loaded.window.messageBar()->text().contains(QStringLiteral("bad.json")),
                     qPrintable(loaded.window.messageBar()->text()));
            // A new conversation in the same window gets its own file.
            QVERIFY(openFixtureImage(loaded.window));
            QVERIFY(askByKeyboard(loaded, QStringLiteral("what is in the picture?")));
        }
        QCOMPARE(fileBytes(path), content);
    }

    void aMovedImageIsAskedFor()
    {
        QTemporaryDir photos;
        const QString first = photos.filePath(QStringLiteral("cats.png"));
        QVERIFY(QFile::copy(fixture("image.png"), first));
        const QString name = makeConversation(first);
        QVERIFY(!name.isEmpty());
        const QString moved = photos.filePath(QStringLiteral("renamed-cats.png"));
        QVERIFY(QFile::rename(first, moved));

        LoadedWindow loaded;
        QVERIFY(loaded.window.chat()->openSession(name));
        QTRY_VERIFY_WITH_TIMEOUT(loaded.conversation() != nullptr, kTimeoutMs);
        QVERIFY2(loaded.pane()->noticeText().contains(first), qPrintable(loaded.pane()->noticeText()));
        auto* locate = loaded.pane()->findChild<QPushButton*>(QStringLiteral("chatNoticeAction"));
        QVERIFY(locate && locate->isVisible());
        QVERIFY(!loaded.pane()->findChild<QPushButton*>(QStringLiteral("sendQuestion"))->isEnabled());
        QCOMPARE(loaded.view()->turns().size(), 2);  // the conversation shows all the same
        saveScreenshot(loaded.window, QStringLiteral("26-image-moved"));

        QSignalSpy captioned(&loaded.window, &MainWindow::captionFinished);
        loaded.window.chat()->locateImage(moved);
        QVERIFY(captioned.wait(kTimeoutMs));
        QVERIFY(!loaded.window.library()->current()->image.isNull());
        QVERIFY(loaded.pane()->noticeText().isEmpty());
        QCOMPARE(loaded.conversation()->image.path, moved.toStdString());
        QVERIFY(askByKeyboard(loaded, QStringLiteral("and now?")));
        loaded.window.chat()->flushSaves();
        QCOMPARE(SessionStore().load(name.toStdString()).image.path, moved.toStdString());
    }

    void aMissingModelIsNamed()
    {
        const QString name = makeConversation(fixture("image.png"));
        QVERIFY(!name.isEmpty());
        const SessionStore store;
        Conversation other = store.load(name.toStdString());
        other.name = "needs-6.7b";
        other.model = {"Salesforce/blip2-opt-6.7b", "/nowhere/models--Salesforce--blip2-opt-6.7b", "OPT", "bf16"};
        store.save(other);
        other.name = "needs-t5";
        other.model = {"tiny-t5", testsupport::fixturePath("tiny-t5"), "Flan-T5", "fp32"};
        store.save(other);

        LoadedWindow loaded;
        QVERIFY(loaded.window.chat()->openSession(QStringLiteral("needs-6.7b")));
        QTRY_VERIFY_WITH_TIMEOUT(loaded.conversation() && loaded.conversation()->name == "needs-6.7b", kTimeoutMs);
        const QString notice = loaded.pane()->noticeText();
        QVERIFY2(notice.contains(QStringLiteral("Salesforce/blip2-opt-6.7b")) && notice.contains(QStringLiteral("not on this machine")),
                 qPrintable(notice));

        // A model that is here is offered, and loads.
        QVERIFY(loaded.window.chat()->openSession(QStringLiteral("needs-t5")));
        QTRY_VERIFY_WITH_TIMEOUT(loaded.conversation() && loaded.conversation()->name == "needs-t5", kTimeoutMs);
        auto* load = loaded.pane()->findChild<QPushButton*>(QStringLiteral("chatNoticeAction"));
        QVERIFY2(load && load->isVisible() && load->text().contains(QStringLiteral("tiny-t5")), qPrintable(loaded.pane()->noticeText()));
        QUERYLENS_SKIP_T5_UNDER_ASAN("tiny-t5");
        QSignalSpy ready(&loaded.window, &MainWindow::modelReady);
        load->click();
        QVERIFY(ready.wait(kTimeoutMs));
        QTRY_VERIFY_WITH_TIMEOUT(loaded.pane()->noticeText().isEmpty(), kTimeoutMs);
    }

    void aSessionOpenElsewhereIsReadOnly()
    {
        const QString name = makeConversation(fixture("image.png"));
        QVERIFY(!name.isEmpty());
        const auto elsewhere = SessionLock::tryAcquire(SessionStore(), name.toStdString());
        QVERIFY(elsewhere);
        LoadedWindow loaded;
        QVERIFY(loaded.window.chat()->openSession(name));
        QTRY_VERIFY_WITH_TIMEOUT(loaded.conversation() != nullptr, kTimeoutMs);
        QVERIFY2(loaded.pane()->noticeText().contains(QStringLiteral("read-only")), qPrintable(loaded.pane()->noticeText()));
        QVERIFY(!turnButton(loaded, 2, QStringLiteral("editQuestion"))->isEnabled());
        QVERIFY(!turnButton(loaded, 2, QStringLiteral("regenerateAnswer"))->isEnabled());
        QVERIFY(!loaded.pane()->findChild<QPushButton*>(QStringLiteral("sendQuestion"))->isEnabled());
    }

private:
    std::unique_ptr<QTemporaryDir> sessions_;
};

QTEST_MAIN(TestChatSessions)
#include "test_chat_sessions.moc"
