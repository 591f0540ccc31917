// querylens::printableText and Error: bytes quoted from a file reach a terminal only as
// printable text. Valid UTF-8 stays readable; everything a terminal could act on is escaped.

#include "querylens/error.h"

#include <QtTest>

class TestPrintableText : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void escapesWhatIsNotPrintable_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QByteArray>("expected");
        QTest::newRow("ASCII") << QByteArray("a photo of a cat") << QByteArray("a photo of a cat");
        QTest::newRow("UTF-8 of 2, 3 and 4 bytes")
            << QByteArray("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x90\x88") << QByteArray("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x90\x88");
        QTest::newRow("ESC sequence") << QByteArray("\x1b[31mred") << QByteArray("\\x1b[31mred");
        QTest::newRow("NUL, BEL, DEL") << QByteArray("a\x00\x07\x7f", 4) << QByteArray("a\\x00\\x07\\x7f");
        QTest::newRow("line breaks and tabs") << QByteArray("a\nb\r\tc") << QByteArray("a\\nb\\r\\tc");
        QTest::newRow("bytes that are not UTF-8") << QByteArray("\xff\xfe") << QByteArray("\\xff\\xfe");
        QTest::newRow("overlong encoding of '/'") << QByteArray("\xc0\xaf") << QByteArray("\\xc0\\xaf");
        QTest::newRow("UTF-16 surrogate") << QByteArray("\xed\xa0\x80") << QByteArray("\\xed\\xa0\\x80");
        QTest::newRow("truncated sequence at the end") << QByteArray("ok\xe6\x97") << QByteArray("ok\\xe6\\x97");
        QTest::newRow("C1 control CSI (U+009B)") << QByteArray("\xc2\x9b" "2J") << QByteArray("\\xc2\\x9b2J");
        QTest::newRow("no-break space (U+00A0) stays") << QByteArray("a\xc2\xa0" "b") << QByteArray("a\xc2\xa0" "b");
        QTest::newRow("beyond U+10FFFF") << QByteArray("\xf4\x90\x80\x80") << QByteArray("\\xf4\\x90\\x80\\x80");
    }
    void escapesWhatIsNotPrintable()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QByteArray, expected);
        QCOMPARE(QByteArray::fromStdString(querylens::printableText(bytes.toStdString())), expected);
    }

    void cutsLongTextAndSaysSo()
    {
        const std::string text = querylens::printableText(std::string(5000, 'x'), 200);
        QCOMPARE(text, std::string(200, 'x') + "...");
        QCOMPARE(querylens::printableText("short", 200), std::string("short"));
    }

    void errorsArePrintableAndKeepTheirLayout()
    {
        const querylens::Error error("line 3: '\x1b]0;title\x07'\nsecond line\tindented", "merges.txt", "key\x1b");
        QCOMPARE(std::string(error.what()),
                 std::string("merges.txt: 'key\\x1b': line 3: '\\x1b]0;title\\x07'\nsecond line\tindented"));
        QCOMPARE(error.message(), std::string("line 3: '\\x1b]0;title\\x07'\nsecond line\tindented"));
        QCOMPARE(error.key(), std::string("key\x1b"));  // kept for code that looks the key up
    }
};

QTEST_GUILESS_MAIN(TestPrintableText)
#include "test_printable_text.moc"
