#include "caption_panel.h"

#include <QApplication>
#include <QClipboard>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QTimer>
#include <QVBoxLayout>

namespace querylens::ui {

QString describeRun(const GenerationResult& result)
{
    const auto& best = result.sequences.front();
    QString text = QObject::tr("%n token(s)", nullptr, int(best.ids.size()));
    text += QStringLiteral(" · ") + QObject::tr("first token %1 ms").arg(result.timings.firstTokenMs, 0, 'f', 0);
    if (result.timings.tokensPerSecond > 0)
        text += QStringLiteral(" · ") + QObject::tr("%1 tokens/s").arg(result.timings.tokensPerSecond, 0, 'f', 1);
    if (result.reusedPositions > 0)
        text += QStringLiteral(" · ") + QObject::tr("%1 positions reused").arg(result.reusedPositions);
    switch (result.stopReason) {
    case StopReason::MaxNewTokens: text += QStringLiteral(" · ") + QObject::tr("stopped at the token limit"); break;
    case StopReason::ContextFull: text += QStringLiteral(" · ") + QObject::tr("the context is full"); break;
    case StopReason::Cancelled: text += QStringLiteral(" · ") + QObject::tr("stopped"); break;
    case StopReason::EndOfSequence: break;
    }
    return text;
}

CaptionPanel::CaptionPanel(QWidget* parent)
    : QWidget(parent), caption_(new QLabel(this)), details_(new QLabel(this)), alternatives_(new QLabel(this)),
      regenerate_(new QPushButton(tr("Regenerate"), this)), stop_(new QPushButton(tr("Stop"), this)),
      copy_(new QPushButton(tr("Copy"), this)), flush_(new QTimer(this))
{
    flush_->setSingleShot(true);
    flush_->setInterval(30);
    connect(flush_, &QTimer::timeout, this, [this] { caption_->setText(streamed_.trimmed()); });
    caption_->setObjectName(QStringLiteral("captionText"));
    caption_->setWordWrap(true);
    caption_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    caption_->setTextFormat(Qt::PlainText);
    caption_->setMinimumHeight(64);
    caption_->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    QFont font = caption_->font();
    font.setPointSizeF(font.pointSizeF() * 1.5);
    caption_->setFont(font);
    details_->setObjectName(QStringLiteral("captionDetails"));
    details_->setWordWrap(true);
    details_->setForegroundRole(QPalette::PlaceholderText);
    alternatives_->setWordWrap(true);
    alternatives_->setTextFormat(Qt::PlainText);
    alternatives_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    alternatives_->hide();

    regenerate_->setToolTip(tr("Caption the image again with the current decoding settings (Ctrl+Shift+R)"));
    stop_->setToolTip(tr("Stop generating (Esc)"));
    copy_->setToolTip(tr("Copy the caption"));
    connect(regenerate_, &QPushButton::clicked, this, &CaptionPanel::regenerateRequested);
    connect(stop_, &QPushButton::clicked, this, &CaptionPanel::stopRequested);
    connect(copy_, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(text()); });

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(regenerate_);
    buttons->addWidget(stop_);
    buttons->addWidget(copy_);
    buttons->addStretch();
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(caption_);
    layout->addWidget(details_);
    layout->addWidget(alternatives_);
    layout->addLayout(buttons);
    clear();
}

void CaptionPanel::clear(const QString& hint)
{
    flush_->stop();
    streamed_.clear();
    caption_->setText(hint);
    caption_->setEnabled(hint.isEmpty());
    details_->clear();
    alternatives_->hide();
    setBusy(false);
}

void CaptionPanel::begin()
{
    flush_->stop();
    streamed_.clear();
    caption_->setEnabled(true);
    caption_->setText(QString());
    details_->setText(tr("Generating…"));
    alternatives_->hide();
    setBusy(true);
}

void CaptionPanel::append(const QString& textDelta)
{
    // A wrapped label re-lays out the window on every change: one change per frame, not per token.
    streamed_ += textDelta;
    if (!flush_->isActive())
        flush_->start();
}

void CaptionPanel::showFinished(const QString& caption, const GenerationResult& result)
{
    flush_->stop();
    caption_->setEnabled(true);
    caption_->setText(caption);
    details_->setText(result.sequences.empty() ? QString() : describeRun(result));
    QStringList others;
    for (std::size_t i = 1; i < result.sequences.size(); ++i)
        others << QStringLiteral("%1. %2").arg(i + 1).arg(QString::fromStdString(result.sequences[i].text));
    alternatives_->setText(tr("Other candidates:") + QLatin1Char('\n') + others.join(QLatin1Char('\n')));
    alternatives_->setVisible(!others.isEmpty());
    setBusy(false);
}

void CaptionPanel::finish(const GenerationResult& result)
{
    showFinished(QString::fromStdString(result.sequences.front().text), result);
}

void CaptionPanel::fail(const QString& message, bool cancelled)
{
    if (flush_->isActive()) {
        flush_->stop();
        caption_->setText(streamed_.trimmed());  // what arrived before the stop stays
    }
    details_->setText(cancelled ? tr("Stopped.") : message);
    setBusy(false);
}

void CaptionPanel::setBusy(bool busy)
{
    stop_->setEnabled(busy);
    regenerate_->setEnabled(!busy && regenerate_->property("canGenerate").toBool());
}

void CaptionPanel::setCanGenerate(bool can)
{
    regenerate_->setProperty("canGenerate", can);
    regenerate_->setEnabled(can && !stop_->isEnabled());
}

QString CaptionPanel::text() const { return caption_->text(); }

}  // namespace querylens::ui
