// OPT's byte-level BPE against the fixture's reference ids and text, exact round trips on
// arbitrary UTF-8 and on invalid bytes, the tokenizer.json and added-token layouts, errors that
// name the file, and the trainer the demo model uses.

#include "fixtures.h"
#include "querylens/error.h"
#include "text/bpe_tokenizer.h"
#include "text/bpe_trainer.h"
#include "text/gpt2_pretokenizer.h"
#include "text/utf8.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace querylens;
using namespace querylens::text;

namespace {

std::unique_ptr<BpeTokenizer> fixtureTokenizer()
{
    return BpeTokenizer::fromFolder(testsupport::fixturePath("tiny-opt"), BpeConventions{});
}

nlohmann::json summary()
{
    std::ifstream in(testsupport::fixturePath("tiny-opt/summary.json"));
    return nlohmann::json::parse(in);
}

void copyFile(const std::string& from, const QString& to)
{
    std::ifstream in(from, std::ios::binary);
    std::ofstream(to.toStdString(), std::ios::binary) << in.rdbuf();
}

}  // namespace

class TestBpeTokenizer : public QObject {
    Q_OBJECT

private slots:
    void promptEncodesToTheReferenceIds()
    {
        const auto tokenizer = fixtureTokenizer();
        const auto expected = summary().at("prompt_input_ids").get<std::vector<int>>();
        QCOMPARE(tokenizer->encode(summary().at("prompt").get<std::string>()), expected);
        QCOMPARE(expected.front(), 2);  // OPT's BOS is </s>
        QCOMPARE(tokenizer->encode("", true), std::vector<int>{2});  // the caption input
        QCOMPARE(tokenizer->encode("", false), std::vector<int>{});
    }

    void greedyIdsDecodeToTheReferenceText()
    {
        const auto tokenizer = fixtureTokenizer();
        const auto s = summary();
        QCOMPARE(tokenizer->decode(s.at("greedy_ids").get<std::vector<int>>()), s.at("greedy_text").get<std::string>());
        QCOMPARE(tokenizer->decode(s.at("greedy_ids_prompt").get<std::vector<int>>()),
                 s.at("greedy_text_prompt").get<std::string>());
    }

    void roundTripIsExact_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::newRow("emoji family") << QByteArray("a family 👩‍👩‍👧 and 🐈 cats");
        QTest::newRow("accents") << QByteArray("naïve café, Ærøskøbing");
        QTest::newRow("cjk") << QByteArray("日本語のテキストと中文");
        QTest::newRow("whitespace") << QByteArray("  multiple   spaces\n\n\ttabs \t\r\n end  ");
        QTest::newRow("contractions") << QByteArray("it's we'll they're I'd you've I'm can't");
        QTest::newRow("numbers") << QByteArray("3.14159 and 2024-11-25, ١٢٣");
        QTest::newRow("combining") << QByteArray("e\xcc\x81 a\xcc\x8a");
        QTest::newRow("specials in text") << QByteArray("before </s> after <pad>");
    }
    void roundTripIsExact()
    {
        QFETCH(QByteArray, text);
        const auto tokenizer = fixtureTokenizer();
        const std::string s = text.toStdString();
        QCOMPARE(tokenizer->decode(tokenizer->encode(s, false), false), s);
        QCOMPARE(tokenizer->decodeBytes(tokenizer->encode(s, false), false), s);
    }

    void invalidBytesRoundTripAsBytesAndDecodeLikePython()
    {
        const auto tokenizer = fixtureTokenizer();
        const std::string bytes = "\xff\xfe abc \xe2\x82 z \xc3";
        const auto ids = tokenizer->encode(bytes, false);
        QCOMPARE(tokenizer->decodeBytes(ids), bytes);
        // Python: b"\xff\xfe abc \xe2\x82 z \xc3".decode(errors="replace")
        QCOMPARE(tokenizer->decode(ids), std::string("\uFFFD\uFFFD abc \uFFFD z \uFFFD"));
    }

    void repairFollowsPythonsReplaceRule()
    {
        // Each expectation is bytes.decode("utf-8", errors="replace") in Python 3.
        QCOMPARE(repairUtf8("\xe2\x82"), std::string("\uFFFD"));                 // truncated: one
        QCOMPARE(repairUtf8("\xe2\x28\xa1"), std::string("\uFFFD(\uFFFD"));      // bad continuation
        QCOMPARE(repairUtf8("\xed\xa0\x80"), std::string("\uFFFD\uFFFD\uFFFD")); // a surrogate
        QCOMPARE(repairUtf8("\xf0\x9f\x90"), std::string("\uFFFD"));
        QCOMPARE(repairUtf8("\xc0\xaf"), std::string("\uFFFD\uFFFD"));           // overlong
        QCOMPARE(repairUtf8("ok \xf0\x9f\x90\x88"), std::string("ok 🐈"));
    }

    void streamingPrefixStopsBeforeAnUnfinishedCharacter()
    {
        QCOMPARE(completeUtf8Prefix("cat \xf0\x9f\x90"), std::size_t(4));
        QCOMPARE(completeUtf8Prefix("cat \xf0\x9f\x90\x88"), std::size_t(8));
        QCOMPARE(completeUtf8Prefix("bad \xff"), std::size_t(5));  // invalid, not unfinished
        QCOMPARE(completeUtf8Prefix(""), std::size_t(0));
    }

    void pretokenizerSplitsLikeGpt2()
    {
        // Hand-checked against the regex's alternatives.
        QCOMPARE(gpt2Pretokenize("Hello world's  end\n"),
                 (std::vector<std::string>{"Hello", " world", "'s", " ", " end", "\n"}));
        QCOMPARE(gpt2Pretokenize("a  \tb"), (std::vector<std::string>{"a", "  ", "\t", "b"}));
        QCOMPARE(gpt2Pretokenize("x=42!? ok"), (std::vector<std::string>{"x", "=", "42", "!?", " ok"}));
        QCOMPARE(gpt2Pretokenize("end   "), (std::vector<std::string>{"end", "   "}));
    }

    void tokenizerJsonGivesTheSameIds()
    {
        QTemporaryDir dir;
        std::ifstream vocabFile(testsupport::fixturePath("tiny-opt/vocab.json"));
        const nlohmann::json vocab = nlohmann::json::parse(vocabFile);
        std::ifstream mergesFile(testsupport::fixturePath("tiny-opt/merges.txt"));
        nlohmann::json merges = nlohmann::json::array();
        std::string line;
        while (std::getline(mergesFile, line))
            if (!line.empty() && line.rfind("#version", 0) != 0)
                merges.push_back(line);
        const nlohmann::json tokenizer = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
                                          {"added_tokens", nlohmann::json::array()}};
        std::ofstream(dir.filePath(QStringLiteral("tokenizer.json")).toStdString()) << tokenizer.dump();
        const auto fromJson = BpeTokenizer::fromFolder(dir.path().toStdString(), BpeConventions{});
        const std::string text = "Question: what is in the picture? Answer: two cats 🐈";
        QCOMPARE(fromJson->encode(text), fixtureTokenizer()->encode(text));
    }

    void addedImageTokenIsOneToken()
    {
        QTemporaryDir dir;
        copyFile(testsupport::fixturePath("tiny-opt/vocab.json"), dir.filePath(QStringLiteral("vocab.json")));
        copyFile(testsupport::fixturePath("tiny-opt/merges.txt"), dir.filePath(QStringLiteral("merges.txt")));
        std::ofstream(dir.filePath(QStringLiteral("added_tokens.json")).toStdString()) << R"({"<image>": 1000})";
        const auto tokenizer = BpeTokenizer::fromFolder(dir.path().toStdString(), BpeConventions{});
        const auto ids = tokenizer->encode("<image><image>Question: hi", false);
        QCOMPARE(ids.at(0), 1000);
        QCOMPARE(ids.at(1), 1000);
        QVERIFY(tokenizer->isSpecial(1000));
        QCOMPARE(tokenizer->decode(ids), tokenizer->decode(fixtureTokenizer()->encode("Question: hi", false)));
        QCOMPARE(tokenizer->vocabSize(), 1001);
    }

    void missingOrBrokenFilesAreNamed()
    {
        QTemporaryDir dir;
        try {
            BpeTokenizer::fromFolder(dir.path().toStdString(), BpeConventions{});
            QFAIL("an empty folder loaded");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("vocab.json") != std::string::npos, e.what());
        }
        copyFile(testsupport::fixturePath("tiny-opt/vocab.json"), dir.filePath(QStringLiteral("vocab.json")));
        std::ofstream(dir.filePath(QStringLiteral("merges.txt")).toStdString()) << "#version: 0.2\nĠ t\nnot-a-merge\n";
        try {
            BpeTokenizer::fromFolder(dir.path().toStdString(), BpeConventions{});
            QFAIL("a broken merges.txt loaded");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("merges.txt") != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("line 3") != std::string::npos, e.what());
        }
        std::ofstream(dir.filePath(QStringLiteral("vocab.json")).toStdString()) << "{\"a\": ";
        try {
            BpeTokenizer::fromFolder(dir.path().toStdString(), BpeConventions{});
            QFAIL("broken JSON loaded");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("vocab.json") != std::string::npos, e.what());
        }
    }

    void tokenTextIsReadable()
    {
        const auto tokenizer = fixtureTokenizer();
        const auto ids = tokenizer->encode(" cat", false);
        std::string joined;
        for (int id : ids)
            joined += tokenizer->tokenText(id);
        QCOMPARE(joined, std::string(" cat"));
        QCOMPARE(tokenizer->tokenText(2), std::string("</s>"));
        QVERIFY(tokenizer->isSpecial(2));
        QCOMPARE(tokenizer->decode({2, ids.front()}), tokenizer->decode({ids.front()}));
    }

    void trainedTokenizerRoundTripsAndHasOptsLayout()
    {
        const std::vector<std::string> corpus = {"a cat sat on the mat.\n", "the cat and the dog sat.\n",
                                                 "a dog on a mat, a cat on a sofa.\n"};
        const BpeVocabulary trained = trainBpe(corpus, 300);
        QVERIFY(trained.tokens.size() > 260);
        QCOMPARE(trained.tokens.at(2), std::string("</s>"));
        QDir().mkpath(QDir::tempPath());
        QTemporaryDir dir;
        writeBpeTokenizer(dir.path().toStdString(), trained);
        const auto tokenizer = BpeTokenizer::fromFolder(dir.path().toStdString(), BpeConventions{});
        QCOMPARE(tokenizer->vocabSize(), int(trained.tokens.size()));
        const auto ids = tokenizer->encode("the cat sat on the mat.");
        QCOMPARE(ids.front(), 2);
        QVERIFY(ids.size() < 12);  // merges learned: far fewer tokens than bytes
        QCOMPARE(tokenizer->decode(ids), std::string("the cat sat on the mat."));
        QCOMPARE(tokenizer->encode("\n", false).size(), std::size_t(1));
        // Deterministic.
        QCOMPARE(trainBpe(corpus, 300).merges, trained.merges);
    }
};

QTEST_APPLESS_MAIN(TestBpeTokenizer)
#include "test_bpe_tokenizer.moc"
