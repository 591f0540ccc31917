#include "explain/map_sheet.h"

#include "explorer/heatmap.h"

#include <QFontMetrics>
#include <QPainter>

#include <algorithm>

namespace querylens::ui {

int peakPatch(const std::vector<float>& patches)
{
    return patches.empty() ? 0 : int(std::max_element(patches.begin(), patches.end()) - patches.begin());
}

QImage mapSheet(const QImage& image, const std::vector<TitledMap>& maps, int grid, int panel, int columns)
{
    const int count = std::max<int>(1, int(maps.size()));
    columns = std::clamp(columns, 1, count);
    const int rows = (count + columns - 1) / columns;
    const int titleHeight = 22, gap = 6;
    QImage sheet(columns * (panel + gap) + gap, rows * (panel + titleHeight + gap) + gap, QImage::Format_RGB32);
    sheet.fill(Qt::white);
    QPainter painter(&sheet);
    painter.setRenderHint(QPainter::SmoothPixmapTransform);
    const QImage scaled = image.scaled(panel, panel, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    for (int i = 0; i < int(maps.size()); ++i) {
        const QRect cell(gap + (i % columns) * (panel + gap), gap + (i / columns) * (panel + titleHeight + gap), panel, panel);
        painter.drawImage(cell.topLeft(), scaled);
        const auto& patches = maps[std::size_t(i)].patches;
        if (!patches.empty()) {
            const auto [low, high] = std::minmax_element(patches.begin(), patches.end());
            painter.drawImage(cell.topLeft(), heatmapOverlay(patches, grid, *low, *high, cell.size(), 0.75));
        }
        const QRect title(cell.left(), cell.bottom() + 2, panel, titleHeight - 2);
        painter.setPen(Qt::black);
        painter.drawText(title, Qt::AlignHCenter | Qt::AlignTop,
                         QFontMetrics(painter.font()).elidedText(maps[std::size_t(i)].title, Qt::ElideRight, panel));
    }
    return sheet;
}

}  // namespace querylens::ui
