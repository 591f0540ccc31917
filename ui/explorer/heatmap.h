#pragma once
// Drawing attention maps over images: a perceptual colour map (inferno) and a patch grid
// upsampled bilinearly to the image, transparent where attention is low so the image shows.

#include <QColor>
#include <QImage>
#include <QSize>

#include <vector>

namespace querylens::ui {

// Inferno, t in [0, 1]: dark purple to pale yellow, perceptually ordered.
QColor infernoColor(double t);

// The overlay for `patches` [grid * grid] (row-major) at `size`: each patch value is mapped
// to [0, 1] by [low, high], interpolated bilinearly between patch centres, coloured, and given
// an alpha that grows with the value (times `opacity`).
QImage heatmapOverlay(const std::vector<float>& patches, int grid, float low, float high, QSize size, double opacity);

// A diverging colour for a signed value, t in [-1, 1]: blue below 0, white at 0, red above.
QColor divergingColor(double t);

// The overlay of a signed map (a difference of two maps): values in [-limit, limit], blue to red,
// transparent near zero.
QImage signedHeatmapOverlay(const std::vector<float>& patches, int grid, float limit, QSize size, double opacity);

// The patch (row, column) under a point of a widget rect showing the whole image, or (-1, -1).
QPoint patchAt(const QPointF& point, const QRectF& imageRect, int grid);

}  // namespace querylens::ui
