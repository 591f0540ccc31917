#include "chat_panel.h"

#include "caption_panel.h"

#include <QHBoxLayout>
#include <QTimer>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollBar>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace querylens::ui {

ChatPanel::ChatPanel(QWidget* parent)
    : QWidget(parent), transcript_(new QTextBrowser(this)), question_(new QLineEdit(this)),
      send_(new QPushButton(tr("Ask"), this)), stop_(new QPushButton(tr("Stop"), this)),
      clear_(new QPushButton(tr("Clear"), this))
{
    renderTimer_ = new QTimer(this);
    renderTimer_->setSingleShot(true);
    renderTimer_->setInterval(30);
    connect(renderTimer_, &QTimer::timeout, this, &ChatPanel::render);
    transcript_->setObjectName(QStringLiteral("chatTranscript"));
    transcript_->setOpenLinks(false);
    question_->setObjectName(QStringLiteral("chatQuestion"));
    question_->setPlaceholderText(tr("Ask about the image, e.g. “what is on the couch?”"));
    question_->setClearButtonEnabled(true);
    send_->setToolTip(tr("Send the question (Enter or Ctrl+Enter)"));
    stop_->setToolTip(tr("Stop the answer (Esc)"));
    clear_->setToolTip(tr("Forget this image's conversation"));
    connect(question_, &QLineEdit::returnPressed, this, &ChatPanel::send);
    connect(send_, &QPushButton::clicked, this, &ChatPanel::send);
    connect(stop_, &QPushButton::clicked, this, &ChatPanel::stopRequested);
    connect(clear_, &QPushButton::clicked, this, &ChatPanel::clearRequested);

    // The question gets the full width; the buttons sit under it.
    auto* buttons = new QHBoxLayout;
    buttons->addStretch(1);
    buttons->addWidget(clear_);
    buttons->addWidget(stop_);
    buttons->addWidget(send_);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(transcript_, 1);
    layout->addWidget(question_);
    layout->addLayout(buttons);
    setBusy(false);
    setCanAsk(false);
}

void ChatPanel::send()
{
    const QString question = question_->text().trimmed();
    if (question.isEmpty() || !send_->isEnabled())
        return;
    question_->clear();
    emit questionAsked(question);
}

void ChatPanel::showConversation(const QList<ChatEntry>& entries)
{
    entries_ = entries;
    pending_ = false;
    render();
}

void ChatPanel::beginAnswer(const QString& question)
{
    pending_ = true;
    pendingQuestion_ = question;
    pendingAnswer_.clear();
    pendingNote_ = tr("thinking…");
    setBusy(true);
    render();
}

void ChatPanel::appendAnswer(const QString& textDelta)
{
    pendingAnswer_ += textDelta;
    pendingNote_.clear();
    // The transcript is re-rendered at most every 30 ms, not once per token.
    if (!renderTimer_->isActive())
        renderTimer_->start();
}

void ChatPanel::finishAnswer(const GenerationResult& result)
{
    ChatEntry entry;
    entry.question = pendingQuestion_;
    entry.answer = QString::fromStdString(result.sequences.front().text);
    entry.result = result;
    entry.finished = true;
    entries_.append(entry);
    pending_ = false;
    setBusy(false);
    render();
}

void ChatPanel::failAnswer(const QString& message, bool cancelled)
{
    pendingNote_ = cancelled ? tr("stopped") : message;
    pendingAnswer_ = pendingAnswer_.trimmed();
    setBusy(false);
    render();
    pending_ = false;
}

void ChatPanel::render()
{
    renderTimer_->stop();
    const QPalette pal = palette();
    const QString muted = pal.color(QPalette::PlaceholderText).name();
    const QString accent = pal.color(QPalette::Highlight).name();
    QString html = QStringLiteral("<html><body style='margin:6px'>");
    auto turn = [&](const QString& question, const QString& answer, const QString& note) {
        html += QStringLiteral("<p style='margin:10px 0 2px 0'><b style='color:%1'>%2</b> %3</p>")
                    .arg(accent, tr("You:"), question.toHtmlEscaped());
        html += QStringLiteral("<p style='margin:0 0 6px 0'><b>%1</b> %2").arg(tr("BLIP-2:"), answer.toHtmlEscaped());
        if (!note.isEmpty())
            html += QStringLiteral(" <span style='color:%1'>(%2)</span>").arg(muted, note.toHtmlEscaped());
        html += QStringLiteral("</p>");
    };
    if (entries_.isEmpty() && !pending_)
        html += QStringLiteral("<p style='color:%1'>%2</p>")
                    .arg(muted, tr("Ask a question about the image. Follow-up questions see the conversation so far, "
                                   "as in the BLIP-2 paper's chat examples."));
    for (const ChatEntry& entry : entries_) {
        QString note = entry.result.sequences.empty() ? QString() : describeRun(entry.result);
        if (!entry.result.notice.empty())
            note += QStringLiteral(" · ") + QString::fromStdString(entry.result.notice);
        turn(entry.question, entry.answer, note);
    }
    if (pending_)
        turn(pendingQuestion_, pendingAnswer_.trimmed(), pendingNote_);
    html += QStringLiteral("</body></html>");
    transcript_->setHtml(html);
    transcript_->verticalScrollBar()->setValue(transcript_->verticalScrollBar()->maximum());
}

void ChatPanel::setBusy(bool busy)
{
    stop_->setEnabled(busy);
    send_->setEnabled(!busy && canAsk_);
    clear_->setEnabled(!busy);
}

void ChatPanel::setCanAsk(bool can)
{
    canAsk_ = can;
    send_->setEnabled(can && !stop_->isEnabled());
    question_->setEnabled(can);
}

void ChatPanel::focusQuestion() { question_->setFocus(); }

QString ChatPanel::transcriptText() const { return transcript_->toPlainText(); }

}  // namespace querylens::ui
