#pragma once
// The turns of the branch on screen, top to bottom, in a scroll area that follows the answer
// being generated. Rebuilt when the branch changes (a handful of widgets); streamed text goes
// only to the turn being answered.

#include "querylens/conversation.h"

#include <QScrollArea>

class QVBoxLayout;

namespace querylens::ui {

class TurnWidget;

class ConversationView : public QScrollArea {
    Q_OBJECT
public:
    explicit ConversationView(QWidget* parent = nullptr);

    // `generatingTurn`: the turn whose answer is streaming (0: none); while it streams nothing
    // changes. `readOnly`: someone else writes the session. `canGenerate`: a model and the image
    // are there, so questions can be edited and answers regenerated.
    void setConversation(const Conversation& conversation, int generatingTurn, bool readOnly, bool canGenerate);
    void clear();
    void appendAnswer(int turnId, const QString& delta);

    QList<TurnWidget*> turns() const;
    TurnWidget* turn(int turnId) const;
    QString transcriptText() const;  // what a person reads, question and answer per turn

signals:
    void editRequested(int turnId);
    void regenerateRequested(int turnId, bool otherSettings);
    void versionRequested(int turnId, int delta);
    void compareRequested(int turnId);

private:
    QWidget* content_;
    QVBoxLayout* layout_;
    bool followEnd_ = true;  // keep the newest text in view unless the user scrolled up
};

}  // namespace querylens::ui
