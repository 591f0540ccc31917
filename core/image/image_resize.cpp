#include "image/image_resize.h"

#include "querylens/error.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace querylens::image {

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic(double x)
{
    constexpr double a = -0.5;
    x = std::fabs(x);
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0)
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

// For each output pixel along one axis: the first input pixel it reads, how many, and their
// fixed-point weights (Pillow's precompute_coeffs + normalize_coeffs_8bpc).
struct AxisWeights {
    int taps = 0;                  // weights per output pixel (some trailing ones are 0)
    std::vector<int> first, count;
    std::vector<std::int32_t> weights;  // [outSize][taps]
};

AxisWeights axisWeights(int inSize, int outSize)
{
    const double scale = double(inSize) / double(outSize);
    const double filterScale = std::max(scale, 1.0);
    const double support = 2.0 * filterScale;
    AxisWeights axis;
    axis.taps = int(std::ceil(support)) * 2 + 1;
    axis.first.resize(outSize);
    axis.count.resize(outSize);
    axis.weights.assign(std::size_t(outSize) * axis.taps, 0);
    std::vector<double> k(axis.taps);
    for (int xx = 0; xx < outSize; ++xx) {
        const double center = (xx + 0.5) * scale;
        // Truncation toward zero as C's (int) cast does; center - support + 0.5 may be negative.
        int xmin = int(center - support + 0.5);
        xmin = std::max(xmin, 0);
        int xmax = int(center + support + 0.5);
        xmax = std::min(xmax, inSize) - xmin;
        double total = 0.0;
        for (int x = 0; x < xmax; ++x) {
            k[x] = bicubic((x + xmin - center + 0.5) / filterScale);
            total += k[x];
        }
        for (int x = 0; x < xmax; ++x) {
            const double w = total != 0.0 ? k[x] / total : k[x];
            const double fixed = w * double(1 << kPrecisionBits);
            axis.weights[std::size_t(xx) * axis.taps + x] = std::int32_t(w < 0 ? std::trunc(-0.5 + fixed)
                                                                               : std::trunc(0.5 + fixed));
        }
        axis.first[xx] = xmin;
        axis.count[xx] = xmax;
    }
    return axis;
}

std::uint8_t clip8(std::int32_t sum)
{
    const std::int32_t value = sum >> kPrecisionBits;
    return std::uint8_t(std::clamp(value, 0, 255));
}

// Resamples rows [firstRow, firstRow + rows) of `in` horizontally to `width`.
RgbImage horizontal(const RgbImage& in, int width, int firstRow, int rows, const AxisWeights& axis)
{
    RgbImage out;
    out.width = width;
    out.height = rows;
    out.pixels.resize(std::size_t(width) * rows * 3);
    for (int y = 0; y < rows; ++y) {
        const std::uint8_t* src = &in.pixels[std::size_t(firstRow + y) * in.width * 3];
        std::uint8_t* dst = &out.pixels[std::size_t(y) * width * 3];
        for (int xx = 0; xx < width; ++xx) {
            const std::int32_t* k = &axis.weights[std::size_t(xx) * axis.taps];
            const int xmin = axis.first[xx];
            for (int c = 0; c < 3; ++c) {
                std::int32_t sum = 1 << (kPrecisionBits - 1);
                for (int x = 0; x < axis.count[xx]; ++x)
                    sum += std::int32_t(src[(x + xmin) * 3 + c]) * k[x];
                dst[xx * 3 + c] = clip8(sum);
            }
        }
    }
    return out;
}

// Resamples `in` vertically to `height`; row bounds are relative to `rowOffset` of the source.
RgbImage vertical(const RgbImage& in, int height, int rowOffset, const AxisWeights& axis)
{
    RgbImage out;
    out.width = in.width;
    out.height = height;
    out.pixels.resize(std::size_t(in.width) * height * 3);
    const std::size_t stride = std::size_t(in.width) * 3;
    for (int yy = 0; yy < height; ++yy) {
        const std::int32_t* k = &axis.weights[std::size_t(yy) * axis.taps];
        const int ymin = axis.first[yy] - rowOffset;
        std::uint8_t* dst = &out.pixels[yy * stride];
        for (std::size_t i = 0; i < stride; ++i) {
            std::int32_t sum = 1 << (kPrecisionBits - 1);
            for (int y = 0; y < axis.count[yy]; ++y)
                sum += std::int32_t(in.pixels[(ymin + y) * stride + i]) * k[y];
            dst[i] = clip8(sum);
        }
    }
    return out;
}

}  // namespace

RgbImage resizeBicubic(const RgbImage& image, int width, int height)
{
    if (image.empty() || image.pixels.size() != std::size_t(image.width) * image.height * 3)
        throw Error("cannot resize an empty image (or one whose pixel buffer does not match its size)");
    if (width <= 0 || height <= 0)
        throw Error("cannot resize to " + std::to_string(width) + "x" + std::to_string(height));
    const bool needHorizontal = width != image.width;
    const bool needVertical = height != image.height;
    const AxisWeights horizontalWeights = axisWeights(image.width, width);
    const AxisWeights verticalWeights = axisWeights(image.height, height);

    // Pillow runs the horizontal pass only over the rows the vertical pass will read.
    const int firstRow = verticalWeights.first.front();
    const int lastRow = verticalWeights.first.back() + verticalWeights.count.back();
    RgbImage current;
    int rowOffset = 0;
    if (needHorizontal) {
        current = horizontal(image, width, needVertical ? firstRow : 0, needVertical ? lastRow - firstRow : image.height,
                             horizontalWeights);
        rowOffset = needVertical ? firstRow : 0;
    }
    const RgbImage& source = needHorizontal ? current : image;
    if (needVertical)
        return vertical(source, height, rowOffset, verticalWeights);
    return needHorizontal ? current : image;
}

}  // namespace querylens::image
