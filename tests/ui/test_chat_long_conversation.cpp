// A long conversation in the real window at the sizes people use (a laptop's 1280x800, a
// desktop's 1920x1080): twelve turns with answers long enough to wrap, on the demo model (its
// 512 positions hold them all). The pane keeps the newest answer in view, no turn is wider
// than the pane (text wraps, never a sideways scroll), questions and answers are selectable,
// and an answer's folded figures unfold in place. Screenshots for people to look at.

#include "chat_window_support.h"
#include "querylens/demo_model.h"
#include "screenshots.h"

#include <QLabel>
#include <QScrollBar>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>

using namespace chattest;

namespace {

const QStringList kQuestions = {
    QStringLiteral("what is in the picture?"),
    QStringLiteral("what colour is the animal on the left, and is it looking at the camera?"),
    QStringLiteral("is it indoors or outdoors?"),
    QStringLiteral("what is the animal lying on?"),
    QStringLiteral("describe the background in detail, including any furniture, windows, cushions, blankets, remote "
                   "controls or plants you can see, and say which of them is closest to the animals and which is "
                   "furthest away from them"),
    QStringLiteral("how many animals are there?"),
    QStringLiteral("what time of day does it look like?"),
    QStringLiteral("is there anything unusual about the picture?"),
    QStringLiteral("what would you title this photo?"),
    QStringLiteral("which part of the picture is the brightest?"),
    QStringLiteral("does the animal look asleep?"),
    QStringLiteral("summarise the picture in one sentence."),
};

// Where `w` is inside the scroll area's viewport.
QRect inViewport(QWidget* w, ConversationView* view)
{
    return QRect(w->mapTo(view->viewport(), QPoint(0, 0)), w->size());
}

}  // namespace

class TestChatLongConversation : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        keepTheUserOut(sessions_.filePath(QStringLiteral("sessions")));
        demoFolder_ = demo_.filePath(QStringLiteral("demo")).toStdString();
        writeDemoModel(demoFolder_);
    }

    void aLongConversationWrapsAndKeepsTheNewestAnswerInView_data()
    {
        QTest::addColumn<QSize>("size");
        QTest::newRow("laptop 1280x800") << QSize(1280, 800);
        QTest::newRow("desktop 1920x1080") << QSize(1920, 1080);
    }
    void aLongConversationWrapsAndKeepsTheNewestAnswerInView()
    {
        QFETCH(QSize, size);
        LoadedWindow loaded(demoFolder_);
        loaded.window.resize(size);
        DecodingOptions longAnswers;
        longAnswers.maxNewTokens = 24;
        longAnswers.stopAtEos = false;  // the demo model's random weights would often stop at once
        loaded.window.decodingPanel()->setOptions(longAnswers);
        QVERIFY(openFixtureImage(loaded.window));
        for (const QString& question : kQuestions)
            QVERIFY2(askByKeyboard(loaded, question), qPrintable(question));

        ConversationView* view = loaded.view();
        const QList<TurnWidget*> turns = view->turns();
        QCOMPARE(turns.size(), kQuestions.size());
        for (int i = 0; i < turns.size(); ++i) {
            QCOMPARE(turns[i]->questionText(), kQuestions[i]);
            QCOMPARE(turns[i]->answerText().toStdString(), loaded.conversation()->find(turns[i]->turnId())->answer);
        }

        // Twelve turns do not fit: the pane scrolls, and it stayed at the newest answer, whose
        // bottom is on screen.
        QScrollBar* bar = view->verticalScrollBar();
        QVERIFY(bar->maximum() > 0);
        QTRY_COMPARE(bar->value(), bar->maximum());
        // ... and ends there: no blank space below it (the pane is as tall as its turns).
        const QRect last = inViewport(turns.last(), view);
        const int below = view->viewport()->height() - (last.bottom() + 1);
        QVERIFY2(below >= 0 && below <= 24,
                 qPrintable(QStringLiteral("last turn from %1 to %2 in a %3 px high viewport")
                                .arg(last.top())
                                .arg(last.bottom())
                                .arg(view->viewport()->height())));

        // Text wraps inside the pane: no turn is wider than the viewport, and a long answer
        // takes several lines. Questions and answers can be selected and copied.
        int wrapped = 0;
        for (TurnWidget* turn : turns) {
            QVERIFY(inViewport(turn, view).right() <= view->viewport()->width());
            for (const QString& name : {QStringLiteral("questionText"), QStringLiteral("answerText")}) {
                auto* label = turn->findChild<QLabel*>(name);
                QVERIFY(label && label->wordWrap());
                QVERIFY(label->textInteractionFlags() & Qt::TextSelectableByMouse);
                QVERIFY(label->width() <= view->viewport()->width());
                // As tall as its text at its width (once the layout has settled: the scroll
                // bar's arrival relays it out later): no blank line under "You" from a height
                // guessed at another width.
                QTRY_VERIFY2(label->height() == label->heightForWidth(label->width()),
                         qPrintable(QStringLiteral("%1: %2 px for %3").arg(label->text()).arg(label->height())
                                        .arg(label->heightForWidth(label->width()))));
                if (label->fontMetrics().horizontalAdvance(label->text()) > label->width()) {
                    QVERIFY2(label->height() >= 2 * label->fontMetrics().height(), qPrintable(label->text()));
                    ++wrapped;
                }
            }
        }
        QVERIFY(wrapped > 0);  // the long question does not fit one line at either size
        const QString tag = QStringLiteral("%1x%2").arg(size.width()).arg(size.height());
        saveScreenshot(loaded.window, QStringLiteral("27-long-conversation-") + tag);

        // The newest answer's figures unfold in place, and it stays in view.
        TurnWidget* newest = turns.last();
        newest->findChild<QToolButton*>(QStringLiteral("detailsButton"))->click();
        QVERIFY(newest->detailsShown());
        QVERIFY(newest->detailsText().contains(QStringLiteral("24 tokens")));
        QTRY_COMPARE(bar->value(), bar->maximum());
        saveScreenshot(loaded.window, QStringLiteral("28-long-conversation-details-") + tag);

        // Scrolled back to the start, the first turn is on screen again, text intact.
        bar->setValue(0);
        QVERIFY(inViewport(turns.first(), view).top() >= 0);
        QCOMPARE(turns.first()->questionText(), kQuestions.first());
    }

private:
    QTemporaryDir sessions_;
    QTemporaryDir demo_;
    std::string demoFolder_;
};

QTEST_MAIN(TestChatLongConversation)
#include "test_chat_long_conversation.moc"
