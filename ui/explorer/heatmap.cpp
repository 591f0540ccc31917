#include "explorer/heatmap.h"

#include <QRectF>

#include <algorithm>
#include <array>
#include <cmath>

namespace querylens::ui {

QColor infernoColor(double t)
{
    // Matplotlib's inferno sampled at nine points; linear in between.
    static const std::array<std::array<int, 3>, 9> anchors{{{0, 0, 4},
                                                            {31, 12, 72},
                                                            {85, 15, 109},
                                                            {136, 34, 106},
                                                            {186, 54, 85},
                                                            {227, 89, 51},
                                                            {249, 140, 10},
                                                            {249, 201, 50},
                                                            {252, 255, 164}}};
    t = std::clamp(t, 0.0, 1.0) * 8.0;
    const int i = std::min(int(t), 7);
    const double f = t - i;
    auto mix = [&](int c) { return int(std::lround(anchors[i][c] * (1 - f) + anchors[i + 1][c] * f)); };
    return QColor(mix(0), mix(1), mix(2));
}

QImage heatmapOverlay(const std::vector<float>& patches, int grid, float low, float high, QSize size, double opacity)
{
    QImage overlay(size, QImage::Format_ARGB32_Premultiplied);
    overlay.fill(Qt::transparent);
    if (grid <= 0 || int(patches.size()) != grid * grid || size.isEmpty())
        return overlay;
    const float span = high > low ? high - low : 1.0f;
    for (int y = 0; y < size.height(); ++y) {
        // Patch centres sit at (i + 0.5) / grid of the image; clamp at the borders.
        const double v = std::clamp((y + 0.5) / size.height() * grid - 0.5, 0.0, grid - 1.0);
        const int r0 = int(v), r1 = std::min(r0 + 1, grid - 1);
        const double fy = v - r0;
        auto* line = reinterpret_cast<QRgb*>(overlay.scanLine(y));
        for (int x = 0; x < size.width(); ++x) {
            const double u = std::clamp((x + 0.5) / size.width() * grid - 0.5, 0.0, grid - 1.0);
            const int c0 = int(u), c1 = std::min(c0 + 1, grid - 1);
            const double fx = u - c0;
            const double value = (patches[r0 * grid + c0] * (1 - fx) + patches[r0 * grid + c1] * fx) * (1 - fy) +
                                 (patches[r1 * grid + c0] * (1 - fx) + patches[r1 * grid + c1] * fx) * fy;
            const double t = std::clamp((value - low) / span, 0.0, 1.0);
            const QColor color = infernoColor(t);
            const int alpha = int(std::lround(255 * opacity * (0.2 + 0.8 * t)));
            line[x] = qPremultiply(qRgba(color.red(), color.green(), color.blue(), alpha));
        }
    }
    return overlay;
}

QPoint patchAt(const QPointF& point, const QRectF& imageRect, int grid)
{
    if (!imageRect.contains(point) || grid <= 0)
        return {-1, -1};
    const int column = std::min(grid - 1, int((point.x() - imageRect.left()) / imageRect.width() * grid));
    const int row = std::min(grid - 1, int((point.y() - imageRect.top()) / imageRect.height() * grid));
    return {row, column};
}

}  // namespace querylens::ui
