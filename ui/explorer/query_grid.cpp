#include "explorer/query_grid.h"

#include "explorer/heatmap.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>
#include <limits>

namespace querylens::ui {

namespace {
constexpr int kLabelHeight = 16;
constexpr int kSpacing = 4;
}  // namespace

QueryGrid::QueryGrid(QWidget* parent) : QWidget(parent)
{
    setMinimumSize(400, 220);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void QueryGrid::setMaps(const QImage& image, const std::vector<std::vector<float>>& maps, int grid,
                        const std::vector<double>& entropies, bool sharedScale, double opacity)
{
    image_ = image;
    maps_ = maps;
    grid_ = grid;
    entropies_ = entropies;
    sharedScale_ = sharedScale;
    opacity_ = opacity;
    rebuildOverlays();
    update();
}

void QueryGrid::setSelected(int query)
{
    selected_ = query;
    update();
}

void QueryGrid::setDisabled(const std::set<int>& queries)
{
    disabled_ = queries;
    update();
}

QSize QueryGrid::tileSize() const
{
    const int rows = std::max(1, (queryCount() + columns() - 1) / columns());
    const int width = std::max(16, (this->width() - kSpacing * (columns() + 1)) / columns());
    const int height = std::max(16, (this->height() - kSpacing * (rows + 1)) / rows - kLabelHeight);
    // Keep the image's aspect ratio inside the cell.
    const double aspect = image_.isNull() ? 1.0 : double(image_.width()) / image_.height();
    return width / aspect <= height ? QSize(width, int(width / aspect)) : QSize(int(height * aspect), height);
}

QRect QueryGrid::tileRect(int query) const
{
    const QSize tile = tileSize();
    const int cellWidth = (width() - kSpacing * (columns() + 1)) / columns();
    const int row = query / columns(), column = query % columns();
    const int x = kSpacing + column * (cellWidth + kSpacing) + (cellWidth - tile.width()) / 2;
    const int y = kSpacing + row * (tile.height() + kLabelHeight + kSpacing);
    return {QPoint(x, y), tile};
}

void QueryGrid::rebuildOverlays()
{
    overlays_.clear();
    if (maps_.empty() || image_.isNull())
        return;
    const QSize tile = tileSize();
    thumbnail_ = image_.scaled(tile, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    // Colours run from the lowest to the highest value: of all maps (one scale), or of each.
    float sharedLow = std::numeric_limits<float>::max(), sharedHigh = std::numeric_limits<float>::lowest();
    for (const auto& map : maps_) {
        const auto [low, high] = std::minmax_element(map.begin(), map.end());
        sharedLow = std::min(sharedLow, *low);
        sharedHigh = std::max(sharedHigh, *high);
    }
    for (const auto& map : maps_) {
        const auto [low, high] = std::minmax_element(map.begin(), map.end());
        overlays_.push_back(heatmapOverlay(map, grid_, sharedScale_ ? sharedLow : *low, sharedScale_ ? sharedHigh : *high,
                                           tile, opacity_));
    }
}

void QueryGrid::resizeEvent(QResizeEvent*)
{
    rebuildOverlays();
}

void QueryGrid::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    if (overlays_.empty()) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(rect(), Qt::AlignCenter, tr("The queries' attention appears here once an image is encoded."));
        return;
    }
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    painter.setFont(small);
    for (int q = 0; q < queryCount(); ++q) {
        const QRect tile = tileRect(q);
        painter.drawImage(tile.topLeft(), thumbnail_);
        painter.drawImage(tile.topLeft(), overlays_[std::size_t(q)]);
        if (disabled_.count(q)) {
            painter.fillRect(tile, QColor(128, 128, 128, 170));
            painter.setPen(QPen(QColor(200, 40, 40), 2));
            painter.drawLine(tile.topLeft(), tile.bottomRight());
            painter.drawLine(tile.topRight(), tile.bottomLeft());
        }
        if (q == selected_) {
            painter.setPen(QPen(palette().color(QPalette::Highlight), 3));
            painter.drawRect(tile.adjusted(-2, -2, 1, 1));
        }
        painter.setPen(palette().color(QPalette::WindowText));
        const QString label = entropies_.size() > std::size_t(q)
                                  ? QStringLiteral("q%1 · H %2").arg(q).arg(entropies_[std::size_t(q)], 0, 'f', 2)
                                  : QStringLiteral("q%1").arg(q);
        painter.drawText(QRect(tile.left() - 8, tile.bottom() + 1, tile.width() + 16, kLabelHeight), Qt::AlignCenter, label);
    }
}

int QueryGrid::queryAt(const QPoint& point) const
{
    for (int q = 0; q < queryCount(); ++q)
        if (tileRect(q).contains(point))
            return q;
    return -1;
}

void QueryGrid::mousePressEvent(QMouseEvent* event)
{
    const int q = queryAt(event->position().toPoint());
    if (q < 0)
        return;
    if (event->button() == Qt::RightButton || (event->modifiers() & Qt::ControlModifier))
        emit queryToggled(q);
    else
        emit querySelected(q);
}

}  // namespace querylens::ui
