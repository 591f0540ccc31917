#include "chat/chat_pane.h"

#include "chat/conversation_view.h"
#include "chat/question_edit.h"

#include <QDragEnterEvent>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMimeData>
#include <QPushButton>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace querylens::ui {

namespace {

QString recentLine(const SessionSummary& s)
{
    if (!s.problem.empty())
        return QObject::tr("%1 — cannot be read: %2").arg(QString::fromStdString(s.name), QString::fromStdString(s.problem));
    QString when = QString::fromStdString(s.updated).left(16).replace(QLatin1Char('T'), QLatin1Char(' '));
    QString line = QStringLiteral("%1\n%2 · %3 · %4 · %5")
                       .arg(QString::fromStdString(s.title.empty() ? s.name : s.title),
                            QFileInfo(QString::fromStdString(s.imagePath)).fileName(), QString::fromStdString(s.model), when,
                            s.turns == 1 ? QObject::tr("1 turn") : QObject::tr("%1 turns").arg(s.turns));
    if (s.interrupted > 0)
        line += QObject::tr(" · an answer was interrupted");
    return line;
}

}  // namespace

ChatPane::ChatPane(QWidget* parent)
    : QWidget(parent), title_(new QLabel), newConversation_(new QPushButton(tr("New conversation"))), notice_(new QFrame),
      noticeLabel_(new QLabel), noticeAction_(new QPushButton), pages_(new QStackedWidget), view_(new ConversationView),
      startHint_(new QLabel), recent_(new QListWidget), editBanner_(new QLabel), cannotAsk_(new QLabel),
      question_(new QuestionEdit), send_(new QPushButton(tr("Send"))), stop_(new QPushButton(tr("Stop")))
{
    setObjectName(QStringLiteral("chatPane"));
    setAcceptDrops(true);

    title_->setObjectName(QStringLiteral("conversationTitle"));
    QFont titleFont = title_->font();
    titleFont.setBold(true);
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.15);
    title_->setFont(titleFont);
    title_->setTextFormat(Qt::PlainText);
    newConversation_->setObjectName(QStringLiteral("newConversation"));
    newConversation_->setToolTip(tr("Start another conversation about this image (this one stays saved)"));
    connect(newConversation_, &QPushButton::clicked, this, &ChatPane::newConversationRequested);
    auto* header = new QHBoxLayout;
    header->addWidget(title_, 1);
    header->addWidget(newConversation_);

    notice_->setObjectName(QStringLiteral("chatNotice"));
    static_cast<QFrame*>(notice_)->setFrameShape(QFrame::StyledPanel);
    notice_->setAutoFillBackground(true);
    notice_->setBackgroundRole(QPalette::ToolTipBase);
    noticeLabel_->setWordWrap(true);
    noticeLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    noticeAction_->setObjectName(QStringLiteral("chatNoticeAction"));
    connect(noticeAction_, &QPushButton::clicked, this, [this] {
        if (noticeCallback_)
            noticeCallback_();
    });
    auto* noticeLayout = new QHBoxLayout(notice_);
    noticeLayout->setContentsMargins(8, 6, 8, 6);
    noticeLayout->addWidget(noticeLabel_, 1);
    noticeLayout->addWidget(noticeAction_);
    notice_->hide();

    // The start page: what to do, and the conversations kept from before.
    auto* start = new QWidget;
    startHint_->setWordWrap(true);
    startHint_->setForegroundRole(QPalette::PlaceholderText);
    startHint_->setText(tr("Ask a question about the image in the box below. Follow-up questions see the conversation so far, as in "
                           "the BLIP-2 paper's chat examples. Edit a question or regenerate an answer to try another "
                           "version; every version is kept, and every conversation is saved as it goes.\n\n"
                           "Drop or paste an image here to start a conversation about it."));
    recent_->setObjectName(QStringLiteral("recentSessions"));
    recent_->setWordWrap(true);
    recent_->setAlternatingRowColors(true);
    recent_->setToolTip(tr("Double-click (or Enter) to continue a conversation"));
    connect(recent_, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        if (item->data(Qt::UserRole + 1).toBool())  // readable
            emit sessionOpenRequested(item->data(Qt::UserRole).toString());
    });
    auto* startLayout = new QVBoxLayout(start);
    startLayout->setContentsMargins(6, 6, 6, 6);
    startLayout->addWidget(startHint_);
    auto* recentTitle = new QLabel(tr("Recent conversations"));
    recentTitle->setObjectName(QStringLiteral("recentTitle"));
    startLayout->addSpacing(8);
    startLayout->addWidget(recentTitle);
    startLayout->addWidget(recent_, 1);
    pages_->addWidget(start);
    pages_->addWidget(view_);

    editBanner_->setObjectName(QStringLiteral("editBanner"));
    editBanner_->setForegroundRole(QPalette::Link);
    editBanner_->hide();
    cannotAsk_->setObjectName(QStringLiteral("cannotAsk"));
    cannotAsk_->setWordWrap(true);
    cannotAsk_->setForegroundRole(QPalette::PlaceholderText);
    question_->setObjectName(QStringLiteral("chatQuestion"));
    send_->setObjectName(QStringLiteral("sendQuestion"));
    send_->setToolTip(tr("Send the question (Enter)"));
    stop_->setObjectName(QStringLiteral("stopAnswer"));
    stop_->setToolTip(tr("Stop the answer (Esc); the text so far is kept"));
    connect(question_, &QuestionEdit::sendRequested, this, &ChatPane::send);
    connect(question_, &QuestionEdit::editLastRequested, this, &ChatPane::editLastRequested);
    connect(question_, &QuestionEdit::editCancelled, this, &ChatPane::cancelEdit);
    connect(question_, &QuestionEdit::imagePasted, this, &ChatPane::imageDropped);
    connect(question_, &QuestionEdit::filesPasted, this, &ChatPane::imageFilesDropped);
    connect(send_, &QPushButton::clicked, this, &ChatPane::send);
    connect(stop_, &QPushButton::clicked, this, &ChatPane::stopRequested);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(cannotAsk_, 1);
    buttons->addWidget(stop_);
    buttons->addWidget(send_);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(header);
    layout->addWidget(notice_);
    layout->addWidget(pages_, 1);
    layout->addWidget(editBanner_);
    layout->addWidget(question_);
    layout->addLayout(buttons);
    showConversation(nullptr, 0, false, false);
    setBusy(false);
    setCanAsk(false);
}

void ChatPane::showConversation(const Conversation* conversation, int generatingTurn, bool readOnly, bool canGenerate)
{
    if (!conversation || conversation->empty()) {
        view_->clear();
        pages_->setCurrentIndex(0);
        title_->setText(tr("New conversation"));
        newConversation_->setEnabled(false);
        return;
    }
    title_->setText(QString::fromStdString(conversation->title));
    title_->setToolTip(tr("Session %1").arg(QString::fromStdString(conversation->name)));
    newConversation_->setEnabled(canAsk_);
    view_->setConversation(*conversation, generatingTurn, readOnly, canGenerate);
    pages_->setCurrentIndex(1);
}

void ChatPane::appendAnswer(int turnId, const QString& delta) { view_->appendAnswer(turnId, delta); }

void ChatPane::setRecentSessions(const std::vector<SessionSummary>& sessions)
{
    recent_->clear();
    for (const SessionSummary& s : sessions) {
        auto* item = new QListWidgetItem(recentLine(s), recent_);
        item->setData(Qt::UserRole, QString::fromStdString(s.name));
        item->setData(Qt::UserRole + 1, s.problem.empty());
        item->setToolTip(QString::fromStdString(s.problem.empty() ? s.imagePath : s.path));
        if (!s.problem.empty())
            item->setForeground(palette().color(QPalette::PlaceholderText));
    }
    if (sessions.empty())
        recent_->addItem(tr("None yet: your conversations will be listed here."));
}

void ChatPane::showNotice(const QString& text, const QString& actionText, std::function<void()> action)
{
    noticeLabel_->setText(text);
    noticeAction_->setText(actionText);
    noticeAction_->setVisible(!actionText.isEmpty());
    noticeCallback_ = std::move(action);
    notice_->show();
}

void ChatPane::hideNotice()
{
    notice_->hide();
    noticeCallback_ = nullptr;
}

QString ChatPane::noticeText() const { return notice_->isVisibleTo(this) ? noticeLabel_->text() : QString(); }

void ChatPane::setBusy(bool busy)
{
    stop_->setEnabled(busy);
}

void ChatPane::setCanAsk(bool can, const QString& why)
{
    canAsk_ = can;
    send_->setEnabled(can);
    newConversation_->setEnabled(can && pages_->currentIndex() == 1);
    cannotAsk_->setText(can ? QString() : why);
}

void ChatPane::beginEdit(int turnId, const QString& question)
{
    editedTurn_ = turnId;
    question_->setEditing(true);
    question_->setPlainText(question);
    question_->moveCursor(QTextCursor::End);
    editBanner_->setText(tr("Editing an earlier question: Enter asks it as a new version beside the old one; Esc cancels."));
    editBanner_->show();
    question_->setFocus();
}

void ChatPane::cancelEdit()
{
    if (editedTurn_ != 0)
        question_->clear();
    editedTurn_ = 0;
    question_->setEditing(false);
    editBanner_->hide();
}

void ChatPane::focusQuestion() { question_->setFocus(); }

void ChatPane::send()
{
    const QString question = question_->toPlainText().trimmed();
    if (question.isEmpty() || !send_->isEnabled())
        return;
    const int edited = editedTurn_;
    question_->clear();
    cancelEdit();
    emit questionSubmitted(question, edited);
}

QString ChatPane::transcriptText() const { return pages_->currentIndex() == 1 ? view_->transcriptText() : QString(); }

void ChatPane::dragEnterEvent(QDragEnterEvent* event)
{
    if (!imageFilesIn(event->mimeData()).isEmpty() || event->mimeData()->hasImage())
        event->acceptProposedAction();
}

void ChatPane::dropEvent(QDropEvent* event)
{
    // An image dropped on the conversation starts a conversation about it.
    if (const QStringList files = imageFilesIn(event->mimeData()); !files.isEmpty())
        emit imageFilesDropped(files);
    else if (event->mimeData()->hasImage())
        emit imageDropped(qvariant_cast<QImage>(event->mimeData()->imageData()));
    event->acceptProposedAction();
}

}  // namespace querylens::ui
