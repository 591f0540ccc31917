#include "message_bar.h"

#include <QApplication>
#include <QClipboard>
#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

namespace querylens::ui {

MessageBar::MessageBar(QWidget* parent) : QFrame(parent), icon_(new QLabel(this)), label_(new QLabel(this))
{
    setObjectName(QStringLiteral("messageBar"));
    setFrameShape(QFrame::StyledPanel);
    label_->setWordWrap(true);
    label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label_->setTextFormat(Qt::PlainText);
    auto* copy = new QToolButton(this);
    copy->setText(tr("Copy"));
    copy->setToolTip(tr("Copy the message"));
    connect(copy, &QToolButton::clicked, this, [this] { QApplication::clipboard()->setText(label_->text()); });
    auto* close = new QToolButton(this);
    close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    close->setToolTip(tr("Dismiss"));
    connect(close, &QToolButton::clicked, this, &QWidget::hide);

    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 4, 4, 4);
    layout->addWidget(icon_);
    layout->addWidget(label_, 1);
    layout->addWidget(copy);
    layout->addWidget(close);
    hide();
}

void MessageBar::show(Kind kind, const QString& text)
{
    const QStyle::StandardPixmap pixmap = kind == Kind::Error     ? QStyle::SP_MessageBoxCritical
                                          : kind == Kind::Warning ? QStyle::SP_MessageBoxWarning
                                                                  : QStyle::SP_MessageBoxInformation;
    icon_->setPixmap(style()->standardIcon(pixmap).pixmap(20, 20));
    label_->setText(text);
    // A tinted background that works with light and dark palettes alike.
    const QColor tint = kind == Kind::Error ? QColor(220, 50, 47) : kind == Kind::Warning ? QColor(203, 145, 22)
                                                                                          : QColor(38, 139, 210);
    setStyleSheet(QStringLiteral("#messageBar { background: rgba(%1, %2, %3, 40); border: 1px solid rgba(%1, %2, %3, 140);"
                                 " border-radius: 4px; }")
                      .arg(tint.red())
                      .arg(tint.green())
                      .arg(tint.blue()));
    QFrame::show();
}

QString MessageBar::text() const { return label_->text(); }

}  // namespace querylens::ui
