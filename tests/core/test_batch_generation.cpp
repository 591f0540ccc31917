// Batched decoding (generateBatch) against each image decoded alone, on the fixtures (OPT and
// T5): the same tokens for batches of 1, 3 and 8 with greedy and beam search, with prompts of
// different lengths (left padding), inputs that stop at different steps (per-row end), seeded
// sampling, and cancellation.

#include "fixture_models.h"
#include "fixtures.h"
#include "querylens/batch_generation.h"
#include "querylens/error.h"
#include "querylens/model.h"
#include "querylens/prompts.h"

#include <QtTest>

#include <set>

using namespace querylens;
using testsupport::fixtureEncoding;
using testsupport::fixtureModel;

namespace {

DecodingOptions strategy(const QString& name, int tokens)
{
    DecodingOptions options;
    options.maxNewTokens = tokens;
    if (name == QLatin1String("beam")) {
        options.numBeams = 3;
        options.numReturnSequences = 2;
    } else if (name == QLatin1String("sample")) {
        options.doSample = true;
        options.numReturnSequences = 2;
        options.seed = 11;
    }
    return options;
}

// Every sequence of `batch` has the ids and text of `alone`; probabilities and scores agree to
// float rounding (padding changes the order of a few sums; tiny-opt's scaled-up layers make its
// late tokens the most sensitive, up to 1.2e-5 after 56 tokens).
void compareResults(const GenerationResult& batch, const GenerationResult& alone, const QString& what)
{
    QVERIFY2(batch.sequences.size() == alone.sequences.size(), qPrintable(what));
    for (std::size_t s = 0; s < alone.sequences.size(); ++s) {
        const GeneratedSequence& b = batch.sequences[s];
        const GeneratedSequence& a = alone.sequences[s];
        QVERIFY2(b.ids == a.ids, qPrintable(what + QStringLiteral(": sequence %1 differs").arg(s)));
        QCOMPARE(b.text, a.text);
        QVERIFY2(std::abs(b.score - a.score) <= 1e-4 * std::max(1.0, std::abs(a.score)), qPrintable(what));
        QCOMPARE(b.tokens.size(), a.tokens.size());
        for (std::size_t t = 0; t < a.tokens.size(); ++t) {
            QVERIFY2(std::abs(b.tokens[t].probability - a.tokens[t].probability) <= 5e-5,
                     qPrintable(what + QStringLiteral(": token %1 probability %2, alone %3").arg(t).arg(b.tokens[t].probability).arg(a.tokens[t].probability)));
            QCOMPARE(b.tokens[t].queryAttention.size(), a.tokens[t].queryAttention.size());
            for (std::size_t q = 0; q < a.tokens[t].queryAttention.size(); ++q)
                QVERIFY2(std::abs(b.tokens[t].queryAttention[q] - a.tokens[t].queryAttention[q]) <= 1e-5, qPrintable(what));
        }
    }
    QCOMPARE(batch.stopReason, alone.stopReason);
    QCOMPARE(batch.promptTokens, alone.promptTokens);
}

std::vector<GenerationResult> alone(const std::string& config, const std::vector<BatchPrompt>& prompts,
                                    const DecodingOptions& options)
{
    std::vector<GenerationResult> results;
    for (const BatchPrompt& prompt : prompts)
        results.push_back(fixtureModel(config)->newSession(prompt.image)->generate(prompt.prompt, options));
    return results;
}

}  // namespace

class TestBatchGeneration : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void batchEqualsEachAlone_data()
    {
        QTest::addColumn<QString>("config");
        QTest::addColumn<QString>("strategy");
        QTest::addColumn<int>("size");
        for (const char* config : {"tiny-opt", "tiny-t5"})
            for (const char* name : {"greedy", "beam"})
                for (int size : {1, 3, 8})
                    QTest::newRow(qPrintable(QStringLiteral("%1 %2 B=%3").arg(config, name).arg(size)))
                        << QString::fromLatin1(config) << QString::fromLatin1(name) << size;
    }
    void batchEqualsEachAlone()
    {
        QFETCH(QString, config);
        QUERYLENS_SKIP_T5_UNDER_ASAN(config);
        QFETCH(QString, strategy);
        QFETCH(int, size);
        const std::string name = config.toStdString();
        const auto model = fixtureModel(name);
        std::vector<BatchPrompt> prompts;
        for (int i = 0; i < size; ++i)
            prompts.push_back({fixtureEncoding(name, i), model->captionPrompt()});
        const DecodingOptions options = ::strategy(strategy, 12);
        const std::vector<GenerationResult> batch = generateBatch(*model, prompts, options);
        const std::vector<GenerationResult> expected = alone(name, prompts, options);
        QCOMPARE(batch.size(), std::size_t(size));
        std::set<std::vector<int>> distinct;
        for (int i = 0; i < size; ++i) {
            compareResults(batch[std::size_t(i)], expected[std::size_t(i)], QStringLiteral("image %1").arg(i));
            distinct.insert(expected[std::size_t(i)].sequences.front().ids);
        }
        // The images differ, and so do most of their captions: a batch that mixed rows up would show.
        QVERIFY2(int(distinct.size()) > size / 2, qPrintable(QStringLiteral("%1 distinct captions").arg(distinct.size())));
        if (size == 1 && strategy == QLatin1String("greedy")) {
            // Image 0 is the fixture photo: the reference's greedy caption.
            const auto golden = testsupport::goldenInts(name, "greedy_ids");
            QCOMPARE(batch[0].sequences.front().ids, std::vector<int>(golden.begin(), golden.begin() + 12));
        }
    }

    // Per-image questions of different lengths: the prompts are padded (OPT on the left, T5's
    // encoder at the end), and each answer is the one the image gets alone.
    void questionsOfDifferentLengths_data()
    {
        QTest::addColumn<QString>("config");
        QTest::addColumn<QString>("strategy");
        for (const char* config : {"tiny-opt", "tiny-t5"})
            for (const char* name : {"greedy", "beam", "sample"})
                QTest::newRow(qPrintable(QStringLiteral("%1 %2").arg(config, name)))
                    << QString::fromLatin1(config) << QString::fromLatin1(name);
    }
    void questionsOfDifferentLengths()
    {
        QFETCH(QString, config);
        QUERYLENS_SKIP_T5_UNDER_ASAN(config);
        QFETCH(QString, strategy);
        const std::string name = config.toStdString();
        const std::vector<std::string> questions = {"what is in the picture?", "why?",
                                                    "what colour is the couch that the two cats are lying on?",
                                                    "how many remote controls are there?", ""};
        std::vector<BatchPrompt> prompts;
        std::set<std::size_t> lengths;
        for (std::size_t i = 0; i < questions.size(); ++i) {
            prompts.push_back({fixtureEncoding(name, int(i)), questionPrompt(questions[i])});
            lengths.insert(fixtureModel(name)->tokenize(prompts.back().prompt).size());
        }
        QCOMPARE(lengths.size(), questions.size());
        const DecodingOptions options = ::strategy(strategy, 10);
        const auto batch = generateBatch(*fixtureModel(name), prompts, options);
        const auto expected = alone(name, prompts, options);
        for (std::size_t i = 0; i < prompts.size(); ++i)
            compareResults(batch[i], expected[i], QStringLiteral("question %1").arg(i));
    }

    // Inputs that stop at different steps leave the batch one by one; the others go on unchanged.
    // tiny-opt sees 128 positions: long prompts leave little room (ContextFull), and its end token
    // (id 14, a newline) ends some captions early.
    void inputsEndingAtDifferentStepsLeaveTheBatch_data()
    {
        QTest::addColumn<QString>("strategy");
        QTest::newRow("greedy") << QStringLiteral("greedy");
        QTest::newRow("beam") << QStringLiteral("beam");
    }
    void inputsEndingAtDifferentStepsLeaveTheBatch()
    {
        QFETCH(QString, strategy);
        const auto model = fixtureModel("tiny-opt");
        std::vector<BatchPrompt> prompts;
        for (int words : {0, 50, 20, 70, 5, 60}) {
            std::string question;
            for (int w = 0; w < words; ++w)
                question += "cat ";
            prompts.push_back({fixtureEncoding("tiny-opt", int(prompts.size())), questionPrompt(question)});
        }
        const DecodingOptions options = ::strategy(strategy, 60);
        const auto expected = alone("tiny-opt", prompts, options);
        std::set<std::size_t> lengths;
        std::set<StopReason> reasons;
        for (const auto& result : expected) {
            lengths.insert(result.sequences.front().ids.size());
            reasons.insert(result.stopReason);
        }
        QVERIFY2(lengths.size() >= 4, "the inputs should end at different steps");
        QVERIFY(reasons.count(StopReason::ContextFull));
        const auto batch = generateBatch(*model, prompts, options);
        for (std::size_t i = 0; i < prompts.size(); ++i)
            compareResults(batch[i], expected[i], QStringLiteral("input %1").arg(i));
    }

    void samplingDrawsAsAlone_data()
    {
        QTest::addColumn<QString>("config");
        QTest::newRow("opt") << QStringLiteral("tiny-opt");
        QTest::newRow("t5") << QStringLiteral("tiny-t5");
    }
    void samplingDrawsAsAlone()
    {
        QFETCH(QString, config);
        QUERYLENS_SKIP_T5_UNDER_ASAN(config);
        const std::string name = config.toStdString();
        std::vector<BatchPrompt> prompts;
        for (int i = 0; i < 4; ++i)
            prompts.push_back({fixtureEncoding(name, i), fixtureModel(name)->captionPrompt()});
        const DecodingOptions options = strategy(QStringLiteral("sample"), 12);
        const auto batch = generateBatch(*fixtureModel(name), prompts, options);
        const auto expected = alone(name, prompts, options);
        for (std::size_t i = 0; i < prompts.size(); ++i)
            compareResults(batch[i], expected[i], QStringLiteral("image %1").arg(i));
    }

    void cancelStopsEveryInput()
    {
        std::vector<BatchPrompt> prompts;
        for (int i = 0; i < 3; ++i)
            prompts.push_back({fixtureEncoding("tiny-opt", i), ""});
        int checks = 0;
        const auto results = generateBatch(*fixtureModel("tiny-opt"), prompts, strategy(QStringLiteral("greedy"), 20),
                                           [&] { return ++checks >= 4; });
        for (const auto& result : results) {
            QCOMPARE(result.stopReason, StopReason::Cancelled);
            QCOMPARE(int(result.sequences.front().ids.size()), 4);
        }
    }

    void promptThatDoesNotFitIsAnError()
    {
        std::string question;
        for (int i = 0; i < 40; ++i)
            question += "what is this? ";
        const std::vector<BatchPrompt> prompts = {{fixtureEncoding("tiny-opt", 0), ""},
                                                  {fixtureEncoding("tiny-opt", 1), questionPrompt(question)}};
        QVERIFY_THROWS_EXCEPTION(Error, generateBatch(*fixtureModel("tiny-opt"), prompts, strategy(QStringLiteral("greedy"), 5)));
    }
};

QTEST_APPLESS_MAIN(TestBatchGeneration)
#include "test_batch_generation.moc"
