#include "chat/conversation_view.h"

#include "chat/turn_widget.h"

#include <QScrollBar>
#include <QVBoxLayout>

namespace querylens::ui {

ConversationView::ConversationView(QWidget* parent)
    : QScrollArea(parent), content_(new QWidget), layout_(new QVBoxLayout(content_))
{
    setObjectName(QStringLiteral("conversationView"));
    setWidgetResizable(true);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setFrameShape(QFrame::StyledPanel);
    // The conversation reads on the text background; the questions stand out in their tint.
    content_->setAutoFillBackground(true);
    content_->setBackgroundRole(QPalette::Base);
    layout_->setContentsMargins(6, 6, 10, 6);
    layout_->addStretch(1);
    setWidget(content_);
    QScrollBar* bar = verticalScrollBar();
    connect(bar, &QScrollBar::valueChanged, this, [this, bar](int value) { followEnd_ = value >= bar->maximum() - 4; });
    connect(bar, &QScrollBar::rangeChanged, this, [this, bar](int, int maximum) {
        if (followEnd_)
            bar->setValue(maximum);
    });
}

void ConversationView::clear()
{
    // Later, not now: the branch is often rebuilt from a click on one of these turns' buttons,
    // which is still in its click handler.
    for (TurnWidget* w : turns()) {
        layout_->removeWidget(w);
        w->hide();
        w->deleteLater();
    }
}

void ConversationView::setConversation(const Conversation& conversation, int generatingTurn, bool readOnly,
                                       bool canGenerate)
{
    // Details a person unfolded stay unfolded across a rebuild.
    QList<int> unfolded;
    for (TurnWidget* w : turns())
        if (w->detailsShown())
            unfolded << w->turnId();
    clear();
    followEnd_ = true;
    for (int id : conversation.activePath()) {
        const Turn& t = *conversation.find(id);
        auto* widget = new TurnWidget(conversation, t, id == generatingTurn, !readOnly && generatingTurn == 0, canGenerate,
                                      content_);
        widget->setDetailsShown(unfolded.contains(id));
        connect(widget, &TurnWidget::editRequested, this, &ConversationView::editRequested);
        connect(widget, &TurnWidget::regenerateRequested, this, &ConversationView::regenerateRequested);
        connect(widget, &TurnWidget::versionRequested, this, &ConversationView::versionRequested);
        connect(widget, &TurnWidget::compareRequested, this, &ConversationView::compareRequested);
        layout_->insertWidget(layout_->count() - 1, widget);
        widget->show();  // at once, not by the queued show a layout gives a visible parent's new child
    }
}

void ConversationView::appendAnswer(int turnId, const QString& delta)
{
    if (TurnWidget* w = turn(turnId))
        w->appendAnswer(delta);
}

QList<TurnWidget*> ConversationView::turns() const
{
    QList<TurnWidget*> list;
    for (int i = 0; i < layout_->count(); ++i)
        if (auto* w = qobject_cast<TurnWidget*>(layout_->itemAt(i)->widget()))
            list << w;
    return list;
}

TurnWidget* ConversationView::turn(int turnId) const
{
    for (TurnWidget* w : turns())
        if (w->turnId() == turnId)
            return w;
    return nullptr;
}

QString ConversationView::transcriptText() const
{
    QStringList lines;
    for (TurnWidget* w : turns())
        lines << tr("You: %1").arg(w->questionText()) << tr("BLIP-2: %1").arg(w->answerText());
    return lines.join(QLatin1Char('\n'));
}

}  // namespace querylens::ui
