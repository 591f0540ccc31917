#pragma once
// Bicubic resizing exactly as Pillow's Image.resize(size, BICUBIC) does it on 8-bit images
// (libImaging/Resample.c): Keys' cubic with a = -0.5, a support widened by the scale factor
// when shrinking (antialiasing), 22-bit fixed-point coefficients, a horizontal then a vertical
// pass with the intermediate rounded to 8 bits. BLIP-2's processor resizes with it, so the
// pixel values match the reference only if this matches Pillow to the bit.

#include "querylens/image.h"

namespace querylens::image {

// Throws Error for an empty image or a non-positive size.
RgbImage resizeBicubic(const RgbImage& image, int width, int height);

}  // namespace querylens::image
