#pragma once
// An 8-bit RGB picture as core takes it: decoding files (and EXIF orientation) is the
// caller's business, so core stays free of image codecs.

#include <cstdint>
#include <vector>

namespace querylens {

struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;  // row-major, 3 bytes (R, G, B) per pixel, no row padding

    bool empty() const { return width <= 0 || height <= 0; }
};

}  // namespace querylens
