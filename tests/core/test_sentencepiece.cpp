// T5's SentencePiece tokenizer through the plugin module, in a process that also links
// libtorch (where a direct link to libsentencepiece would crash on the protobuf clash).

#include "fixtures.h"
#include "querylens/error.h"
#include "text/sentencepiece/sentencepiece_tokenizer.h"

#include <ATen/ATen.h>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace querylens;
using namespace querylens::text;

namespace {

nlohmann::json summary()
{
    std::ifstream in(testsupport::fixturePath("tiny-t5/summary.json"));
    return nlohmann::json::parse(in);
}

}  // namespace

class TestSentencePiece : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
#if defined(__SANITIZE_ADDRESS__)
        QSKIP("AddressSanitizer refuses dlopen(RTLD_DEEPBIND): no SentencePiece plugin in this build");
#endif
    }

    void torchAndThePluginLiveTogether()
    {
        const at::Tensor t = at::ones({2, 2});  // libtorch (and its protobuf) is loaded and used
        QCOMPARE(t.sum().item<float>(), 4.0f);
        QVERIFY(SentencePieceTokenizer::fromFolder(testsupport::fixturePath("tiny-t5")));
    }

    void promptEncodesToTheReferenceIds()
    {
        const auto tokenizer = SentencePieceTokenizer::fromFolder(testsupport::fixturePath("tiny-t5"));
        const auto s = summary();
        QCOMPARE(tokenizer->encode(s.at("prompt").get<std::string>()), s.at("prompt_input_ids").get<std::vector<int>>());
        QCOMPARE(tokenizer->encode(""), std::vector<int>{1});  // the caption input: </s> only
        QCOMPARE(*tokenizer->eosId(), 1);
        QCOMPARE(*tokenizer->padId(), 0);
        QVERIFY(!tokenizer->bosId());
        QCOMPARE(tokenizer->vocabSize(), 1000);
    }

    void greedyIdsDecodeToTheReferenceText()
    {
        const auto tokenizer = SentencePieceTokenizer::fromFolder(testsupport::fixturePath("tiny-t5"));
        const auto s = summary();
        QCOMPARE(tokenizer->decode(s.at("greedy_ids").get<std::vector<int>>()), s.at("greedy_text").get<std::string>());
        QCOMPARE(tokenizer->decode(s.at("greedy_ids_prompt").get<std::vector<int>>()),
                 s.at("greedy_text_prompt").get<std::string>());
    }

    void specialsAreSkippedAndPiecesReadable()
    {
        const auto tokenizer = SentencePieceTokenizer::fromFolder(testsupport::fixturePath("tiny-t5"));
        const auto ids = tokenizer->encode("the cat", false);
        QCOMPARE(tokenizer->decode({0, ids[0], 1}), tokenizer->decode({ids[0]}));
        QVERIFY(tokenizer->isSpecial(0) && tokenizer->isSpecial(1) && tokenizer->isSpecial(2));
        std::string joined;
        for (int id : ids)
            joined += tokenizer->tokenText(id);
        QCOMPARE(joined, std::string(" the cat"));
        QCOMPARE(tokenizer->decode(tokenizer->encode("a cat on a couch", true)), std::string("a cat on a couch"));
        QCOMPARE(tokenizer->decode({5000}), std::string());  // beyond the pieces: no text, no crash
    }

    void missingOrCorruptModelIsNamed()
    {
        QTemporaryDir dir;
        try {
            SentencePieceTokenizer::fromFolder(dir.path().toStdString());
            QFAIL("a folder without spiece.model loaded");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("spiece.model") != std::string::npos, e.what());
        }
        std::ofstream(dir.filePath(QStringLiteral("spiece.model")).toStdString()) << "definitely not a protobuf";
        try {
            SentencePieceTokenizer::fromFolder(dir.path().toStdString());
            QFAIL("a corrupt spiece.model loaded");
        } catch (const Error& e) {
            QVERIFY2(std::string(e.what()).find("spiece.model") != std::string::npos, e.what());
        }
    }
};

QTEST_APPLESS_MAIN(TestSentencePiece)
#include "test_sentencepiece.moc"
