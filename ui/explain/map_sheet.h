#pragma once
// A sheet of patch maps over one image, side by side with a title under each: what
// `querylens localize --out FILE.png` and `explain-words --out FILE.png` write, and the
// window's PNG exports of them.

#include <QImage>
#include <QString>

#include <vector>

namespace querylens::ui {

struct TitledMap {
    QString title;
    std::vector<float> patches;  // [grid * grid]
};

// Each map coloured on its own scale (lowest to highest value), over the image scaled to
// `panel` pixels square.
QImage mapSheet(const QImage& image, const std::vector<TitledMap>& maps, int grid, int panel = 224, int columns = 4);

// The patch (row-major index) with the largest value.
int peakPatch(const std::vector<float>& patches);

}  // namespace querylens::ui
