// The Q-Former's WordPiece tokenizer against the reference BertTokenizer's ids for the tiny-itm
// fixture (the four texts, the seven tokenizer cases, truncation), the character classes it
// relies on, the words it groups pieces into, and errors that name the file.

#include "fixtures.h"
#include "querylens/error.h"
#include "text/bert_basic_tokenizer.h"
#include "text/wordpiece_tokenizer.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace querylens;
using namespace querylens::text;

namespace {

const WordPieceTokenizer& fixtureTokenizer()
{
    static const auto tokenizer = WordPieceTokenizer::fromFolder(testsupport::fixturePath("tiny-itm"));
    return *tokenizer;
}

const nlohmann::json& summary()
{
    static const nlohmann::json json = [] {
        std::ifstream in(testsupport::fixturePath("tiny-itm/summary.json"));
        return nlohmann::json::parse(in);
    }();
    return json;
}

std::vector<int> goldenIds(const std::string& name)
{
    const auto wide = testsupport::goldenInts("tiny-itm", name);
    return std::vector<int>(wide.begin(), wide.end());
}

std::vector<std::string> pieceTexts(const WordPieceEncoding& encoding)
{
    std::vector<std::string> out;
    for (const auto& p : encoding.pieces)
        out.push_back(p.text);
    return out;
}

void writeFile(const QString& path, const std::string& text)
{
    std::ofstream(path.toStdString(), std::ios::binary) << text;
}

}  // namespace

class TestWordPieceTokenizer : public QObject {
    Q_OBJECT

private slots:
    void textsEncodeToTheReferenceIds_data()
    {
        QTest::addColumn<int>("index");
        for (int i = 0; i < 4; ++i)
            QTest::newRow(summary()["texts"][std::size_t(i)]["text"].get<std::string>().substr(0, 24).c_str()) << i;
    }
    void textsEncodeToTheReferenceIds()
    {
        QFETCH(int, index);
        const auto& entry = summary()["texts"][std::size_t(index)];
        const WordPieceEncoding encoding = fixtureTokenizer().encodeText(entry["text"].get<std::string>());
        QCOMPARE(encoding.ids(), goldenIds("text" + std::to_string(index) + "_input_ids"));
        QCOMPARE(pieceTexts(encoding), entry["tokens"].get<std::vector<std::string>>());
        QVERIFY(!encoding.truncated);
    }

    void tokenizerCasesMatchTheReference_data()
    {
        QTest::addColumn<int>("index");
        QTest::newRow("101-character word -> [UNK]") << 0;
        QTest::newRow("tab, newline, CR-LF, NUL, zero-width space") << 1;
        QTest::newRow("full-width letters -> [UNK]") << 2;
        QTest::newRow("special tokens kept whole") << 3;
        QTest::newRow("ASCII punctuation and digits") << 4;
        QTest::newRow("accents in NFC and NFD") << 5;
        QTest::newRow("spaces, upper case, ellipsis, sharp s") << 6;
    }
    void tokenizerCasesMatchTheReference()
    {
        QFETCH(int, index);
        const auto& entry = summary()["tokenizer_cases"][std::size_t(index)];
        const WordPieceEncoding encoding = fixtureTokenizer().encodeText(entry["text"].get<std::string>());
        QCOMPARE(pieceTexts(encoding), entry["tokens"].get<std::vector<std::string>>());
        QCOMPARE(encoding.ids(), goldenIds("tokenizer_case" + std::to_string(index) + "_input_ids"));
    }

    void truncationKeepsTheLeftPartAndEndsWithSep()
    {
        const std::string text = summary()["tokenizer_truncated8"]["text"].get<std::string>();
        const WordPieceEncoding encoding = fixtureTokenizer().encodeText(text, true, 8);
        QCOMPARE(encoding.ids(), goldenIds("tokenizer_truncated8_input_ids"));
        QVERIFY(encoding.truncated);
        QCOMPARE(fixtureTokenizer().encodeText("a remote control", true, 8).truncated, false);
    }

    void specialTokenIdsComeFromTheFiles()
    {
        const auto& ids = summary()["special_token_ids"];
        const WordPieceTokenizer& t = fixtureTokenizer();
        QCOMPARE(t.clsId(), ids["[CLS]"].get<int>());
        QCOMPARE(t.sepId(), ids["[SEP]"].get<int>());
        QCOMPARE(t.unkId(), ids["[UNK]"].get<int>());
        QCOMPARE(t.padId().value_or(-1), ids["[PAD]"].get<int>());
        QCOMPARE(t.bosId().value_or(-1), ids["[DEC]"].get<int>());  // bos_token "[DEC]" from added_tokens.json
        QCOMPARE(t.vocabSize(), summary()["qformer_vocab_size"].get<int>());
        QVERIFY(t.isSpecial(ids["[MASK]"].get<int>()));
        QVERIFY(!t.isSpecial(87));
    }

    void piecesKnowTheirWords()
    {
        const WordPieceEncoding e = fixtureTokenizer().encodeText("Naïve café-goers  猫");
        QCOMPARE(e.words, (std::vector<std::string>{"Naïve", "café-goers", "猫"}));
        std::vector<int> words;
        for (const auto& p : e.pieces)
            words.push_back(p.word);
        // [CLS] na ##ive cafe - go ##ers 猫 [SEP]
        QCOMPARE(words, (std::vector<int>{-1, 0, 0, 1, 1, 1, 1, 2, -1}));
    }

    void decodeJoinsContinuations()
    {
        const WordPieceTokenizer& t = fixtureTokenizer();
        QCOMPARE(t.decode(goldenIds("text0_input_ids")), std::string("two cats lying on a pink couch"));
        QCOMPARE(t.decode(t.encode("photographed skyline!")), std::string("photographed skyline!"));
    }

    // Found by fuzz_wordpiece_files: a vocab.txt line that is not UTF-8 came out of decode()
    // raw (and then broke JSON output); it reads as U+FFFD, as Python's errors="replace".
    void decodeOfAVocabularyThatIsNotUtf8IsUtf8()
    {
        QTemporaryDir dir;
        writeFile(dir.filePath(QStringLiteral("vocab.txt")), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nca\xff\n##t\xe2\x82\n");
        const auto t = WordPieceTokenizer::fromFolder(dir.path().toStdString());
        QCOMPARE(t->decode({4, 5}), std::string("ca\xef\xbf\xbd" "t\xef\xbf\xbd"));
        QCOMPARE(t->tokenText(4), std::string("ca\xef\xbf\xbd"));
        QCOMPARE(t->decodeBytes({4, 5}), t->decode({4, 5}));  // no byte-level pieces: the same text
    }

    void characterClasses_data()
    {
        QTest::addColumn<uint>("codepoint");
        QTest::addColumn<bool>("whitespace");
        QTest::addColumn<bool>("control");
        QTest::addColumn<bool>("punctuation");
        QTest::addColumn<bool>("cjk");
        QTest::newRow("space") << 0x20u << true << false << false << false;
        QTest::newRow("tab (whitespace, not control)") << 0x09u << true << false << false << false;
        QTest::newRow("no-break space (Zs)") << 0xA0u << true << false << false << false;
        QTest::newRow("form feed (Cc)") << 0x0Cu << false << true << false << false;
        QTest::newRow("zero-width space (Cf)") << 0x200Bu << false << true << false << false;
        QTest::newRow("dollar (ASCII, category Sc)") << uint('$') << false << false << true << false;
        QTest::newRow("ellipsis (Po)") << 0x2026u << false << false << true << false;
        QTest::newRow("inverted question mark (Po)") << 0xBFu << false << false << true << false;
        QTest::newRow("letter") << uint('a') << false << false << false << false;
        QTest::newRow("cat ideograph") << 0x732Bu << false << false << false << true;
        QTest::newRow("hiragana (not BERT's CJK)") << 0x3042u << false << false << false << false;
    }
    void characterClasses()
    {
        QFETCH(uint, codepoint);
        QFETCH(bool, whitespace);
        QFETCH(bool, control);
        QFETCH(bool, punctuation);
        QFETCH(bool, cjk);
        QCOMPARE(isBertWhitespace(char32_t(codepoint)), whitespace);
        QCOMPARE(isBertControl(char32_t(codepoint)), control);
        QCOMPARE(isBertPunctuation(char32_t(codepoint)), punctuation);
        QCOMPARE(isCjkIdeograph(char32_t(codepoint)), cjk);
    }

    void basicTokenizationOptions()
    {
        BasicTokenizerOptions cased;
        cased.lowerCase = false;
        std::vector<std::string> texts;
        for (const auto& t : basicTokenize("Café Zürich", cased).tokens)
            texts.push_back(t.text);
        QCOMPARE(texts, (std::vector<std::string>{"Café", "Zürich"}));  // cased: accents kept unless asked
        cased.stripAccents = BasicTokenizerOptions::StripAccents::Yes;
        texts.clear();
        for (const auto& t : basicTokenize("Café", cased).tokens)
            texts.push_back(t.text);
        QCOMPARE(texts, std::vector<std::string>{"Cafe"});
        // U+0130 lower-cases to "i" + combining dot, which accent stripping removes.
        QCOMPARE(basicTokenize("\xC4\xB0stanbul", BasicTokenizerOptions{}).tokens.at(0).text, std::string("istanbul"));
    }

    void brokenFilesNameTheFile_data()
    {
        QTest::addColumn<QString>("vocab");
        QTest::addColumn<QString>("otherFile");
        QTest::addColumn<QString>("otherContent");
        QTest::addColumn<QString>("fileInMessage");
        const QString vocab = QStringLiteral("[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
        QTest::newRow("no vocab.txt") << QString() << QString() << QString() << "vocab.txt";
        QTest::newRow("no [CLS] in the vocabulary") << "[PAD]\n[UNK]\n[SEP]\na\n" << QString() << QString() << "vocab.txt";
        QTest::newRow("added_tokens.json not an object") << vocab << "added_tokens.json" << "[1, 2]" << "added_tokens.json";
        QTest::newRow("added token id not a number") << vocab << "added_tokens.json" << "{\"[DEC]\": \"x\"}"
                                                      << "added_tokens.json";
        // Found by the wordpiece_files fuzz target in CI: nlohmann's value() threw a type_error.
        QTest::newRow("tokenizer_config.json is null") << vocab << "tokenizer_config.json" << "null"
                                                        << "tokenizer_config.json";
        QTest::newRow("special_tokens_map.json is a list") << vocab << "special_tokens_map.json" << "[\"[CLS]\"]"
                                                            << "special_tokens_map.json";
    }
    void brokenFilesNameTheFile()
    {
        QFETCH(QString, vocab);
        QFETCH(QString, otherFile);
        QFETCH(QString, otherContent);
        QFETCH(QString, fileInMessage);
        QTemporaryDir dir;
        if (!vocab.isEmpty())
            writeFile(dir.filePath(QStringLiteral("vocab.txt")), vocab.toStdString());
        if (!otherFile.isEmpty())
            writeFile(dir.filePath(otherFile), otherContent.toStdString());
        try {
            WordPieceTokenizer::fromFolder(dir.path().toStdString());
            QFAIL("a broken tokenizer loaded");
        } catch (const Error& e) {
            QVERIFY2(QString::fromStdString(e.what()).contains(fileInMessage), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestWordPieceTokenizer)
#include "test_wordpiece_tokenizer.moc"
