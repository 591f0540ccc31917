#include "explorer/map_view.h"

#include "explorer/heatmap.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace querylens::ui {

namespace {
constexpr int kTitleHeight = 22;
constexpr int kReadoutHeight = 20;
}  // namespace

MapView::MapView(QWidget* parent) : QWidget(parent)
{
    setMouseTracking(true);
    setMinimumSize(240, 200);
}

void MapView::setMap(const QImage& image, const std::vector<float>& patches, int grid, const QString& title,
                     double opacity)
{
    display(image, patches, grid, title, opacity, false);
}

void MapView::setSignedMap(const QImage& image, const std::vector<float>& patches, int grid, const QString& title,
                           double opacity)
{
    display(image, patches, grid, title, opacity, true);
}

void MapView::display(const QImage& image, const std::vector<float>& patches, int grid, const QString& title, double opacity,
                   bool isSigned)
{
    image_ = image;
    patches_ = patches;
    grid_ = grid;
    title_ = title;
    opacity_ = opacity;
    signed_ = isSigned;
    message_.clear();
    rebuild();
    update();
}

void MapView::clearMap(const QString& message)
{
    patches_.clear();
    title_.clear();
    message_ = message;
    overlay_ = QImage();
    update();
}

QRectF MapView::imageRect() const
{
    if (image_.isNull())
        return {};
    const QRectF area(4, kTitleHeight, width() - 8, height() - kTitleHeight - kReadoutHeight);
    QSizeF size = image_.size();
    size.scale(area.size(), Qt::KeepAspectRatio);
    return QRectF(area.center() - QPointF(size.width() / 2, size.height() / 2), size);
}

void MapView::rebuild()
{
    const QRectF target = imageRect();
    if (target.isEmpty() || patches_.empty())
        return;
    scaled_ = image_.scaled(target.size().toSize(), Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    const auto [low, high] = std::minmax_element(patches_.begin(), patches_.end());
    overlay_ = signed_ ? signedHeatmapOverlay(patches_, grid_, std::max(std::abs(*low), std::abs(*high)),
                                              target.size().toSize(), opacity_)
                       : heatmapOverlay(patches_, grid_, *low, *high, target.size().toSize(), opacity_);
}

void MapView::resizeEvent(QResizeEvent*)
{
    rebuild();
}

QString MapView::readoutAt(const QPointF& point) const
{
    const QPoint patch = patchAt(point, imageRect(), grid_);
    if (patch.x() < 0 || patches_.empty())
        return {};
    const float value = patches_[std::size_t(patch.x() * grid_ + patch.y())];
    return tr("row %1, column %2: %3").arg(patch.x()).arg(patch.y()).arg(double(value), 0, 'g', 4);
}

void MapView::mouseMoveEvent(QMouseEvent* event)
{
    readout_ = readoutAt(event->position());
    update();
}

void MapView::leaveEvent(QEvent*)
{
    readout_.clear();
    update();
}

void MapView::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::SmoothPixmapTransform);
    if (!message_.isEmpty() || overlay_.isNull()) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, message_);
        return;
    }
    QFont bold = font();
    bold.setBold(true);
    painter.setFont(bold);
    painter.setPen(palette().color(QPalette::WindowText));
    painter.drawText(QRect(4, 0, width() - 8, kTitleHeight), Qt::AlignLeft | Qt::AlignVCenter, title_);
    const QRectF target = imageRect();
    painter.drawImage(target.topLeft(), scaled_);
    painter.drawImage(target.topLeft(), overlay_);
    painter.setFont(font());
    painter.drawText(QRect(4, height() - kReadoutHeight, width() - 8, kReadoutHeight), Qt::AlignLeft | Qt::AlignVCenter,
                     readout_.isEmpty() ? tr("Hover over the image to read the value of a patch.") : readout_);
}

}  // namespace querylens::ui
