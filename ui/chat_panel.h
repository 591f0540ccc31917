#pragma once
// A conversation about the current image: the transcript, a question box (Enter sends), and
// Clear. Answers stream in; each follow-up reuses what the model already computed.

#include "image_library.h"

#include <QWidget>

class QTimer;

class QLineEdit;
class QPushButton;
class QTextBrowser;

namespace querylens::ui {

class ChatPanel : public QWidget {
    Q_OBJECT
public:
    explicit ChatPanel(QWidget* parent = nullptr);

    void showConversation(const QList<ChatEntry>& entries);  // the whole transcript, e.g. on image switch
    void beginAnswer(const QString& question);
    void appendAnswer(const QString& textDelta);
    void finishAnswer(const GenerationResult& result);
    void failAnswer(const QString& message, bool cancelled);
    void setBusy(bool busy);
    void setCanAsk(bool can);
    void focusQuestion();
    QString transcriptText() const;

signals:
    void questionAsked(const QString& question);
    void clearRequested();
    void stopRequested();

private:
    void render();
    QTimer* renderTimer_;
    void send();

    QTextBrowser* transcript_;
    QLineEdit* question_;
    QPushButton* send_;
    QPushButton* stop_;
    QPushButton* clear_;
    QList<ChatEntry> entries_;
    QString pendingQuestion_;
    QString pendingAnswer_;
    QString pendingNote_;
    bool pending_ = false;
    bool canAsk_ = false;
};

}  // namespace querylens::ui
