#include "image_view.h"

#include <QPainter>
#include <QPalette>

namespace querylens::ui {

ImageView::ImageView(QWidget* parent) : QWidget(parent)
{
    setMinimumSize(240, 180);
    setAccessibleName(tr("Image"));
}

void ImageView::setImage(const QImage& image)
{
    // Smooth scaling of a 12-megapixel photo on every resize would make dragging stutter.
    constexpr int kMaxSide = 2048;
    image_ = image.width() > kMaxSide || image.height() > kMaxSide
                 ? image.scaled(kMaxSide, kMaxSide, Qt::KeepAspectRatio, Qt::SmoothTransformation)
                 : image;
    scaled_ = QPixmap();
    update();
}

void ImageView::setPlaceholder(const QString& text)
{
    placeholder_ = text;
    update();
}

void ImageView::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::SmoothPixmapTransform);
    const QPalette& pal = palette();
    painter.fillRect(rect(), pal.color(QPalette::Base));
    if (image_.isNull()) {
        QPen pen(pal.color(QPalette::Mid), 2, Qt::DashLine);
        painter.setPen(pen);
        painter.drawRoundedRect(rect().adjusted(12, 12, -12, -12), 12, 12);
        painter.setPen(pal.color(QPalette::PlaceholderText));
        QFont font = painter.font();
        font.setPointSizeF(font.pointSizeF() * 1.3);
        painter.setFont(font);
        painter.drawText(rect().adjusted(24, 24, -24, -24), Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
        return;
    }
    const QSize fitted = image_.size().scaled(size() - QSize(16, 16), Qt::KeepAspectRatio);
    if (scaled_.size() != fitted)
        scaled_ = QPixmap::fromImage(image_.scaled(fitted, Qt::IgnoreAspectRatio, Qt::SmoothTransformation));
    painter.drawPixmap(QPoint((width() - fitted.width()) / 2, (height() - fitted.height()) / 2), scaled_);
}

}  // namespace querylens::ui
