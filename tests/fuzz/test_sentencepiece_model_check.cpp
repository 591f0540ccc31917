// spiece.model files that libsentencepiece 0.1.97 would crash on (a SEGV in strlen, reads past
// its trie or its stack, an exception through Load) are refused before it sees them, with a
// message naming the file and the problem; healthy files still load, and the library applies
// a hand-built normalization table the way the check reads it. The plugin's code is linked
// into this suite (no libtorch here), as in the fuzz targets.

#include "querylens/error.h"
#include "spiece_model_builder.h"
#include "text/sentencepiece/sentencepiece_backend.h"
#include "text/sentencepiece/sentencepiece_tokenizer.h"

#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace querylens;
using querylens::text::SentencePieceTokenizer;

Q_DECLARE_METATYPE(std::string)

namespace {

std::string writeModel(const QTemporaryDir& dir, const std::string& bytes)
{
    const std::string path = dir.filePath(QStringLiteral("spiece.model")).toStdString();
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return path;
}

std::unique_ptr<SentencePieceTokenizer> load(const std::string& path)
{
    return SentencePieceTokenizer::fromModelFile(path, querylens_sentencepiece_create);
}

const std::string kB("b\0", 2);  // the replacement strings of the one-rule tables: "b"

}  // namespace

class TestSentencePieceModelCheck : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void healthyModelsLoad()
    {
        QVERIFY(load(std::string(QUERYLENS_FIXTURES) + "/tiny-t5/spiece.model"));
        QTemporaryDir dir;
        const auto tokenizer = load(writeModel(dir, spmodel::healthyModel()));
        // The table maps "a" to "b": the library read the trie as the check walked it.
        QCOMPARE(tokenizer->decode(tokenizer->encode("a", false)), std::string("b"));
        QCOMPARE(tokenizer->decode(tokenizer->encode("b a", false)), std::string("b b"));
    }

    void hostileModelIsRefused_data()
    {
        using namespace spmodel;
        QTest::addColumn<std::string>("bytes");
        QTest::addColumn<QString>("problem");
        const auto pieces = basicPieces();
        const auto healthyTable = charsmap(oneRuleTrie(0), kB);

        QTest::newRow("not a protobuf") << std::string("definitely not a protobuf")
                                        << "not a SentencePiece model: its protobuf is broken at byte 1 (wire type 4)";
        QTest::newRow("a field longer than the file")
            << healthyModel().substr(0, 200) << "its protobuf is broken at byte";

        auto nulPieces = pieces;
        nulPieces[4].text = std::string("\0a", 2);  // darts-clone: a zero-length key, thrown through Load
        QTest::newRow("a piece with a NUL byte")
            << model(nulPieces, healthyTable) << "piece 4 ('\\x00a') contains a NUL byte";

        // The fuzzer's finding: strlen at normalized + value, far outside the table.
        QTest::newRow("replacement past the table")
            << model(pieces, charsmap(oneRuleTrie(0x7ffffff0), kB))
            << "the normalizer's table (precompiled_charsmap) is broken: the rule of unit 353 is replaced by the text "
               "at byte 2147483632, past the 2 bytes of replacements";
        QTest::newRow("replacement without its NUL")
            << model(pieces, charsmap(oneRuleTrie(0), "b")) << "the replacement at byte 0 does not end with a NUL";

        Trie farChildren{std::vector<std::uint32_t>(256, 0)};
        farChildren.units[0] = Trie::node(0, 0x100000, false);
        QTest::newRow("children past the trie")
            << model(pieces, charsmap(farChildren, kB)) << "unit 0 leads to units 1048576-1048831, past the trie's 256";

        Trie farLeaf = oneRuleTrie(0);
        farLeaf.units[256 ^ 'a'] = Trie::node('a', (256 ^ 'a') ^ 4096, true);
        QTest::newRow("rule value past the trie")
            << model(pieces, charsmap(farLeaf, kB)) << "the rule of unit 353 has its value at unit 4096, past the trie's 768";

        std::string longTrie = charsmap(oneRuleTrie(0), kB);
        longTrie[1] = '\x7f';  // the trie's size, 0x0c00 (768 units) as written, now 0x7f00
        QTest::newRow("trie longer than the table")
            << model(pieces, longTrie) << "its trie of 32512 bytes is longer than the table (3078 bytes)";
        QTest::newRow("table of 3 bytes") << model(pieces, std::string("\x04\0\0", 3)) << "it is 3 bytes long";

        // "a" leads back to the root's children: "aaa..." matches a rule at every byte. (A loop
        // without rules is harmless: the healthy tables have one, through their empty units.)
        Trie loop = oneRuleTrie(0);
        loop.units[256 ^ 'a'] = Trie::node('a', (256 ^ 'a') ^ 256, true);
        loop.units[256] = Trie::leaf(0);
        QTest::newRow("a trie that loops through a rule")
            << model(pieces, charsmap(loop, kB)) << "more than 32 rules can match one text (the normalizer keeps 32), through unit 353";

        // "a", "aa", ... 40 rules nested: the normalizer keeps 32 matches in a stack array.
        Trie chain{std::vector<std::uint32_t>(256 * 42, 0)};
        chain.units[0] = Trie::node(0, 256, false);
        for (std::uint32_t depth = 0; depth < 40; ++depth) {
            const std::uint32_t base = 256 * (depth + 1), child = base ^ 'a', next = base + 256;
            chain.units[child] = Trie::node('a', child ^ next, true);
            chain.units[next] = Trie::leaf(0);
        }
        QTest::newRow("more than 32 rules along one text")
            << model(pieces, charsmap(chain, kB)) << "more than 32 rules can match one text";

        QTest::newRow("the denormalizer's table")
            << model(pieces, healthyTable, charsmap(oneRuleTrie(900), kB))
            << "the denormalizer's table (precompiled_charsmap) is broken";
        // NormalizerSpec given twice is merged by protobuf: the later table is the one in force.
        QTest::newRow("a broken table after a healthy one")
            << model(pieces, healthyTable) + bytesField(3, bytesField(2, charsmap(oneRuleTrie(900), kB)))
            << "the normalizer's table (precompiled_charsmap) is broken";
    }
    void hostileModelIsRefused()
    {
        QFETCH(std::string, bytes);
        QFETCH(QString, problem);
        QTemporaryDir dir;
        const std::string path = writeModel(dir, bytes);
        try {
            load(path);
            QFAIL("the model loaded");
        } catch (const Error& e) {
            QCOMPARE(e.file(), path);
            const QString what = QString::fromStdString(e.what());
            QVERIFY2(what.contains(QStringLiteral("spiece.model")) && what.contains(problem), e.what());
        }
    }

    void laterHealthyTableIsTheOneInForce()
    {
        using namespace spmodel;
        QTemporaryDir dir;
        const std::string bytes = model(basicPieces(), charsmap(oneRuleTrie(900), kB)) +
                                  bytesField(3, bytesField(2, charsmap(oneRuleTrie(0), kB)));
        const auto tokenizer = load(writeModel(dir, bytes));
        QCOMPARE(tokenizer->decode(tokenizer->encode("a", false)), std::string("b"));
    }
};

QTEST_APPLESS_MAIN(TestSentencePieceModelCheck)
#include "test_sentencepiece_model_check.moc"
