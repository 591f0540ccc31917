#include "train/scene_renderer.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace querylens::demo {

namespace {

constexpr double kPi = 3.14159265358979323846;

// The triangle and the star in the shape's own frame: unit half-extent, y pointing down.
const std::array<std::array<double, 2>, 3> kTriangle{{{0.0, -0.95}, {-1.0, 0.8}, {1.0, 0.8}}};

std::array<std::array<double, 2>, 10> makeStar()
{
    std::array<std::array<double, 2>, 10> points{};
    for (int i = 0; i < 10; ++i) {
        const double radius = i % 2 == 0 ? 1.0 : 0.45;
        const double angle = -kPi / 2 + i * kPi / 5;
        points[i] = {radius * std::cos(angle), 0.06 + radius * std::sin(angle)};
    }
    return points;
}
const std::array<std::array<double, 2>, 10> kStar = makeStar();

template <std::size_t N>
bool insidePolygon(const std::array<std::array<double, 2>, N>& polygon, double u, double v)
{
    // Crossing number: a ray to +u crosses the boundary an odd number of times from inside.
    bool inside = false;
    for (std::size_t i = 0, j = N - 1; i < N; j = i++) {
        const double ui = polygon[i][0], vi = polygon[i][1], uj = polygon[j][0], vj = polygon[j][1];
        if ((vi > v) != (vj > v) && u < (uj - ui) * (v - vi) / (vj - vi) + ui)
            inside = !inside;
    }
    return inside;
}

// Hue (0-1), saturation, value to 0-255 RGB.
std::array<float, 3> hsv(double h, double s, double v)
{
    const double c = v * s, x = c * (1 - std::fabs(std::fmod(h * 6, 2.0) - 1)), m = v - c;
    double r = 0, g = 0, b = 0;
    switch (int(h * 6) % 6) {
    case 0: r = c, g = x; break;
    case 1: r = x, g = c; break;
    case 2: g = c, b = x; break;
    case 3: g = x, b = c; break;
    case 4: r = x, b = c; break;
    default: r = c, b = x; break;
    }
    return {float(255 * (r + m)), float(255 * (g + m)), float(255 * (b + m))};
}

// libjpeg's standard tables (ITU T.81 Annex K), row-major.
constexpr int kLumaTable[64] = {16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
                                14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
                                18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                                49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
constexpr int kChromaTable[64] = {17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
                                  24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
                                  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
                                  99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

std::array<double, 64> scaledTable(const int* base, int quality)
{
    // libjpeg's jpeg_quality_scaling.
    quality = std::clamp(quality, 1, 100);
    const int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
    std::array<double, 64> table{};
    for (int i = 0; i < 64; ++i)
        table[i] = std::clamp((base[i] * scale + 50) / 100, 1, 255);
    return table;
}

const std::array<double, 64>& dctBasis()
{
    // basis[k * 8 + n] = c(k) cos((2n + 1) k pi / 16), the orthonormal DCT-II.
    static const std::array<double, 64> basis = [] {
        std::array<double, 64> b{};
        for (int k = 0; k < 8; ++k)
            for (int n = 0; n < 8; ++n)
                b[k * 8 + n] = (k == 0 ? std::sqrt(1.0 / 8) : std::sqrt(2.0 / 8)) * std::cos((2 * n + 1) * k * kPi / 16);
        return b;
    }();
    return basis;
}

// Quantises one plane [height][width] (level-shifted by -128) block by block, in place.
void quantisePlane(std::vector<double>& plane, int width, int height, const std::array<double, 64>& table)
{
    const auto& basis = dctBasis();
    std::array<double, 64> block{}, temp{}, coefficients{};
    for (int by = 0; by < height; by += 8)
        for (int bx = 0; bx < width; bx += 8) {
            // Edge blocks repeat the last row/column, as encoders pad.
            for (int y = 0; y < 8; ++y)
                for (int x = 0; x < 8; ++x)
                    block[y * 8 + x] = plane[std::size_t(std::min(by + y, height - 1)) * width + std::min(bx + x, width - 1)];
            for (int y = 0; y < 8; ++y)  // rows: temp = block * basis^T
                for (int k = 0; k < 8; ++k) {
                    double s = 0;
                    for (int n = 0; n < 8; ++n)
                        s += block[y * 8 + n] * basis[k * 8 + n];
                    temp[y * 8 + k] = s;
                }
            for (int k = 0; k < 8; ++k)  // columns
                for (int x = 0; x < 8; ++x) {
                    double s = 0;
                    for (int n = 0; n < 8; ++n)
                        s += basis[k * 8 + n] * temp[n * 8 + x];
                    coefficients[k * 8 + x] = std::round(s / table[k * 8 + x]) * table[k * 8 + x];
                }
            for (int k = 0; k < 8; ++k)  // inverse, columns
                for (int x = 0; x < 8; ++x) {
                    double s = 0;
                    for (int n = 0; n < 8; ++n)
                        s += basis[n * 8 + k] * coefficients[n * 8 + x];
                    temp[k * 8 + x] = s;
                }
            for (int y = 0; y < 8 && by + y < height; ++y)  // rows
                for (int x = 0; x < 8 && bx + x < width; ++x) {
                    double s = 0;
                    for (int n = 0; n < 8; ++n)
                        s += temp[y * 8 + n] * basis[n * 8 + x];
                    plane[std::size_t(by + y) * width + bx + x] = s;
                }
        }
}

void jpegRoundTrip(RgbImage& image, int quality, bool chroma420)
{
    const int w = image.width, h = image.height;
    const std::size_t n = std::size_t(w) * h;
    std::vector<double> y(n), cb(n), cr(n);
    for (std::size_t i = 0; i < n; ++i) {
        const double r = image.pixels[3 * i], g = image.pixels[3 * i + 1], b = image.pixels[3 * i + 2];
        y[i] = 0.299 * r + 0.587 * g + 0.114 * b - 128;  // JFIF
        cb[i] = -0.168736 * r - 0.331264 * g + 0.5 * b;
        cr[i] = 0.5 * r - 0.418688 * g - 0.081312 * b;
    }
    quantisePlane(y, w, h, scaledTable(kLumaTable, quality));
    if (chroma420) {
        // Average 2x2, quantise at half resolution, repeat back up.
        const int hw = (w + 1) / 2, hh = (h + 1) / 2;
        for (std::vector<double>* plane : {&cb, &cr}) {
            std::vector<double> half(std::size_t(hw) * hh, 0.0);
            for (int yy = 0; yy < hh; ++yy)
                for (int xx = 0; xx < hw; ++xx) {
                    double s = 0;
                    for (int dy = 0; dy < 2; ++dy)
                        for (int dx = 0; dx < 2; ++dx)
                            s += (*plane)[std::size_t(std::min(2 * yy + dy, h - 1)) * w + std::min(2 * xx + dx, w - 1)];
                    half[std::size_t(yy) * hw + xx] = s / 4;
                }
            quantisePlane(half, hw, hh, scaledTable(kChromaTable, quality));
            for (int yy = 0; yy < h; ++yy)
                for (int xx = 0; xx < w; ++xx)
                    (*plane)[std::size_t(yy) * w + xx] = half[std::size_t(yy / 2) * hw + xx / 2];
        }
    } else {
        quantisePlane(cb, w, h, scaledTable(kChromaTable, quality));
        quantisePlane(cr, w, h, scaledTable(kChromaTable, quality));
    }
    auto byte = [](double v) { return std::uint8_t(std::clamp(std::lround(v), 0L, 255L)); };
    for (std::size_t i = 0; i < n; ++i) {
        const double yy = y[i] + 128;
        image.pixels[3 * i] = byte(yy + 1.402 * cr[i]);
        image.pixels[3 * i + 1] = byte(yy - 0.344136 * cb[i] - 0.714136 * cr[i]);
        image.pixels[3 * i + 2] = byte(yy + 1.772 * cb[i]);
    }
}

}  // namespace

RenderStyle drawStyle(SceneRandom& random, bool artefacts)
{
    RenderStyle style;
    style.supersample = 1 + random.below(4);  // 1 (aliased) to 4
    if (!artefacts) {
        style.supersample = 4;
        return style;
    }
    style.noiseSigma = random.chance(0.7) ? random.uniform(0.5, 6.0) : 0.0;
    if (random.chance(0.6)) {
        style.jpegQuality = 35 + random.below(61);
        style.chromaSubsampling = random.chance(0.5);
    }
    return style;
}

std::vector<float> drawBackground(int width, int height, SceneRandom& random, bool artefacts)
{
    std::array<float, 3> base{};
    const int kind = random.below(3);
    if (kind == 0) {  // white, a little warm or cool
        const double v = random.uniform(242, 255);
        base = {float(v + random.uniform(-3, 3)), float(v), float(v + random.uniform(-3, 3))};
    } else if (kind == 1) {  // light grey
        const double v = random.uniform(195, 238);
        base = {float(v), float(v + random.uniform(-2, 2)), float(v + random.uniform(-2, 2))};
    } else {  // pastel
        base = hsv(random.uniform(), random.uniform(0.06, 0.22), random.uniform(0.9, 1.0));
    }
    std::vector<float> canvas(std::size_t(width) * height * 3);
    const bool textured = artefacts && random.chance(0.5);
    // A gentle gradient and low-frequency waves: light texture, never object-like.
    const double gradient = textured ? random.uniform(-14, 14) : 0, angle = random.uniform(0, 2 * kPi);
    const double wave = textured ? random.uniform(0, 7) : 0, fx = random.uniform(0.5, 3), fy = random.uniform(0.5, 3);
    const double phase = random.uniform(0, 2 * kPi);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const double u = double(x) / width - 0.5, v = double(y) / height - 0.5;
            const double shade = gradient * (u * std::cos(angle) + v * std::sin(angle)) +
                                 wave * std::sin(2 * kPi * (fx * u + fy * v) + phase);
            for (int c = 0; c < 3; ++c)
                canvas[(std::size_t(y) * width + x) * 3 + c] = std::clamp(float(base[c] + shade), 0.0f, 255.0f);
        }
    return canvas;
}

bool insideShape(const SceneObject& object, double x, double y)
{
    const double half = object.extent / 2;
    const double dx = x - object.centreX, dy = y - object.centreY;
    const double c = std::cos(object.rotation), s = std::sin(object.rotation);
    const double u = (c * dx + s * dy) / half, v = (-s * dx + c * dy) / half;
    switch (object.shape) {
    case Shape::Circle: return u * u + v * v <= 1.0;
    case Shape::Square: return std::fabs(u) <= 0.9 && std::fabs(v) <= 0.9;
    case Shape::Triangle: return insidePolygon(kTriangle, u, v);
    case Shape::Star: return insidePolygon(kStar, u, v);
    }
    return false;
}

void drawObjects(std::vector<float>& canvas, int width, int height, std::vector<SceneObject>& objects, int supersample)
{
    const std::size_t pixels = std::size_t(width) * height;
    std::vector<int> owner(pixels, -1);
    for (std::size_t i = 0; i < objects.size(); ++i) {
        const SceneObject& o = objects[i];
        const double reach = o.extent * 0.75 + 1;  // covers any rotation of the shape
        const int x0 = std::max(0, int(std::floor(o.centreX - reach))), x1 = std::min(width - 1, int(std::ceil(o.centreX + reach)));
        const int y0 = std::max(0, int(std::floor(o.centreY - reach))), y1 = std::min(height - 1, int(std::ceil(o.centreY + reach)));
        const double step = 1.0 / supersample;
        for (int y = y0; y <= y1; ++y)
            for (int x = x0; x <= x1; ++x) {
                int hits = 0;
                for (int sy = 0; sy < supersample; ++sy)
                    for (int sx = 0; sx < supersample; ++sx)
                        hits += insideShape(o, x + (sx + 0.5) * step, y + (sy + 0.5) * step);
                if (hits == 0)
                    continue;
                const float coverage = float(hits) / float(supersample * supersample);
                float* px = &canvas[(std::size_t(y) * width + x) * 3];
                for (int c = 0; c < 3; ++c)
                    px[c] = px[c] * (1 - coverage) + float(o.rgb[c]) * coverage;
                if (coverage >= 0.5f)
                    owner[std::size_t(y) * width + x] = int(i);
            }
    }
    for (std::size_t i = 0; i < objects.size(); ++i) {
        SceneObject& o = objects[i];
        o.mask.assign(pixels, 0);
        o.maskPixels = 0;
        o.box = {width, height, -1, -1};
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x)
                if (owner[std::size_t(y) * width + x] == int(i)) {
                    o.mask[std::size_t(y) * width + x] = 1;
                    ++o.maskPixels;
                    o.box = {std::min(o.box[0], x), std::min(o.box[1], y), std::max(o.box[2], x), std::max(o.box[3], y)};
                }
    }
}

RgbImage finishImage(const std::vector<float>& canvas, int width, int height, const RenderStyle& style,
                     SceneRandom& random)
{
    RgbImage image;
    image.width = width;
    image.height = height;
    image.pixels.resize(canvas.size());
    for (std::size_t i = 0; i < canvas.size(); ++i) {
        const double noisy = canvas[i] + (style.noiseSigma > 0 ? style.noiseSigma * random.normal() : 0.0);
        image.pixels[i] = std::uint8_t(std::clamp(std::lround(noisy), 0L, 255L));
    }
    if (style.jpegQuality > 0)
        jpegRoundTrip(image, style.jpegQuality, style.chromaSubsampling);
    return image;
}

}  // namespace querylens::demo
