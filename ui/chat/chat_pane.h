#pragma once
// The conversation pane: the branch on screen (ConversationView), a banner for what needs the
// user (an image that moved, a model that is missing, a session open elsewhere), the recent
// sessions when there is no conversation yet, and the question box. It shows and asks; the
// ChatController decides.

#include "querylens/conversation.h"
#include "querylens/session_store.h"

#include <QWidget>

#include <functional>
#include <vector>

class QLabel;
class QListWidget;
class QPushButton;
class QStackedWidget;

namespace querylens::ui {

class ConversationView;
class QuestionEdit;

class ChatPane : public QWidget {
    Q_OBJECT
public:
    explicit ChatPane(QWidget* parent = nullptr);

    // The conversation (null: none yet, the start page with the recent sessions).
    void showConversation(const Conversation* conversation, int generatingTurn, bool readOnly, bool canGenerate = true);
    void appendAnswer(int turnId, const QString& delta);
    void setRecentSessions(const std::vector<SessionSummary>& sessions);
    // A banner above the conversation; `action` (with its button text) is what it offers.
    void showNotice(const QString& text, const QString& actionText = {}, std::function<void()> action = {});
    void hideNotice();
    QString noticeText() const;

    void setBusy(bool busy);  // a job runs: Stop is offered
    // Whether a question can be sent now; `why` is shown when not.
    void setCanAsk(bool can, const QString& why = {});
    void beginEdit(int turnId, const QString& question);
    void cancelEdit();
    int editedTurn() const { return editedTurn_; }
    void focusQuestion();

    ConversationView* view() const { return view_; }
    QuestionEdit* questionEdit() const { return question_; }
    QListWidget* recentList() const { return recent_; }
    QString transcriptText() const;

signals:
    // `editedTurn`: the turn whose question this replaces (0: a new question at the end).
    void questionSubmitted(const QString& question, int editedTurn);
    void editLastRequested();
    void stopRequested();
    void newConversationRequested();
    void sessionOpenRequested(const QString& name);
    void imageFilesDropped(const QStringList& paths);
    void imageDropped(const QImage& image);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void send();

    QLabel* title_;
    QPushButton* newConversation_;
    QWidget* notice_;
    QLabel* noticeLabel_;
    QPushButton* noticeAction_;
    std::function<void()> noticeCallback_;
    QStackedWidget* pages_;
    ConversationView* view_;
    QLabel* startHint_;
    QListWidget* recent_;
    QLabel* editBanner_;
    QLabel* cannotAsk_;
    QuestionEdit* question_;
    QPushButton* send_;
    QPushButton* stop_;
    int editedTurn_ = 0;
    bool canAsk_ = false;
};

}  // namespace querylens::ui
