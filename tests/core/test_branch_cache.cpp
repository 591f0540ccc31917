// Branches of a conversation reuse the language model's caches (Session keeps the last few):
// regenerating an answer runs only the prompt's last token (OPT) or no encoder at all (T5),
// editing a question reuses the shared start (OPT), and going back to an earlier branch to ask
// more reuses that branch's whole cache, not only what it shares with the newest branch. Every
// answer equals a fresh session's answer to the same prompt: the reuse changes nothing.

#include "fixture_models.h"
#include "fixtures.h"
#include "querylens/model.h"
#include "querylens/prompts.h"
#include "querylens/session.h"

#include <QtTest>


using namespace querylens;
using testsupport::fixtureModel;
using testsupport::greedy;

namespace {

int commonPrefix(const std::vector<int>& a, const std::vector<int>& b)
{
    int n = 0;
    while (n < int(a.size()) && n < int(b.size()) && a[std::size_t(n)] == b[std::size_t(n)])
        ++n;
    return n;
}

}  // namespace

class TestBranchCache : public QObject {
    Q_OBJECT

private slots:
    void branchesReuseTheirCaches_data()
    {
        QTest::addColumn<QString>("config");
        QTest::newRow("opt") << QStringLiteral("tiny-opt");
        QTest::newRow("t5") << QStringLiteral("tiny-t5");
    }
    void branchesReuseTheirCaches()
    {
        QFETCH(QString, config);
        QUERYLENS_SKIP_T5_UNDER_ASAN(config);
        const auto model = fixtureModel(config.toStdString());
        const bool opt = model->info().languageModel == "OPT";
        const auto image = model->encode(testsupport::fixtureImage());
        const int queries = image->queryCount();
        auto session = model->newSession(image);
        // Each answer must be what a fresh session gives for the same prompt.
        auto check = [&](const std::vector<ChatTurn>& history, const std::string& question, const GenerationResult& got) {
            const GenerationResult fresh = model->newSession(image)->generate(chatPrompt(history, question), greedy(6));
            QCOMPARE(got.sequences.front().ids, fresh.sequences.front().ids);
        };
        const std::string q1 = "what is in the picture?", q2 = "what colour is the cat?", q2edit = "what colour is the sofa?",
                          q3 = "is it sleeping?";

        const GenerationResult r1 = session->answer({}, q1, greedy(6));
        const std::vector<ChatTurn> afterFirst{{q1, r1.sequences.front().text}};
        const GenerationResult r2 = session->answer(afterFirst, q2, greedy(6));
        check(afterFirst, q2, r2);
        const std::vector<int> ids2 = model->tokenize(chatPrompt(afterFirst, q2));

        // Regenerate: the whole prompt is cached. OPT runs only its last token (whose logits are
        // the first answer token's); T5 keeps its encoder output and restarts the decoder.
        const GenerationResult regenerated = session->answer(afterFirst, q2, greedy(6));
        check(afterFirst, q2, regenerated);
        QCOMPARE(regenerated.reusedPositions, opt ? queries + int(ids2.size()) - 1 : queries + int(ids2.size()));

        // Edit the question: OPT reuses the image and the shared start of the prompt; T5's
        // bidirectional encoder must read the changed prompt again.
        const GenerationResult edited = session->answer(afterFirst, q2edit, greedy(6));
        check(afterFirst, q2edit, edited);
        const std::vector<int> ids2edit = model->tokenize(chatPrompt(afterFirst, q2edit));
        QCOMPARE(edited.reusedPositions, opt ? queries + commonPrefix(ids2, ids2edit) : 0);

        // Back on the first branch, a follow-up: its cache was kept, so OPT reuses the whole
        // earlier prompt and the answer's tokens, not only the start it shares with the edit
        // (what a single cache would give).
        const std::vector<ChatTurn> branch{{q1, r1.sequences.front().text}, {q2, r2.sequences.front().text}};
        const GenerationResult followUp = session->answer(branch, q3, greedy(6));
        check(branch, q3, followUp);
        const std::vector<int> ids3 = model->tokenize(chatPrompt(branch, q3));
        const int singleCache = opt ? queries + commonPrefix(ids2edit, ids3) : 0;  // T5: nothing either way
        qInfo("%s: prompt of the follow-up %d positions; reused %d (a single cache would reuse %d); regenerate "
              "reused %d of %d; edit reused %d of %d",
              qPrintable(config), queries + int(ids3.size()), followUp.reusedPositions, singleCache,
              regenerated.reusedPositions, queries + int(ids2.size()), edited.reusedPositions,
              queries + int(ids2edit.size()));
        if (opt) {
            QVERIFY(followUp.reusedPositions >= queries + int(ids2.size()));
            QVERIFY(followUp.reusedPositions > singleCache);
            QVERIFY(followUp.reusedPositions < queries + int(ids3.size()));
        } else {
            QCOMPARE(followUp.reusedPositions, 0);
        }
        QVERIFY(session->cachedBranches() <= Session::kBranchCaches);
    }

    void cachesStayBounded()
    {
        const auto model = fixtureModel("tiny-opt");
        const auto image = model->encode(testsupport::fixtureImage());
        auto session = model->newSession(image);
        for (int i = 0; i < 2 * Session::kBranchCaches; ++i) {
            const GenerationResult r = session->answer({}, "question number " + std::to_string(i), greedy(4));
            QVERIFY(!r.sequences.front().ids.empty());
            QVERIFY(session->cachedBranches() <= Session::kBranchCaches);
        }
        QCOMPARE(session->cachedBranches(), Session::kBranchCaches);
        // The history-keeping ask() still continues its own branch.
        session->ask("what is in the picture?", greedy(4));
        const GenerationResult second = session->ask("and then?", greedy(4));
        QVERIFY(second.reusedPositions > image->queryCount() + 8);
    }
};

QTEST_APPLESS_MAIN(TestBranchCache)
#include "test_branch_cache.moc"
