#pragma once
// One turn of a conversation on screen: the question (with "2 / 3" arrows between its versions
// and an edit button), the answer as it streams in, and its actions (regenerate, with other
// settings too; copy; compare) and figures, folded away until asked for.

#include "querylens/conversation.h"

#include <QFrame>

class QLabel;
class QTimer;
class QToolButton;

namespace querylens::ui {

class TurnWidget : public QFrame {
    Q_OBJECT
public:
    // `canChange`: versions can be switched (no answer is streaming and nobody else writes the
    // session); `canGenerate`: also edited and regenerated (a model and the image are there).
    TurnWidget(const Conversation& conversation, const Turn& turn, bool generating, bool canChange, bool canGenerate,
               QWidget* parent = nullptr);

    int turnId() const { return turnId_; }
    void appendAnswer(const QString& delta);
    QString answerText() const;
    QString questionText() const;
    QString detailsText() const;
    bool detailsShown() const;
    void setDetailsShown(bool shown);

signals:
    void editRequested(int turnId);
    void regenerateRequested(int turnId, bool otherSettings);
    void versionRequested(int turnId, int delta);
    void compareRequested(int turnId);

private:
    QToolButton* toolButton(const QString& name, const QString& text, const QString& tip);

    int turnId_ = 0;
    QString streamed_;
    QLabel* question_;
    QLabel* answer_;
    QLabel* note_;
    QLabel* details_;
    QToolButton* detailsButton_;
    QTimer* flush_;  // streamed text is shown at most every 30 ms, not once per token
};

// The folded figures of an answer: tokens, time to first token, tokens/s, positions reused of
// the prompt's, stop reason, settings, model.
QString describeTurn(const Turn& turn);

}  // namespace querylens::ui
