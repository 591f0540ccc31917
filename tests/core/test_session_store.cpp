// Sessions on disk: the branch tree's operations, a file that reads back exactly as written
// (floats and all), export -> import -> export byte for byte, saves that a kill cannot tear,
// the previous save kept as a backup, corrupt and future files refused by name and left
// untouched, turns left in progress marked interrupted only by the process that holds the lock,
// and Markdown that shows every version of a turn.

#include "io/atomic_file.h"
#include "querylens/error.h"
#include "querylens/session_store.h"

#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace querylens;
namespace fs = std::filesystem;

namespace {

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

void writeFile(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

GenerationResult reportOf(const std::string& text, int reused)
{
    GenerationResult r;
    GeneratedSequence s;
    s.text = text;
    s.ids = {17, 42, 2};
    s.score = -1.25;
    for (int id : s.ids) {
        GeneratedToken t;
        t.id = id;
        t.text = " w" + std::to_string(id);
        t.probability = 1.0f / float(id);  // not exactly representable in decimal: checks exact floats
        t.alternatives = {{id, t.text, t.probability}, {7, " other", 0.1f / 3.0f}};
        for (int q = 0; q < 32; ++q)
            t.queryAttention.push_back(float(q + 1) / float(id * 97));
        s.tokens.push_back(t);
    }
    r.sequences = {s};
    r.stopReason = StopReason::EndOfSequence;
    r.promptTokens = 9;
    r.reusedPositions = reused;
    for (int q = 0; q < 32; ++q)
        r.queryIndices.push_back(q);
    r.timings = {12.5, 40.25, 90.0, 33.3};
    return r;
}

// q1 -> a1, then q2 answered twice (a regenerate) and q2' (an edit), the regenerated one
// continued by q3 left in progress.
Conversation sampleConversation(const std::string& name = "kitchen")
{
    Conversation c;
    c.name = name;
    c.created = "2026-12-05T10:00:00Z";
    c.image = {"/photos/kitchen.jpg", std::string(64, 'a'), 640, 480};
    c.model = {"Salesforce/blip2-opt-2.7b", "/models/opt", "OPT", "bf16"};
    DecodingOptions sampling;
    sampling.doSample = true;
    sampling.temperature = 0.7;
    sampling.seed = 18446744073709551557ull;  // needs all 64 bits
    const int t1 = c.addTurn(0, "what is on the table?", {}, "opt", "2026-12-05T10:00:01Z");
    c.turn(t1).answer = "a bowl of fruit";
    c.turn(t1).state = TurnState::Complete;
    c.turn(t1).result = reportOf("a bowl of fruit", 0);
    const int t2 = c.addTurn(t1, "what colour is the bowl?", {}, "opt", "2026-12-05T10:00:02Z");
    c.turn(t2).answer = "blue";
    c.turn(t2).state = TurnState::Complete;
    c.turn(t2).result = reportOf("blue", 51);
    const int t3 = c.addTurn(t1, "what colour is the bowl?", sampling, "opt", "2026-12-05T10:00:03Z");
    c.turn(t3).answer = "white with blue stripes";
    c.turn(t3).state = TurnState::Stopped;
    c.turn(t3).result = reportOf("white with blue stripes", 55);
    const int t4 = c.addTurn(t1, "what is in the bowl?", {}, "opt", "2026-12-05T10:00:04Z");
    c.turn(t4).state = TurnState::Failed;
    c.turn(t4).error = "the context is full";
    c.switchSibling(t4, -1);  // back to t3
    c.addTurn(t3, "is it full?", {}, "opt", "2026-12-05T10:00:05Z");
    c.updated = "2026-12-05T10:00:05Z";
    return c;
}

}  // namespace

class TestSessionStore : public QObject {
    Q_OBJECT

private slots:
    void init()
    {
        dir_ = std::make_unique<QTemporaryDir>();
        store_ = std::make_unique<SessionStore>(dir_->filePath(QStringLiteral("sessions")).toStdString());
    }

    void treeKeepsEveryVersionAndFollowsTheChosenBranch()
    {
        Conversation c = sampleConversation();
        QCOMPARE(c.activePath(), (std::vector<int>{1, 3, 5}));
        QCOMPARE(c.children(1), (std::vector<int>{2, 3, 4}));
        QCOMPARE(c.siblingPosition(3), std::make_pair(2, 3));
        QCOMPARE(c.title, std::string("what is on the table?"));
        // The prompt history of a question after turn 3 is turns 1 and 3; a turn without an
        // answer is left out of prompts.
        const auto history = c.historyUpTo(3);
        QCOMPARE(history.size(), std::size_t(2));
        QCOMPARE(history[1].answer, std::string("white with blue stripes"));
        QCOMPARE(c.historyUpTo(5).size(), std::size_t(2));
        // Arrows: one step left shows turn 2, whose branch ends there; the step right comes back
        // to turn 3 and the path chosen below it.
        QCOMPARE(c.switchSibling(3, -1), 2);
        QCOMPARE(c.activePath(), (std::vector<int>{1, 2}));
        QCOMPARE(c.switchSibling(2, -5), 2);  // clamped
        QCOMPARE(c.switchSibling(2, +1), 3);
        QCOMPARE(c.activePath(), (std::vector<int>{1, 3, 5}));
        c.activate(4);
        QCOMPARE(c.activeLeaf(), 4);
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, c.addTurn(99, "?", {}, "", ""));
    }

    void fileReadsBackExactly()
    {
        const Conversation c = sampleConversation();
        store_->save(c);
        const Conversation back = store_->load("kitchen");
        QCOMPARE(back.name, std::string("kitchen"));
        QCOMPARE(sessionToJson(back), sessionToJson(c));
        QCOMPARE(back.turns().size(), c.turns().size());
        const Turn& t = *back.find(2);
        const Turn& original = *c.find(2);
        QCOMPARE(t.result.sequences.front().tokens[1].probability, original.result.sequences.front().tokens[1].probability);
        QCOMPARE(t.result.sequences.front().tokens[2].queryAttention,
                 original.result.sequences.front().tokens[2].queryAttention);
        QCOMPARE(t.result.reusedPositions, 51);
        QCOMPARE(t.result.timings.firstTokenMs, 40.25);
        QCOMPARE(back.find(3)->options.seed, 18446744073709551557ull);
        QCOMPARE(back.find(3)->state, TurnState::Stopped);
        QCOMPARE(back.find(4)->error, std::string("the context is full"));
        QCOMPARE(back.activePath(), c.activePath());
        QCOMPARE(back.image.sha256, c.image.sha256);
    }

    void exportImportExportIsIdentical()
    {
        store_->save(sampleConversation());
        const std::string exported = sessionToJson(store_->load("kitchen"));
        const std::string file = dir_->filePath(QStringLiteral("kitchen-export.json")).toStdString();
        writeFile(file, exported);
        const std::string name = store_->importFile(file);
        QCOMPARE(name, std::string("kitchen-export"));
        QCOMPARE(sessionToJson(store_->load(name)), exported);
        // The same file again: a free name, never an overwrite.
        QCOMPARE(store_->importFile(file), std::string("kitchen-export-2"));
        QVERIFY_THROWS_EXCEPTION(Error, store_->importFile(file, "kitchen"));
    }

    void saveKeepsThePreviousVersionAsBackup()
    {
        Conversation c = sampleConversation();
        store_->save(c);
        const std::string first = readFile(store_->pathOf("kitchen"));
        c.turn(5).answer = "yes";
        c.turn(5).state = TurnState::Complete;
        store_->save(c);
        QCOMPARE(readFile(store_->pathOf("kitchen") + ".bak"), first);
        QCOMPARE(store_->load("kitchen").find(5)->answer, std::string("yes"));
        // Nothing else is left in the folder: no temporary files.
        QStringList names = QDir(QString::fromStdString(store_->folder())).entryList(QDir::Files | QDir::Hidden);
        names.sort();
        QCOMPARE(names, (QStringList{QStringLiteral("kitchen.json"), QStringLiteral("kitchen.json.bak")}));
    }

    // A process killed while it saves leaves the old file or the new one, whole.
    void killedWhileSavingLeavesAWholeFile()
    {
        // Two versions of a few megabytes, so that a kill lands inside a write.
        Conversation a = sampleConversation(), b = sampleConversation();
        for (int i = 0; i < 400; ++i) {
            const int id = a.addTurn(a.activeLeaf(), "question " + std::to_string(i), {}, "opt", "t");
            a.turn(id).result = reportOf(std::string(200, 'x'), i);
        }
        b.title = "the other version";
        store_->save(a);
        const std::string versionA = sessionToJson(a), versionB = sessionToJson(b);
        const std::string path = store_->pathOf("kitchen");
        for (int round = 0; round < 6; ++round) {
            int ready[2];
            QVERIFY(::pipe(ready) == 0);
            const pid_t child = ::fork();
            QVERIFY(child >= 0);
            if (child == 0) {
                ::close(ready[0]);
                for (int n = 0;; ++n) {
                    io::writeFileAtomically(path, n % 2 ? versionA : versionB, true);
                    if (::write(ready[1], "s", 1) != 1)
                        ::_exit(1);
                }
            }
            ::close(ready[1]);
            // Wait for `round + 1` completed saves, then kill during the next one.
            char byte;
            for (int i = 0; i <= round; ++i)
                QCOMPARE(::read(ready[0], &byte, 1), ssize_t(1));
            ::kill(child, SIGKILL);
            int status = 0;
            ::waitpid(child, &status, 0);
            ::close(ready[0]);
            const std::string text = readFile(path);
            QVERIFY2(text == versionA || text == versionB, "a torn session file");
            QCOMPARE(store_->load("kitchen").turns().size(), text == versionA ? a.turns().size() : b.turns().size());
        }
        // The killed writer's temporary file is not a session, and saving still works.
        const auto sessions = store_->list();
        QCOMPARE(sessions.size(), std::size_t(1));
        store_->save(b);
        QCOMPARE(readFile(path), versionB);
    }

    void badFilesAreRefusedByNameAndKept_data()
    {
        QTest::addColumn<QString>("content");
        QTest::addColumn<QString>("problem");
        const std::string good = sessionToJson(sampleConversation());
        auto replaced = [&](const std::string& from, const std::string& to) {
            std::string text = good;
            const auto at = text.find(from);
            if (at == std::string::npos)
                qFatal("%s not in the sample", from.c_str());
            return QString::fromStdString(text.replace(at, from.size(), to));
        };
        QTest::newRow("truncated") << QString::fromStdString(good.substr(0, good.size() / 2)) << "is not valid JSON";
        QTest::newRow("empty") << QString() << "is not valid JSON";
        QTest::newRow("number past a double (fuzz finding)")
            << replaced("\"parent\": 3", "\"parent\": 2061e308") << "is not valid JSON (number overflow parsing '2061e308')";
        // Numbers are checked before nlohmann converts them: 3.3e54 as an int was undefined behaviour
        // (a fuzz finding under UBSan), 2^32 + 3 quietly became 3, 1e300 as a float became inf.
        QTest::newRow("token id past an int (fuzz finding)")
            << replaced("\"ids\": [", "\"ids\": [3.3e54, ")
            << "'turns[0].report.sequences[0].ids[0]': expected an integer that fits in 32 bits, found 3.3e+54";
        QTest::newRow("parent past 32 bits") << replaced("\"parent\": 3", "\"parent\": 4294967299")
                                             << "'turns[4].parent': expected an integer that fits in 32 bits";
        QTest::newRow("attention past a float")
            << replaced("\"query_attention\": [", "\"query_attention\": [1e300, ")
            << "'turns[0].report.sequences[0].tokens[0].query_attention[0]': expected a number within a float's range";
        QTest::newRow("not a session") << QStringLiteral("{\"architectures\": []}") << "is not a QueryLens session";
        QTest::newRow("other format") << replaced("querylens-session/1", "querylens-attention/1") << "is not a QueryLens session";
        QTest::newRow("future version") << replaced("querylens-session/1", "querylens-session/7")
                                        << "was written by a newer QueryLens (querylens-session/7";
        QTest::newRow("no image") << replaced("\"image\"", "\"picture\"") << "'image': is missing";
        QTest::newRow("bad state") << replaced("\"stopped\"", "\"paused\"") << "'turns[2].state': is not a turn state";
        QTest::newRow("missing parent") << replaced("\"parent\": 3", "\"parent\": 9") << "'turns[4].parent': names no earlier turn";
        QTest::newRow("wrong type") << replaced("\"question\": \"is it full?\"", "\"question\": 5")
                                    << "'turns[4].question': has the wrong type";
    }
    void badFilesAreRefusedByNameAndKept()
    {
        QFETCH(QString, content);
        QFETCH(QString, problem);
        fs::create_directories(store_->folder());
        const std::string path = store_->pathOf("broken");
        writeFile(path, content.toStdString());
        try {
            store_->load("broken");
            QFAIL("a bad file was read");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.what()).contains(problem), e.what());
            QCOMPARE(e.file(), path);
        }
        // Listing says what is wrong and leaves the file as it was; other sessions still list.
        store_->save(sampleConversation());
        const auto sessions = store_->list();
        QCOMPARE(sessions.size(), std::size_t(2));
        const auto broken = std::find_if(sessions.begin(), sessions.end(), [](const auto& s) { return s.name == "broken"; });
        QVERIFY(broken != sessions.end());
        QVERIFY2(QString::fromStdString(broken->problem).contains(problem), broken->problem.c_str());
        QCOMPARE(QString::fromStdString(readFile(path)), content);
    }

    void aBrokenFileNamesItsBackup()
    {
        Conversation c = sampleConversation();
        store_->save(c);
        store_->save(c);
        writeFile(store_->pathOf("kitchen"), "{\"format\": \"querylens-session/1\", \"tur");
        try {
            store_->load("kitchen");
            QFAIL("a bad file was read");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.what()).contains("kitchen.json.bak"), e.what());
        }
    }

    void onlyTheLockHolderMarksUnfinishedTurns()
    {
        store_->save(sampleConversation());
        {
            auto writer = SessionLock::tryAcquire(*store_, "kitchen");
            QVERIFY(writer);
            // Someone else has it open for writing: a second opener does not get the lock, so it
            // must not take the turn in progress for an interrupted one.
            QVERIFY(!SessionLock::tryAcquire(*store_, "kitchen"));
            QVERIFY_THROWS_EXCEPTION(Error, store_->remove("kitchen"));
        }
        auto lock = SessionLock::tryAcquire(*store_, "kitchen");
        QVERIFY(lock);
        Conversation c = store_->load("kitchen");
        QCOMPARE(c.find(5)->state, TurnState::InProgress);
        QCOMPARE(c.markInterrupted(), 1);
        QCOMPARE(c.find(5)->state, TurnState::Interrupted);
        QCOMPARE(c.find(1)->state, TurnState::Complete);
        store_->save(c);
        QCOMPARE(store_->list().front().interrupted, 1);
    }

    void namesAreFileNames_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("valid");
        QTest::newRow("plain") << QStringLiteral("kitchen-2026.12_05") << true;
        QTest::newRow("empty") << QString() << false;
        QTest::newRow("slash") << QStringLiteral("../etc/passwd") << false;
        QTest::newRow("space") << QStringLiteral("my chat") << false;
        QTest::newRow("leading dash") << QStringLiteral("-rf") << false;
        QTest::newRow("hidden") << QStringLiteral(".lock") << false;
        QTest::newRow("too long") << QString(101, QLatin1Char('a')) << false;
    }
    void namesAreFileNames()
    {
        QFETCH(QString, name);
        QFETCH(bool, valid);
        QCOMPARE(sessionNameProblem(name.toStdString()).empty(), valid);
        if (!valid)
            QVERIFY_THROWS_EXCEPTION(Error, store_->pathOf(name.toStdString()));
    }

    void uniqueNamesListingAndDeleting()
    {
        QCOMPARE(store_->list().size(), std::size_t(0));  // no folder yet
        QCOMPARE(store_->uniqueName("20261205 kitchen/photo.jpg"), std::string("20261205-kitchen-photo.jpg"));
        Conversation older = sampleConversation("older");
        older.updated = "2026-12-01T00:00:00Z";
        store_->save(older);
        store_->save(sampleConversation("kitchen"));
        QCOMPARE(store_->uniqueName("kitchen"), std::string("kitchen-2"));
        const auto sessions = store_->list();
        QCOMPARE(sessions.size(), std::size_t(2));
        QCOMPARE(sessions[0].name, std::string("kitchen"));  // most recently updated first
        QCOMPARE(sessions[0].turns, 5);
        QCOMPARE(sessions[0].model, std::string("Salesforce/blip2-opt-2.7b"));
        QCOMPARE(sessions[0].imagePath, std::string("/photos/kitchen.jpg"));
        store_->remove("kitchen");
        QVERIFY(!store_->exists("kitchen"));
        QVERIFY(!fs::exists(store_->pathOf("kitchen") + ".bak"));
        QVERIFY_THROWS_EXCEPTION(Error, store_->remove("kitchen"));
        QVERIFY_THROWS_EXCEPTION(Error, store_->load("kitchen"));
    }

    void markdownShowsTheBranchAndItsOtherVersions()
    {
        Conversation c = sampleConversation();
        c.markInterrupted();
        const QString md = QString::fromStdString(sessionToMarkdown(c));
        QVERIFY2(md.startsWith(QStringLiteral("# what is on the table?\n")), qPrintable(md));
        QVERIFY(md.contains(QStringLiteral("**You:** what is on the table?")));
        QVERIFY(md.contains(QStringLiteral("**BLIP-2:** white with blue stripes *(stopped)*")));
        QVERIFY(md.contains(QStringLiteral("version 2 of 3")));
        QVERIFY(md.contains(QStringLiteral("> - 1 of 3: *what colour is the bowl?* — blue")));
        QVERIFY(md.contains(QStringLiteral("> - 3 of 3: *what is in the bowl?* — (failed: the context is full)")));
        QVERIFY(md.contains(QStringLiteral("*(interrupted: the program ended before this answer was finished)*")));
        QVERIFY(md.contains(QStringLiteral("55 positions reused")));
        QVERIFY(md.contains(QStringLiteral("sampling (temperature 0.70")));
        QVERIFY(md.contains(QStringLiteral("sha256 `aaaa")));
    }

private:
    std::unique_ptr<QTemporaryDir> dir_;
    std::unique_ptr<SessionStore> store_;
};

QTEST_APPLESS_MAIN(TestSessionStore)
#include "test_session_store.moc"
