// The conversation pane of the real window on the fixture model: questions typed and sent with
// Enter; an edited question and a regenerated answer become versions of their turn with "1 / 2"
// arrows that switch between them; a regeneration with other settings keeps both; a branch
// reuses the language model's cache (the positions shown in the folded details); the keys
// (Shift+Enter, Up, Esc, Ctrl+R, Ctrl+F) and Help > Keyboard Shortcuts; an image dropped on the
// chat; the splitter remembered; and two answers' evidence compared side by side.

#include "chat/compare_dialog.h"
#include "chat/session_browser.h"
#include "chat/shortcuts_dialog.h"
#include "chat_window_support.h"
#include "explorer/bar_chart.h"
#include "explorer/explorer_panel.h"
#include "explorer/map_view.h"
#include "querylens/demo_model.h"
#include "screenshots.h"

#include <QClipboard>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QChart>
#include <QGraphicsScene>
#include <QGraphicsTextItem>
#include <QLabel>
#include <QTreeWidget>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTimer>

using namespace chattest;

namespace {

// Runs `act` on the next modal dialog to open (from the event loop, while exec() runs).
void onNextModal(std::function<void(QWidget*)> act)
{
    QTimer::singleShot(0, [act] {
        QWidget* modal = QApplication::activeModalWidget();
        if (modal)
            act(modal);
    });
}

// The text QtCharts draws in a chart (title, axis labels), as written on screen: an elided
// label shows as "...".
QStringList drawnTexts(BarChart& chart)
{
    QStringList texts;
    for (QGraphicsItem* item : chart.chart()->scene()->items())
        if (auto* text = dynamic_cast<QGraphicsTextItem*>(item); text && text->isVisible())
            texts << text->toPlainText();
    return texts;
}

QMenu* menuNamed(QMainWindow& window, const QString& title)
{
    for (QAction* a : window.menuBar()->actions())
        if (a->menu() && a->text().remove(QLatin1Char('&')) == title)
            return a->menu();
    return nullptr;
}

}  // namespace

class TestChatWindow : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        keepTheUserOut(sessions_.filePath(QStringLiteral("sessions")));
    }

    void enterSendsAndShiftEnterStartsALine()
    {
        LoadedWindow loaded;
        QVERIFY(openFixtureImage(loaded.window));
        QuestionEdit* box = loaded.pane()->questionEdit();
        box->setFocus();
        QTest::keyClicks(box, QStringLiteral("what is in"));
        QTest::keyClick(box, Qt::Key_Return, Qt::ShiftModifier);
        QTest::keyClicks(box, QStringLiteral("the picture?"));
        QCOMPARE(box->toPlainText(), QStringLiteral("what is in\nthe picture?"));
        QVERIFY(!loaded.conversation());  // nothing sent yet
        QSignalSpy answered(&loaded.window, &MainWindow::answerFinished);
        QTest::keyClick(box, Qt::Key_Return);
        QVERIFY(answered.wait(kTimeoutMs));
        QVERIFY(box->toPlainText().isEmpty());
        const Conversation* c = loaded.conversation();
        QVERIFY(c);
        QCOMPARE(c->turns().size(), std::size_t(1));
        QCOMPARE(c->turns().front().question, std::string("what is in\nthe picture?"));
        QCOMPARE(c->turns().front().state, TurnState::Complete);
        QCOMPARE(loaded.view()->turn(1)->answerText().toStdString(), c->turns().front().answer);
    }

    void editCreatesAVersionAndTheArrowsSwitch()
    {
        LoadedWindow loaded;
        QVERIFY(openFixtureImage(loaded.window));
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what is in the picture?")));
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what colour is the cat?")));
        const std::string firstAnswer = loaded.conversation()->find(2)->answer;

        // Edit the second question with its button: the box takes it, Enter asks the new one.
        QToolButton* edit = turnButton(loaded, 2, QStringLiteral("editQuestion"));
        QVERIFY(edit && edit->isEnabled());
        edit->click();
        QuestionEdit* box = loaded.pane()->questionEdit();
        QCOMPARE(box->toPlainText(), QStringLiteral("what colour is the cat?"));
        box->selectAll();
        QSignalSpy answered(&loaded.window, &MainWindow::answerFinished);
        QTest::keyClicks(box, QStringLiteral("what colour is the sofa?"));
        QTest::keyClick(box, Qt::Key_Return);
        QVERIFY(answered.wait(kTimeoutMs));

        const Conversation* c = loaded.conversation();
        QCOMPARE(c->children(1), (std::vector<int>{2, 3}));
        QCOMPARE(c->activePath(), (std::vector<int>{1, 3}));
        auto* label = loaded.view()->turn(3)->findChild<QLabel*>(QStringLiteral("versionLabel"));
        QVERIFY(label);
        QCOMPARE(label->text(), QStringLiteral("2 / 2"));
        saveScreenshot(loaded.window, QStringLiteral("21-branched-conversation"));

        // The left arrow shows the first version again, with its answer.
        QToolButton* previous = turnButton(loaded, 3, QStringLiteral("previousVersion"));
        QVERIFY(previous && previous->isEnabled());
        previous->click();
        QCOMPARE(loaded.conversation()->activePath(), (std::vector<int>{1, 2}));
        QCOMPARE(loaded.view()->turn(2)->findChild<QLabel*>(QStringLiteral("versionLabel"))->text(), QStringLiteral("1 / 2"));
        QCOMPARE(loaded.view()->turn(2)->answerText().toStdString(), firstAnswer);
        QVERIFY(!turnButton(loaded, 2, QStringLiteral("previousVersion"))->isEnabled());
        turnButton(loaded, 2, QStringLiteral("nextVersion"))->click();
        QCOMPARE(loaded.conversation()->activePath(), (std::vector<int>{1, 3}));

        // Back on the first version, a follow-up: the edited branch was answered last, yet the
        // first branch's own cache was kept, so its whole prompt (the image's queries and
        // every token of turn 2's prompt) is reused, not only what the two branches share.
        turnButton(loaded, 3, QStringLiteral("previousVersion"))->click();
        QCOMPARE(loaded.conversation()->activePath(), (std::vector<int>{1, 2}));
        QVERIFY(askByKeyboard(loaded, QStringLiteral("is it big?")));
        const Conversation* after = loaded.conversation();
        QCOMPARE(after->activePath(), (std::vector<int>{1, 2, 4}));
        const GenerationResult& second = after->find(2)->result;
        const GenerationResult& followUp = after->find(4)->result;
        const int queries = int(followUp.queryIndices.size());
        QVERIFY2(followUp.reusedPositions >= queries + second.promptTokens,
                 qPrintable(QStringLiteral("reused %1, turn 2's prompt %2 + %3 queries")
                                .arg(followUp.reusedPositions)
                                .arg(second.promptTokens)
                                .arg(queries)));
        QVERIFY(followUp.reusedPositions < queries + followUp.promptTokens);  // the new question is computed
        QVERIFY(after->find(3)->result.reusedPositions < queries + second.promptTokens);  // the edit shared less
    }

    void regenerateWithOtherSettingsKeepsBothAndReusesTheCache()
    {
        LoadedWindow loaded;
        QVERIFY(openFixtureImage(loaded.window));
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what is in the picture?")));
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what colour is it?")));
        const Turn original = *loaded.conversation()->find(2);

        // Regenerate ▸ with other settings: the dialog starts from the turn's settings; sampling
        // with a seed is chosen there.
        QToolButton* regenerate = turnButton(loaded, 2, QStringLiteral("regenerateAnswer"));
        QVERIFY(regenerate && regenerate->menu());
        DecodingOptions sampling = greedy();
        sampling.doSample = true;
        sampling.temperature = 1.5;
        sampling.seed = 7;
        bool dialogSeen = false;
        onNextModal([&](QWidget* dialog) {
            auto* panel = dialog->findChild<DecodingPanel*>();
            dialogSeen = panel && panel->options().maxNewTokens == original.options.maxNewTokens && !panel->options().doSample;
            if (panel)
                panel->setOptions(sampling);
            dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok)->click();
        });
        QSignalSpy answered(&loaded.window, &MainWindow::answerFinished);
        regenerate->menu()->actions().at(1)->trigger();
        QVERIFY(dialogSeen);
        QVERIFY(answered.wait(kTimeoutMs));

        const Conversation* c = loaded.conversation();
        QCOMPARE(c->children(1), (std::vector<int>{2, 3}));
        const Turn& again = *c->find(3);
        QCOMPARE(again.question, original.question);
        QVERIFY(again.options.doSample);
        QCOMPARE(again.options.seed, std::uint64_t(7));
        QVERIFY(!c->find(2)->options.doSample);
        QCOMPARE(c->find(2)->answer, original.answer);  // the first version is kept as it was
        // The regenerated turn's prompt was all in the cache but its last token (OPT): the
        // image's 32 query positions and every prompt token before the last.
        const GenerationResult& r = again.result;
        QCOMPARE(r.reusedPositions, int(r.queryIndices.size()) + r.promptTokens - 1);
        // The folded details say so.
        TurnWidget* turn = loaded.view()->turn(3);
        QVERIFY(!turn->detailsShown());
        turn->findChild<QToolButton*>(QStringLiteral("detailsButton"))->click();
        QVERIFY(turn->detailsShown());
        const QString details = turn->detailsText();
        QVERIFY2(details.contains(QStringLiteral("%1 of %2 prompt positions reused")
                                      .arg(r.reusedPositions)
                                      .arg(int(r.queryIndices.size()) + r.promptTokens)),
                 qPrintable(details));
        QVERIFY2(details.contains(QStringLiteral("sampling (temperature 1.50")), qPrintable(details));
        QVERIFY2(details.contains(QStringLiteral("tokens/s")) && details.contains(QStringLiteral("first token")),
                 qPrintable(details));

        // Ctrl+R regenerates the last answer: a third version. (Shortcuts go to the active
        // window, which the settings dialog was a moment ago.)
        loaded.window.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&loaded.window));
        QTest::keyClick(&loaded.window, Qt::Key_R, Qt::ControlModifier);
        QVERIFY(answered.wait(kTimeoutMs));
        QCOMPARE(loaded.conversation()->children(1), (std::vector<int>{2, 3, 4}));
        QCOMPARE(loaded.view()->turn(4)->findChild<QLabel*>(QStringLiteral("versionLabel"))->text(), QStringLiteral("3 / 3"));
    }

    void upEditsTheLastQuestionAndEscGivesUp()
    {
        LoadedWindow loaded;
        QVERIFY(openFixtureImage(loaded.window));
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what is in the picture?")));
        QuestionEdit* box = loaded.pane()->questionEdit();
        box->setFocus();
        QTest::keyClick(box, Qt::Key_Up);
        QVERIFY(box->isEditing());
        QCOMPARE(loaded.pane()->editedTurn(), 1);
        QCOMPARE(box->toPlainText(), QStringLiteral("what is in the picture?"));
        QTest::keyClick(box, Qt::Key_Escape);
        QVERIFY(!box->isEditing());
        QVERIFY(box->toPlainText().isEmpty());
        QCOMPARE(loaded.conversation()->turns().size(), std::size_t(1));
    }

    void escStopsAnAnswerAndKeepsItsText()
    {
        static QTemporaryDir demo;
        const std::string folder = demo.filePath(QStringLiteral("demo")).toStdString();
        writeDemoModel(folder);
        LoadedWindow loaded(folder);
        QVERIFY(openFixtureImage(loaded.window));
        DecodingOptions longAnswer;
        longAnswer.maxNewTokens = 400;
        longAnswer.stopAtEos = false;
        loaded.window.decodingPanel()->setOptions(longAnswer);
        QuestionEdit* box = loaded.pane()->questionEdit();
        box->setFocus();
        QTest::keyClicks(box, QStringLiteral("what is it?"));
        QTest::keyClick(box, Qt::Key_Return);
        QVERIFY(loaded.window.isBusy());
        QTest::keyClick(box, Qt::Key_Escape);  // the window's Stop: the box is not editing
        QTRY_VERIFY_WITH_TIMEOUT(!loaded.window.isBusy(), kTimeoutMs);
        const Turn& t = loaded.conversation()->turns().front();
        QCOMPARE(t.state, TurnState::Stopped);
        QVERIFY(t.result.sequences.empty() || t.result.sequences.front().ids.size() < 400);
        QVERIFY2(loaded.view()->turn(t.id)->findChild<QLabel*>(QStringLiteral("answerNote"))->text().contains(QStringLiteral("stopped")),
                 "the turn says it was stopped");
    }

    void ctrlFSearchesTheConversations()
    {
        {
            LoadedWindow loaded;
            QVERIFY(openFixtureImage(loaded.window));
            QVERIFY(askByKeyboard(loaded, QStringLiteral("is there a zebra?")));
        }
        LoadedWindow loaded;
        QTest::keyClick(&loaded.window, Qt::Key_F, Qt::ControlModifier);
        auto* browser = loaded.window.findChild<SessionBrowser*>();
        QVERIFY(browser && browser->isVisible());
        QSignalSpy loadedSpy(browser, &SessionBrowser::loaded);
        QVERIFY(loadedSpy.wait(kTimeoutMs));
        QTest::keyClicks(browser->searchField(), QStringLiteral("ZEBRA"));
        QVERIFY(!browser->visibleNames().isEmpty());
        QVERIFY(browser->list()->topLevelItem(0)->text(1).contains(QStringLiteral("zebra")));
        browser->setFilter(QStringLiteral("zebra giraffe-that-was-never-asked"));
        QVERIFY(browser->visibleNames().isEmpty());
        browser->setFilter(QStringLiteral("zebra"));
        QSignalSpy opened(loaded.window.library(), &ImageLibrary::currentChanged);
        QTest::keyClick(browser->list(), Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(loaded.conversation() != nullptr, kTimeoutMs);
        QCOMPARE(loaded.conversation()->title, std::string("is there a zebra?"));
    }

    void shortcutsAreListedFromTheActions()
    {
        LoadedWindow loaded(testsupport::fixturePath("tiny-opt"), false);
        QMenu* help = menuNamed(loaded.window, QStringLiteral("Help"));
        QVERIFY(help);
        QStringList rows;
        onNextModal([&](QWidget* dialog) {
            if (auto* table = dialog->findChild<QTableWidget*>(QStringLiteral("shortcutsTable")))
                for (int r = 0; r < table->rowCount(); ++r)
                    rows << table->item(r, 0)->text() + QStringLiteral(" = ") + table->item(r, 1)->text();
            saveScreenshot(*dialog, QStringLiteral("24-keyboard-shortcuts"));
            static_cast<QDialog*>(dialog)->accept();
        });
        help->actions().front()->trigger();
        const QString all = rows.join(QLatin1Char('\n'));
        for (const QString& expected : {QStringLiteral("Send the question (in the question box) = Enter"),
                                        QStringLiteral("New line in the question = Shift+Enter"),
                                        QStringLiteral("Edit the last question (in an empty question box) = Up"),
                                        QStringLiteral("Regenerate Answer = Ctrl+R"), QStringLiteral("Stop = Esc"),
                                        QStringLiteral("Find in Conversations = Ctrl+F")})
            QVERIFY2(all.contains(expected), qPrintable(all));
    }

    // A picture given to the conversation (dropped on the pane, or pasted into the question box
    // as a file or as pixels) opens, is captioned, and the next question is about it. Pixels
    // with no file are kept as PNG beside the sessions, so that the conversation can reopen.
    void anImageGivenToTheChatStartsAConversation_data()
    {
        QTest::addColumn<QString>("how");
        QTest::newRow("file dropped on the pane") << QStringLiteral("drop");
        QTest::newRow("file pasted in the question box") << QStringLiteral("paste file");
        QTest::newRow("picture pasted in the question box") << QStringLiteral("paste pixels");
    }
    void anImageGivenToTheChatStartsAConversation()
    {
        QFETCH(QString, how);
        LoadedWindow loaded;
        QSignalSpy captioned(&loaded.window, &MainWindow::captionFinished);
        QuestionEdit* box = loaded.pane()->questionEdit();
        if (how == QStringLiteral("drop")) {
            dropFile(loaded.pane(), fixture("image.png"));
        } else {
            auto* mime = new QMimeData;
            if (how == QStringLiteral("paste file"))
                mime->setUrls({QUrl::fromLocalFile(fixture("image.png"))});
            else
                mime->setImageData(QImage(fixture("image.png")));
            QApplication::clipboard()->setMimeData(mime);
            box->setFocus();
            QTest::keyClick(box, Qt::Key_V, Qt::ControlModifier);
            QVERIFY(box->toPlainText().isEmpty());  // the picture, not its name, was taken
        }
        QVERIFY(captioned.wait(kTimeoutMs));  // a given image is captioned first
        QTRY_VERIFY_WITH_TIMEOUT(box->hasFocus(), kTimeoutMs);
        const ImageDocument* d = loaded.window.library()->current();
        QVERIFY(d);
        QCOMPARE(d->sha256.size(), 64);
        if (how == QStringLiteral("paste pixels")) {
            QVERIFY2(d->file.startsWith(QString::fromStdString(loaded.window.chat()->store().imageFolder())), qPrintable(d->file));
            QCOMPARE(QImage(d->file).size(), QImage(fixture("image.png")).size());
        } else {
            QCOMPARE(d->file, QFileInfo(fixture("image.png")).absoluteFilePath());
        }
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what is in the picture?")));
        QCOMPARE(loaded.conversation()->image.sha256, d->sha256.toStdString());
        QCOMPARE(QString::fromStdString(loaded.conversation()->image.path), d->file);
    }

    void theSplitterIsRemembered()
    {
        QList<int> chosen;
        {
            LoadedWindow loaded(testsupport::fixturePath("tiny-opt"), false);
            auto* splitter = loaded.window.findChild<QSplitter*>(QStringLiteral("describeSplitter"));
            QVERIFY(splitter);
            splitter->setSizes({400, 900});
            chosen = splitter->sizes();
        }
        LoadedWindow again(testsupport::fixturePath("tiny-opt"), false);
        QCOMPARE(again.window.findChild<QSplitter*>(QStringLiteral("describeSplitter"))->sizes(), chosen);
        QVERIFY(chosen[1] > chosen[0]);
    }

    void twoAnswersAreComparedSideBySide()
    {
        LoadedWindow loaded;
        QVERIFY(openFixtureImage(loaded.window));
        QVERIFY(askByKeyboard(loaded, QStringLiteral("what is in the picture?")));
        // A second version of the answer, sampled: another text to compare with.
        DecodingOptions sampling = greedy();
        sampling.doSample = true;
        sampling.temperature = 2.0;
        sampling.seed = 3;
        QSignalSpy answered(&loaded.window, &MainWindow::answerFinished);
        loaded.window.chat()->regenerate(1, sampling);
        QVERIFY(answered.wait(kTimeoutMs));
        saveScreenshot(loaded.window, QStringLiteral("20-wide-chat"));

        turnButton(loaded, 2, QStringLiteral("compareAnswer"))->click();
        CompareDialog* compare = loaded.window.chat()->compareDialog();
        QVERIFY(compare && compare->isVisible());
        QCOMPARE(compare->answer(0), 2);
        QCOMPARE(compare->answer(1), 1);  // its sibling
        QVERIFY(!compare->words(0).isEmpty() && !compare->words(1).isEmpty());

        // Choose the first word on each side and check the figures against the answers' tokens.
        compare->selectWord(0, 0);
        compare->selectWord(1, 0);
        const Conversation* c = loaded.conversation();
        for (int side = 0; side < 2; ++side) {
            const GenerationResult& result = c->find(compare->answer(side))->result;
            const auto words = wordsOf(result.sequences.front());
            std::vector<float> expected(32, 0.0f);
            for (int t : words.front().tokens)
                for (int q = 0; q < 32; ++q)
                    expected[std::size_t(q)] += result.sequences.front().tokens[std::size_t(t)].queryAttention[std::size_t(q)] /
                                                float(words.front().tokens.size());
            const std::vector<float>& weights = compare->queryWeights(side);
            QCOMPARE(weights.size(), std::size_t(32));
            for (int q = 0; q < 32; ++q)
                QVERIFY(std::abs(weights[std::size_t(q)] - expected[std::size_t(q)]) < 1e-6f);
            QCOMPARE(compare->wordMap(side).size(), std::size_t(16 * 16));
            QCOMPARE(compare->barChart(side == 0 ? 0 : 2)->barCount(), 32);
            QCOMPARE(compare->mapView(side == 0 ? 0 : 2)->patches(), compare->wordMap(side));
        }
        const std::vector<float> difference = compare->differenceMap();
        QCOMPARE(difference.size(), std::size_t(256));
        for (std::size_t i = 0; i < difference.size(); ++i)
            QCOMPARE(difference[i], compare->wordMap(0)[i] - compare->wordMap(1)[i]);
        QCOMPARE(compare->mapView(1)->patches(), difference);
        const auto& bars = compare->barChart(1)->values();
        QCOMPARE(bars.size(), std::size_t(32));
        QCOMPARE(bars[5], double(compare->queryWeights(0)[5]) - compare->queryWeights(1)[5]);
        QVERIFY2(compare->summaryText().contains(QStringLiteral("cosine")), qPrintable(compare->summaryText()));
        // Every query bar chart, at the width the dialog gives it, writes its query numbers whole
        // (every fourth here), each under its bar, and no label cut to an ellipsis.
        for (int column = 0; column < 3; ++column) {
            BarChart& chart = *compare->barChart(column);
            QTRY_VERIFY(drawnTexts(chart).contains(QStringLiteral("28")));
            const QStringList drawn = drawnTexts(chart);
            QVERIFY2(std::none_of(drawn.begin(), drawn.end(), [](const QString& t) { return t.contains(QStringLiteral("...")); }),
                     qPrintable(drawn.join(QLatin1Char('|'))));
            QVERIFY2(chart.labelStep() <= 4, qPrintable(QString::number(chart.labelStep())));
            for (const QString& label : chart.writtenLabels())
                QVERIFY2(drawn.contains(label), qPrintable(label + QStringLiteral(" not in ") + drawn.join(QLatin1Char('|'))));
        }
        saveScreenshot(*compare, QStringLiteral("22-compare-answers"));

        // Another answer from the chooser.
        QComboBox* chooserB = compare->answerChooser(1);
        QCOMPARE(chooserB->count(), 2);
        compare->close();
    }

    // 32 query bars at any width: the numbers written are whole and under their bars, fewer of
    // them as the chart narrows, never an ellipsis.
    void queryBarsStayReadableAtAnyWidth_data()
    {
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("mostStep");
        QTest::newRow("explorer side panel, 220 px") << 220 << 16;
        QTest::newRow("compare column, 424 px") << 424 << 4;
        QTest::newRow("wide, 900 px") << 900 << 2;
    }
    void queryBarsStayReadableAtAnyWidth()
    {
        QFETCH(int, width);
        QFETCH(int, mostStep);
        BarChart chart(QStringLiteral("weight"));
        QStringList labels;
        std::vector<double> values;
        for (int q = 0; q < 32; ++q) {
            labels << QString::number(q);
            values.push_back(0.01 * (q % 7));
        }
        chart.setBars(labels, values, QStringLiteral("weight of each query"), 0.1);
        chart.resize(width, 200);
        chart.show();
        QVERIFY(QTest::qWaitForWindowExposed(&chart));
        QTRY_VERIFY(drawnTexts(chart).contains(QStringLiteral("0")));
        QTRY_VERIFY(drawnTexts(chart).contains(chart.writtenLabels().back()));
        const QStringList drawn = drawnTexts(chart);
        QVERIFY2(!drawn.join(QLatin1Char('|')).contains(QStringLiteral("...")), qPrintable(drawn.join(QLatin1Char('|'))));
        for (const QString& label : chart.writtenLabels())
            QVERIFY2(drawn.contains(label), qPrintable(label + QStringLiteral(" not in ") + drawn.join(QLatin1Char('|'))));
        QVERIFY2(chart.labelStep() <= mostStep, qPrintable(QString::number(chart.labelStep())));
        QCOMPARE(chart.writtenLabels().size(), (32 + chart.labelStep() - 1) / chart.labelStep());
    }

private:
    QTemporaryDir sessions_;
};

QTEST_MAIN(TestChatWindow)
#include "test_chat_window.moc"
