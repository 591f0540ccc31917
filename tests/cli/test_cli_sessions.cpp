// Saved conversations from the command line: `chat --session` creates a session, continues it
// with the whole conversation in the prompt, and saves as it goes, so that a chat killed in the
// middle of an answer leaves the earlier turns intact and the last one marked interrupted;
// `sessions` lists, shows, exports, imports and deletes them; bad files, a different image and
// a session open elsewhere are refused with a message naming the file, and never overwritten.

#include "cli_runner.h"
#include "fixtures.h"
#include "killed_chat.h"
#include "querylens/session_store.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <sstream>

using nlohmann::json;
using namespace querylens;

namespace {

QString fixture(const std::string& relative) { return QString::fromStdString(testsupport::fixturePath(relative)); }

QList<json> reports(const QByteArray& out)
{
    QList<json> list;
    for (const QByteArray& line : out.split('\n'))
        if (line.startsWith('{'))
            list.append(json::parse(line.toStdString()));
    return list;
}

QByteArray fileBytes(const QString& path)
{
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

QStringList chatArguments(const QString& session, bool withImage = true)
{
    QStringList arguments{QStringLiteral("chat")};
    if (withImage)
        arguments << fixture("image.png");
    arguments << QStringLiteral("--session") << session << QStringLiteral("--max-new-tokens") << QStringLiteral("6")
              << QStringLiteral("--json");
    return arguments;
}

}  // namespace

class TestCliSessions : public QObject {
    Q_OBJECT

private slots:
    void init()
    {
        dir_ = std::make_unique<QTemporaryDir>();
        qputenv("QUERYLENS_SESSIONS_DIR", dir_->filePath(QStringLiteral("sessions")).toUtf8());
        qputenv("QUERYLENS_MODEL", QByteArray());
    }

    void chatSessionIsSavedAndContinued()
    {
        CliRun run = runQuerylens(chatArguments(QStringLiteral("kitchen")) << QStringLiteral("--model") << fixture("tiny-opt"),
                                  "what is in the picture?\nwhat colour is it?\n");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const QList<json> first = reports(run.out);
        QCOMPARE(first.size(), 2);

        SessionStore store;
        Conversation saved = store.load("kitchen");
        QCOMPARE(saved.activePath().size(), std::size_t(2));
        QCOMPARE(saved.find(2)->answer, first[1].at("text").get<std::string>());
        QCOMPARE(saved.find(2)->state, TurnState::Complete);
        QCOMPARE(saved.find(2)->result.reusedPositions, first[1].at("reused_positions").get<int>());
        QCOMPARE(saved.model.name, std::string("tiny-opt"));
        QCOMPARE(saved.image.sha256.size(), std::size_t(64));

        // Continued without the image or the model: both come from the session. The prompt
        // holds both earlier turns.
        run = runQuerylens(chatArguments(QStringLiteral("kitchen"), false), "is it big?\n");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QVERIFY2(run.err.contains("2 turns"), run.err.constData());
        const json third = reports(run.out).at(0);
        const std::string prompt = third.at("prompt").get<std::string>();
        QVERIFY2(prompt.rfind("Question: what is in the picture? Answer: ", 0) == 0, prompt.c_str());
        QVERIFY2(prompt.find("Question: what colour is it? Answer: " + first[1].at("text").get<std::string>()) !=
                     std::string::npos,
                 prompt.c_str());
        saved = store.load("kitchen");
        QCOMPARE(saved.activePath(), (std::vector<int>{1, 2, 3}));

        // /clear starts a second branch beside the first question; the first stays.
        run = runQuerylens(chatArguments(QStringLiteral("kitchen"), false), "/clear\nhow many cats?\n");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QCOMPARE(reports(run.out).at(0).at("prompt").get<std::string>(), std::string("Question: how many cats? Answer:"));
        saved = store.load("kitchen");
        QCOMPARE(saved.children(0), (std::vector<int>{1, 4}));
        QCOMPARE(saved.activePath(), (std::vector<int>{4}));
    }

    void killedMidAnswerKeepsTheEarlierTurns()
    {
        SessionStore store;
        testsupport::KilledChat killed;
        auto lastTurnInProgress = [&] {
            try {
                const Conversation c = store.load("killed");
                return c.turns().size() == 3 && c.find(3)->state == TurnState::InProgress;
            } catch (const std::exception&) {
                return false;  // not written yet
            }
        };
        testsupport::killChatMidAnswer(QStringLiteral(QUERYLENS_BINARY),
                                       chatArguments(QStringLiteral("killed")) << QStringLiteral("--model") << fixture("tiny-opt"),
                                       {QStringLiteral("what is in the picture?"), QStringLiteral("what colour is it?")},
                                       QStringLiteral("is it big?"), lastTurnInProgress, killed);
        if (QTest::currentTestFailed())
            return;
        QVERIFY(killed.killed);
        const QList<json> answered = reports(killed.output);
        QCOMPARE(answered.size(), 2);

        // On disk: two whole turns, the third in progress (nobody holds the session now).
        Conversation c = store.load("killed");
        QCOMPARE(c.find(1)->answer, answered[0].at("text").get<std::string>());
        QCOMPARE(c.find(2)->answer, answered[1].at("text").get<std::string>());
        QCOMPARE(c.find(2)->state, TurnState::Complete);
        QCOMPARE(c.find(3)->question, std::string("is it big?"));
        QCOMPARE(c.find(3)->answer, std::string());

        CliRun run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("list"), QStringLiteral("--json")});
        QCOMPARE(json::parse(run.out.toStdString()).at("sessions").at(0).at("interrupted").get<int>(), 1);

        // The next chat marks it interrupted, says so, and asks after the two whole turns.
        run = runQuerylens(chatArguments(QStringLiteral("killed"), false), "is it big?\n");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QVERIFY2(run.err.contains("1 answer was interrupted"), run.err.constData());
        const std::string prompt = reports(run.out).at(0).at("prompt").get<std::string>();
        QVERIFY2(prompt.find("what colour is it? Answer: " + answered[1].at("text").get<std::string>()) != std::string::npos,
                 prompt.c_str());
        c = store.load("killed");
        QCOMPARE(c.find(3)->state, TurnState::Interrupted);
        QCOMPARE(c.find(4)->state, TurnState::Complete);
        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("show"), QStringLiteral("killed")});
        QVERIFY2(run.out.contains("interrupted: the program ended before this answer was finished"), run.out.constData());
    }

    void sessionsAreListedShownExportedImportedAndDeleted()
    {
        CliRun run = runQuerylens({QStringLiteral("sessions")});
        QVERIFY2(run.exitCode == 0 && run.out.contains("No sessions"), run.out.constData());
        run = runQuerylens(chatArguments(QStringLiteral("kitchen")) << QStringLiteral("--model") << fixture("tiny-opt"),
                           "what is in the picture?\n");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const std::string answer = reports(run.out).at(0).at("text").get<std::string>();

        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("list")});
        QVERIFY(run.out.contains("kitchen") && run.out.contains("tiny-opt") && run.out.contains("what is in the picture?"));

        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("show"), QStringLiteral("kitchen")});
        QVERIFY2(run.out.contains(QByteArray("**BLIP-2:** ") + answer.c_str()), run.out.constData());

        const QString exported = dir_->filePath(QStringLiteral("kitchen-copy.json"));
        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("export"), QStringLiteral("kitchen"),
                            QStringLiteral("--format"), QStringLiteral("json"), QStringLiteral("--out"), exported});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("import"), exported});
        QVERIFY2(run.exitCode == 0 && run.out.contains("as session kitchen-copy"), run.out.constData());
        // Export -> import -> export is identical, byte for byte.
        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("export"), QStringLiteral("kitchen-copy"),
                            QStringLiteral("--format"), QStringLiteral("json")});
        QCOMPARE(run.out, fileBytes(exported));
        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("export"), QStringLiteral("kitchen"),
                            QStringLiteral("--format"), QStringLiteral("md")});
        QVERIFY(run.out.startsWith("# what is in the picture?"));

        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("delete"), QStringLiteral("kitchen-copy")});
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QVERIFY(!SessionStore().exists("kitchen-copy"));
        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("delete"), QStringLiteral("kitchen-copy")});
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("no session named"), run.err.constData());
    }

    void badSessionFilesAreRefusedAndKept_data()
    {
        QTest::addColumn<QByteArray>("content");
        QTest::addColumn<QByteArray>("problem");
        QTest::newRow("corrupt") << QByteArray("{\"format\": \"querylens-session/1\", \"turns\": [") << QByteArray("is not valid JSON");
        QTest::newRow("future") << QByteArray("{\"format\": \"querylens-session/9\", \"turns\": []}")
                                << QByteArray("was written by a newer QueryLens");
    }
    void badSessionFilesAreRefusedAndKept()
    {
        QFETCH(QByteArray, content);
        QFETCH(QByteArray, problem);
        const QString folder = dir_->filePath(QStringLiteral("sessions"));
        QDir().mkpath(folder);
        const QString path = folder + QStringLiteral("/bad.json");
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(content);
        file.close();
        CliRun run = runQuerylens(chatArguments(QStringLiteral("bad")) << QStringLiteral("--model") << fixture("tiny-opt"),
                                  "what is in the picture?\n");
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains(problem) && run.err.contains("bad.json"), run.err.constData());
        QCOMPARE(fileBytes(path), content);
        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("list")});
        QVERIFY2(run.out.contains("cannot be read") && run.out.contains(problem), run.out.constData());
        run = runQuerylens({QStringLiteral("sessions"), QStringLiteral("show"), QStringLiteral("bad")});
        QCOMPARE(run.exitCode, 1);
        QCOMPARE(fileBytes(path), content);
    }

    void anotherImageOrAnOpenSessionIsRefused()
    {
        CliRun run = runQuerylens(chatArguments(QStringLiteral("kitchen")) << QStringLiteral("--model") << fixture("tiny-opt"),
                                  "what is in the picture?\n");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        const QString flipped = dir_->filePath(QStringLiteral("flipped.png"));
        QVERIFY(QImage(fixture("image.png")).mirrored(true, false).save(flipped));
        run = runQuerylens({QStringLiteral("chat"), flipped, QStringLiteral("--session"), QStringLiteral("kitchen")},
                           "and now?\n");
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("is not the image this session is about"), run.err.constData());

        // The same picture under another name is fine: the session follows it.
        const QString moved = dir_->filePath(QStringLiteral("moved.png"));
        QVERIFY(QFile::copy(fixture("image.png"), moved));
        run = runQuerylens({QStringLiteral("chat"), moved, QStringLiteral("--session"), QStringLiteral("kitchen")}, "and now?\n");
        QVERIFY2(run.exitCode == 0, run.err.constData());
        QCOMPARE(SessionStore().load("kitchen").image.path, moved.toStdString());

        const auto lock = SessionLock::tryAcquire(SessionStore(), "kitchen");
        QVERIFY(lock);
        run = runQuerylens(chatArguments(QStringLiteral("kitchen"), false), "and now?\n");
        QCOMPARE(run.exitCode, 1);
        QVERIFY2(run.err.contains("open in another QueryLens"), run.err.constData());
    }

    void usageErrorsExitWithTwo_data()
    {
        QTest::addColumn<QStringList>("arguments");
        QTest::newRow("unknown action") << QStringList{QStringLiteral("sessions"), QStringLiteral("frobnicate")};
        QTest::newRow("show without a name") << QStringList{QStringLiteral("sessions"), QStringLiteral("show")};
        QTest::newRow("bad format") << QStringList{QStringLiteral("sessions"), QStringLiteral("export"), QStringLiteral("x"),
                                                   QStringLiteral("--format"), QStringLiteral("pdf")};
        QTest::newRow("bad session name") << QStringList{QStringLiteral("chat"), fixture("image.png"), QStringLiteral("--session"),
                                                         QStringLiteral("../escape")};
        QTest::newRow("new session without image") << QStringList{QStringLiteral("chat"), QStringLiteral("--session"),
                                                                  QStringLiteral("fresh")};
    }
    void usageErrorsExitWithTwo()
    {
        QFETCH(QStringList, arguments);
        if (arguments.contains(QStringLiteral("pdf"))) {
            // The format is checked once the session is found.
            QVERIFY(runQuerylens(chatArguments(QStringLiteral("x")) << QStringLiteral("--model") << fixture("tiny-opt"), "hi?\n")
                        .exitCode == 0);
        }
        const CliRun run = runQuerylens(arguments, "hello?\n");
        QVERIFY2(run.exitCode == 2, run.err.constData());
    }

private:
    std::unique_ptr<QTemporaryDir> dir_;
};

QTEST_MAIN(TestCliSessions)
#include "test_cli_sessions.moc"
