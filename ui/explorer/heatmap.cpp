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

namespace {

// The patch grid interpolated bilinearly to `size`, each value turned into a pixel by `pixel`.
template <typename Pixel>
QImage interpolatedOverlay(const std::vector<float>& patches, int grid, QSize size, Pixel pixel)
{
    QImage overlay(size, QImage::Format_ARGB32_Premultiplied);
    overlay.fill(Qt::transparent);
    if (grid <= 0 || int(patches.size()) != grid * grid || size.isEmpty())
        return overlay;
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
            line[x] = pixel(value);
        }
    }
    return overlay;
}

}  // namespace

QImage heatmapOverlay(const std::vector<float>& patches, int grid, float low, float high, QSize size, double opacity)
{
    const float span = high > low ? high - low : 1.0f;
    return interpolatedOverlay(patches, grid, size, [&](double value) {
        const double t = std::clamp((value - low) / span, 0.0, 1.0);
        const QColor color = infernoColor(t);
        const int alpha = int(std::lround(255 * opacity * (0.2 + 0.8 * t)));
        return qPremultiply(qRgba(color.red(), color.green(), color.blue(), alpha));
    });
}

QColor divergingColor(double t)
{
    // ColorBrewer's RdBu ends (blue 33,102,172; red 178,24,43) through white.
    t = std::clamp(t, -1.0, 1.0);
    const double f = std::abs(t);
    const int r = t < 0 ? 33 : 178, g = t < 0 ? 102 : 24, b = t < 0 ? 172 : 43;
    auto mix = [&](int end) { return int(std::lround(255 * (1 - f) + end * f)); };
    return QColor(mix(r), mix(g), mix(b));
}

QImage signedHeatmapOverlay(const std::vector<float>& patches, int grid, float limit, QSize size, double opacity)
{
    const float span = limit > 0 ? limit : 1.0f;
    return interpolatedOverlay(patches, grid, size, [&](double value) {
        const double t = std::clamp(value / span, -1.0, 1.0);
        const QColor color = divergingColor(t);
        // Near zero the image shows through: only where the two maps differ is it coloured.
        const int alpha = int(std::lround(255 * opacity * std::min(1.0, 1.25 * std::abs(t))));
        return qPremultiply(qRgba(color.red(), color.green(), color.blue(), alpha));
    });
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
