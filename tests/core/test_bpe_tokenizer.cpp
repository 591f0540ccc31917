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
#include <thread>
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
        QCOMPARE(repairUtf8("\xf4\x90\x80\x80"), std::string("\uFFFD\uFFFD\uFFFD\uFFFD"));  // past U+10FFFF
        QCOMPARE(repairUtf8("\xe0\x80\xaf"), std::string("\uFFFD\uFFFD\uFFFD"));              // overlong
        QCOMPARE(repairUtf8("\xf0\x9f\x90 x"), std::string("\uFFFD x"));                       // cut short
    }

    void streamingPrefixStopsBeforeAnUnfinishedCharacter()
    {
        QCOMPARE(completeUtf8Prefix("cat \xf0\x9f\x90"), std::size_t(4));
        QCOMPARE(completeUtf8Prefix("cat \xf0\x9f\x90\x88"), std::size_t(8));
        QCOMPARE(completeUtf8Prefix("bad \xff"), std::size_t(5));  // invalid, not unfinished
        QCOMPARE(completeUtf8Prefix(""), std::size_t(0));
        QCOMPARE(completeUtf8Prefix("ab\xe2\x82"), std::size_t(2));
        // A surrogate's first two bytes can never become valid, so they are complete (as
        // U+FFFD U+FFFD) at once; CPython's incremental decoder happens to hold them back.
        QCOMPARE(completeUtf8Prefix("ab\xed\xa0"), std::size_t(4));
    }

    // Expected pieces: regex.findall with GPT-2's pattern in Python's `regex` module (the
    // module GPT-2's encoder.py uses; its \\s is White_Space, without U+001C..U+001F).
    void pretokenizerSplitsLikeGpt2_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QStringList>("pieces");
        QTest::newRow("contractions") << QByteArray("Hello world's  end\n") << QStringList{QString::fromUtf8("Hello"), QString::fromUtf8(" world"), QString::fromUtf8("'s"), QString::fromUtf8(" "), QString::fromUtf8(" end"), QString::fromUtf8("\n")};
        QTest::newRow("space run before a word") << QByteArray("a  \tb") << QStringList{QString::fromUtf8("a"), QString::fromUtf8("  "), QString::fromUtf8("\t"), QString::fromUtf8("b")};
        QTest::newRow("symbols and numbers") << QByteArray("x=42!? ok") << QStringList{QString::fromUtf8("x"), QString::fromUtf8("="), QString::fromUtf8("42"), QString::fromUtf8("!?"), QString::fromUtf8(" ok")};
        QTest::newRow("trailing spaces") << QByteArray("end   ") << QStringList{QString::fromUtf8("end"), QString::fromUtf8("   ")};
        QTest::newRow("newline then space") << QByteArray(" \n x") << QStringList{QString::fromUtf8(" \n"), QString::fromUtf8(" x")};
        QTest::newRow("ideographic space") << QByteArray("\u3000a") << QStringList{QString::fromUtf8("\u3000"), QString::fromUtf8("a")};
        QTest::newRow("separator is not space") << QByteArray("a \x1c!\x1f") << QStringList{QString::fromUtf8("a"), QString::fromUtf8(" \x1c!\x1f")};
        QTest::newRow("nbsp run") << QByteArray("  \u00a0x") << QStringList{QString::fromUtf8("  "), QString::fromUtf8("\u00a0"), QString::fromUtf8("x")};
        QTest::newRow("capital contraction") << QByteArray("IT'S I'M") << QStringList{QString::fromUtf8("IT"), QString::fromUtf8("'"), QString::fromUtf8("S"), QString::fromUtf8(" I"), QString::fromUtf8("'"), QString::fromUtf8("M")};
        QTest::newRow("apostrophe after space") << QByteArray("don 't 'll") << QStringList{QString::fromUtf8("don"), QString::fromUtf8(" '"), QString::fromUtf8("t"), QString::fromUtf8(" '"), QString::fromUtf8("ll")};
        QTest::newRow("digits by script") << QByteArray("12 ١٢ ²½") << QStringList{QString::fromUtf8("12"), QString::fromUtf8(" ١٢"), QString::fromUtf8(" ²½")};
        QTest::newRow("cjk and emoji") << QByteArray("日本語 🐈🐈 ok") << QStringList{QString::fromUtf8("日本語"), QString::fromUtf8(" 🐈🐈"), QString::fromUtf8(" ok")};
        QTest::newRow("combining mark") << QByteArray("e\u0301té") << QStringList{QString::fromUtf8("e"), QString::fromUtf8("\u0301"), QString::fromUtf8("té")};
    }
    void pretokenizerSplitsLikeGpt2()
    {
        QFETCH(QByteArray, text);
        QFETCH(QStringList, pieces);
        QStringList actual;
        for (const std::string& piece : gpt2Pretokenize(text.toStdString()))
            actual << QString::fromStdString(piece);
        QCOMPARE(actual, pieces);
    }

    // Expected ids: GPT-2's encoder.py algorithm (bytes_to_unicode, regex split, bpe() by merge
    // rank) in Python over the fixture's vocab.json and merges.txt, without the BOS.
    void encodesLikeTheReferenceAlgorithm_data()
    {
        QTest::addColumn<QByteArray>("text");
        QTest::addColumn<QList<int>>("ids");
        QTest::newRow("prompt") << QByteArray("Question: what is in the picture? Answer:") << QList<int>{352, 62, 399, 327, 292, 270, 661, 67, 347, 62};
        QTest::newRow("caption") << QByteArray("two cats on a sofa, sleeping.") << QList<int>{718, 370, 308, 260, 646, 48, 476, 50};
        QTest::newRow("contraction, number, whitespace") << QByteArray("It's 3.14 o'clock!\n\tNext  line") << QList<int>{77, 120, 853, 36, 55, 50, 53, 56, 274, 43, 103, 112, 115, 103, 111, 37, 14, 13, 82, 423, 36, 296, 263, 105};
        QTest::newRow("accents, cjk, emoji") << QByteArray("naïve café 日本 🐈") << QList<int>{114, 101, 199, 179, 320, 268, 101, 106, 199, 173, 36, 234, 155, 169, 234, 160, 176, 36, 244, 163, 148, 140};
    }
    void encodesLikeTheReferenceAlgorithm()
    {
        QFETCH(QByteArray, text);
        QFETCH(QList<int>, ids);
        const auto tokenizer = fixtureTokenizer();
        const std::vector<int> actual = tokenizer->encode(text.toStdString(), false);
        QCOMPARE(QList<int>(actual.begin(), actual.end()), ids);
        QCOMPARE(tokenizer->decode(actual), text.toStdString());
    }

    void encodesFromManyThreadsAtOnce()
    {
        // The tokenizer is const after load; its word cache is shared, so hammer it.
        const auto tokenizer = fixtureTokenizer();
        const std::string text = "Question: what is in the picture? Answer: two cats on a sofa, sleeping.";
        const std::vector<int> expected = tokenizer->encode(text);
        std::vector<std::vector<int>> results(4);
        std::vector<std::thread> threads;
        for (std::size_t t = 0; t < results.size(); ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 200; ++i)
                    results[t] = tokenizer->encode(text + (i % 2 ? " x" : ""));
            });
        for (auto& thread : threads)
            thread.join();
        for (const auto& result : results)
            QCOMPARE(result, tokenizer->encode(text + " x"));
        QCOMPARE(tokenizer->encode(text), expected);
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
        // Newer tokenizers write each merge as a pair ["a", "b"]; older ones as "a b".
        nlohmann::json pairs = nlohmann::json::array();
        for (const auto& merge : merges) {
            const std::string text = merge.get<std::string>();
            pairs.push_back({text.substr(0, text.find(' ')), text.substr(text.find(' ') + 1)});
        }
        const std::string text = "Question: what is in the picture? Answer: two cats 🐈";
        for (const auto& form : {merges, pairs}) {
            const nlohmann::json tokenizer = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", form}}},
                                              {"added_tokens", {{{"id", 1000}, {"content", "<image>"}, {"special", true}}}}};
            std::ofstream(dir.filePath(QStringLiteral("tokenizer.json")).toStdString()) << tokenizer.dump();
            const auto fromJson = BpeTokenizer::fromFolder(dir.path().toStdString(), BpeConventions{});
            QCOMPARE(fromJson->encode(text), fixtureTokenizer()->encode(text));
            QCOMPARE(fromJson->encode("<image>" + text, false).front(), 1000);
        }
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
        std::ofstream(dir.filePath(QStringLiteral("merges.txt")).toStdString()) << "#version: 0.2\nĠ t\nq \u00e6\u00e6\u00e6\n";
        try {
            BpeTokenizer::fromFolder(dir.path().toStdString(), BpeConventions{});
            QFAIL("a merge of unknown symbols loaded");
        } catch (const Error& e) {
            QVERIFY2(e.file().find("merges.txt") != std::string::npos, e.what());
            QVERIFY2(e.message().find("line 3") != std::string::npos, e.what());
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
        QCOMPARE(trained.tokens.at(0), std::string("<s>"));
        QCOMPARE(trained.tokens.at(1), std::string("<pad>"));
        QCOMPARE(trained.tokens.at(2), std::string("</s>"));
        QCOMPARE(trained.tokens.at(3), std::string("<unk>"));
        for (int b = 0; b < 256; ++b)
            QCOMPARE(trained.tokens.at(std::size_t(4 + b)), byteToSymbol()[std::size_t(b)]);
        QCOMPARE(trained.tokens.size(), 260 + trained.merges.size());
        QCOMPARE(trained.tokens.at(260), trained.merges.front().first + trained.merges.front().second);
        QDir().mkpath(QDir::tempPath());
        QTemporaryDir dir;
        writeBpeTokenizer(dir.path().toStdString(), trained);
        std::ifstream merges(dir.filePath(QStringLiteral("merges.txt")).toStdString());
        std::string header;
        std::getline(merges, header);
        QCOMPARE(header, std::string("#version: 0.2"));
        const auto tokenizer = BpeTokenizer::fromFolder(dir.path().toStdString(), BpeConventions{});
        QCOMPARE(tokenizer->vocabSize(), int(trained.tokens.size()));
        QCOMPARE(tokenizer->bosId(), std::optional<int>(2));
        QCOMPARE(tokenizer->padId(), std::optional<int>(1));
        QCOMPARE(tokenizer->encode("~", false), std::vector<int>{4 + '~'});  // a byte symbol's id
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
