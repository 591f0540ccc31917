#include "chat/turn_widget.h"

#include <QApplication>
#include <QClipboard>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace querylens::ui {

namespace {

QString stateNote(const Turn& turn, bool generating)
{
    switch (turn.state) {
    case TurnState::Complete: return {};
    case TurnState::InProgress:
        return generating ? QObject::tr("thinking…") : QObject::tr("being answered in another QueryLens");
    case TurnState::Interrupted:
        return QObject::tr("interrupted: QueryLens ended before this answer was finished. Regenerate it to try again.");
    case TurnState::Stopped: return QObject::tr("stopped");
    case TurnState::Failed: return QObject::tr("failed: %1").arg(QString::fromStdString(turn.error));
    }
    return {};
}

QLabel* textLabel(const QString& text, const QString& name)
{
    auto* label = new QLabel(text);
    label->setObjectName(name);
    label->setWordWrap(true);
    label->setTextFormat(Qt::PlainText);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    // Preferred, not Minimum: a wrapped label's size hint is its text broken at a guessed width,
    // and as a minimum that guess (summed over a long conversation) left the scroll area taller
    // than its turns, a blank screen below the newest answer. The layout gives each label its
    // height for the width it really has — only while the policy keeps the height-for-width
    // flag that setWordWrap set: without it a one-line question got the guess's two lines, a
    // blank line under "You".
    QSizePolicy policy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    policy.setHeightForWidth(true);
    label->setSizePolicy(policy);
    label->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    return label;
}

QLabel* speaker(const QString& text)
{
    auto* label = new QLabel(text);
    QFont font = label->font();
    font.setBold(true);
    label->setFont(font);
    return label;
}

}  // namespace

QString describeTurn(const Turn& turn)
{
    QStringList parts;
    const GenerationResult& r = turn.result;
    if (!r.sequences.empty()) {
        const int positions = int(r.queryIndices.size()) + r.promptTokens;
        const int tokens = int(r.sequences.front().ids.size());
        parts << (tokens == 1 ? QObject::tr("1 token") : QObject::tr("%1 tokens").arg(tokens))
              << QObject::tr("first token %1 ms").arg(r.timings.firstTokenMs, 0, 'f', r.timings.firstTokenMs < 10 ? 1 : 0);
        if (r.timings.tokensPerSecond > 0)
            parts << QObject::tr("%1 tokens/s").arg(r.timings.tokensPerSecond, 0, 'f', 1);
        parts << QObject::tr("%1 of %2 prompt positions reused from the cache").arg(r.reusedPositions).arg(positions);
        parts << QObject::tr("stop: %1").arg(QString::fromLatin1(stopReasonName(r.stopReason)));
        if (!r.notice.empty())
            parts << QString::fromStdString(r.notice);
    }
    parts << QString::fromStdString(describeDecoding(turn.options));
    if (!turn.model.empty())
        parts << QString::fromStdString(turn.model);
    if (!turn.created.empty())
        parts << QString::fromStdString(turn.created).replace(QLatin1Char('T'), QLatin1Char(' '));
    return parts.join(QStringLiteral(" · "));
}

TurnWidget::TurnWidget(const Conversation& conversation, const Turn& turn, bool generating, bool canChange,
                       bool canGenerate, QWidget* parent)
    : QFrame(parent), turnId_(turn.id), flush_(new QTimer(this))
{
    flush_->setSingleShot(true);
    flush_->setInterval(30);
    connect(flush_, &QTimer::timeout, this, [this] {
        answer_->setText(streamed_.trimmed());
        answer_->show();
        note_->hide();
    });
    setObjectName(QStringLiteral("turn%1").arg(turn.id));
    canGenerate = canGenerate && canChange;

    // The question, in a tinted block, with its versions and the edit button on the right.
    auto* questionBox = new QFrame;
    questionBox->setObjectName(QStringLiteral("questionBox"));
    questionBox->setAutoFillBackground(true);
    questionBox->setBackgroundRole(QPalette::AlternateBase);
    questionBox->setFrameShape(QFrame::StyledPanel);
    questionBox->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);
    question_ = textLabel(QString::fromStdString(turn.question), QStringLiteral("questionText"));
    auto* questionHeader = new QHBoxLayout;
    questionHeader->addWidget(speaker(tr("You")));
    questionHeader->addStretch(1);
    const auto [index, count] = conversation.siblingPosition(turn.id);
    if (count > 1) {
        auto* previous = toolButton(QStringLiteral("previousVersion"), {}, tr("The previous version of this turn"));
        previous->setArrowType(Qt::LeftArrow);
        auto* next = toolButton(QStringLiteral("nextVersion"), {}, tr("The next version of this turn"));
        next->setArrowType(Qt::RightArrow);
        auto* position = new QLabel(QStringLiteral("%1 / %2").arg(index).arg(count));
        position->setObjectName(QStringLiteral("versionLabel"));
        previous->setEnabled(canChange && index > 1);
        next->setEnabled(canChange && index < count);
        connect(previous, &QToolButton::clicked, this, [this] { emit versionRequested(turnId_, -1); });
        connect(next, &QToolButton::clicked, this, [this] { emit versionRequested(turnId_, +1); });
        questionHeader->addWidget(previous);
        questionHeader->addWidget(position);
        questionHeader->addWidget(next);
    }
    auto* edit = toolButton(QStringLiteral("editQuestion"), tr("Edit"),
                            tr("Edit this question and ask it again: a new version beside this one"));
    edit->setEnabled(canGenerate);
    connect(edit, &QToolButton::clicked, this, [this] { emit editRequested(turnId_); });
    questionHeader->addWidget(edit);
    auto* questionLayout = new QVBoxLayout(questionBox);
    questionLayout->setContentsMargins(8, 4, 8, 6);
    questionLayout->setSpacing(0);  // the header row is as tall as its buttons: room enough
    questionLayout->addLayout(questionHeader);
    questionLayout->addWidget(question_);

    // The answer, its state, its actions and its figures.
    answer_ = textLabel(QString::fromStdString(turn.answer), QStringLiteral("answerText"));
    QFont answerFont = answer_->font();
    answerFont.setPointSizeF(answerFont.pointSizeF() * 1.1);
    answer_->setFont(answerFont);
    note_ = textLabel(stateNote(turn, generating), QStringLiteral("answerNote"));
    note_->setForegroundRole(turn.state == TurnState::Failed ? QPalette::BrightText : QPalette::PlaceholderText);
    note_->setVisible(!note_->text().isEmpty());
    details_ = textLabel(describeTurn(turn), QStringLiteral("answerDetails"));
    details_->setForegroundRole(QPalette::PlaceholderText);
    details_->hide();

    auto* regenerate = toolButton(QStringLiteral("regenerateAnswer"), tr("Regenerate"),
                                  tr("Answer this question again: a new version beside this one"));
    regenerate->setPopupMode(QToolButton::MenuButtonPopup);
    auto* menu = new QMenu(regenerate);
    menu->addAction(tr("Regenerate with the current settings"), this, [this] { emit regenerateRequested(turnId_, false); });
    menu->addAction(tr("Regenerate with other settings…"), this, [this] { emit regenerateRequested(turnId_, true); });
    regenerate->setMenu(menu);
    regenerate->setEnabled(canGenerate);
    connect(regenerate, &QToolButton::clicked, this, [this] { emit regenerateRequested(turnId_, false); });
    auto* copy = toolButton(QStringLiteral("copyAnswer"), tr("Copy"), tr("Copy the answer"));
    connect(copy, &QToolButton::clicked, this, [this] { QApplication::clipboard()->setText(answerText()); });
    auto* compare = toolButton(QStringLiteral("compareAnswer"), tr("Compare…"),
                               tr("Where the model looked for this answer's words, beside another answer's"));
    compare->setEnabled(!turn.result.sequences.empty());
    connect(compare, &QToolButton::clicked, this, [this] { emit compareRequested(turnId_); });
    detailsButton_ = toolButton(QStringLiteral("detailsButton"), tr("Details"),
                                tr("Tokens, time to first token, tokens/s, positions reused, settings"));
    detailsButton_->setCheckable(true);
    detailsButton_->setArrowType(Qt::RightArrow);
    detailsButton_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    connect(detailsButton_, &QToolButton::toggled, this, &TurnWidget::setDetailsShown);
    auto* actions = new QHBoxLayout;
    actions->addWidget(regenerate);
    actions->addWidget(copy);
    actions->addWidget(compare);
    actions->addWidget(detailsButton_);
    actions->addStretch(1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 4, 0, 8);
    layout->setSpacing(3);
    layout->addWidget(questionBox);
    auto* answerHeader = new QHBoxLayout;
    answerHeader->setContentsMargins(8, 0, 8, 0);
    answerHeader->addWidget(speaker(tr("BLIP-2")));
    answerHeader->addStretch(1);
    layout->addLayout(answerHeader);
    for (QWidget* w : {static_cast<QWidget*>(answer_), static_cast<QWidget*>(note_), static_cast<QWidget*>(details_)}) {
        w->setContentsMargins(8, 0, 8, 0);
        layout->addWidget(w);
    }
    answer_->setVisible(!answer_->text().isEmpty() || generating);
    layout->addLayout(actions);
}

QToolButton* TurnWidget::toolButton(const QString& name, const QString& text, const QString& tip)
{
    auto* button = new QToolButton(this);
    button->setObjectName(name);
    button->setText(text);
    button->setToolTip(tip);
    button->setAutoRaise(true);
    return button;
}

void TurnWidget::appendAnswer(const QString& delta)
{
    streamed_ += delta;
    if (!flush_->isActive())
        flush_->start();
}

QString TurnWidget::answerText() const { return flush_->isActive() ? streamed_.trimmed() : answer_->text(); }
QString TurnWidget::questionText() const { return question_->text(); }
QString TurnWidget::detailsText() const { return details_->text(); }
bool TurnWidget::detailsShown() const { return details_->isVisibleTo(this); }

void TurnWidget::setDetailsShown(bool shown)
{
    details_->setVisible(shown);
    detailsButton_->setArrowType(shown ? Qt::DownArrow : Qt::RightArrow);
    if (detailsButton_->isChecked() != shown)
        detailsButton_->setChecked(shown);
}

}  // namespace querylens::ui
