// BLIP-2's preprocessing of RGB images of arbitrary sizes (1 x 1 up to 2048 on a side, thin
// strips included, at most 64K pixels) to arbitrary model sizes, with the processor's
// switches: the output has the model's shape, finite values, and a flat image stays flat
// (bicubic weights sum to one).
// The first 8 bytes choose sizes and switches; the rest are the pixels, repeated to fill.

#include "fuzz_support.h"
#include "image/image_preprocessor.h"
#include "image/image_resize.h"
#include "querylens/error.h"

#include <cmath>

QUERYLENS_FUZZ_TARGET(image_preprocess)
{
    using namespace querylens;
    if (size < 8)
        return 0;
    auto dimension = [&](int at, int most) { return 1 + ((data[at] << 8) | data[at + 1]) % most; };
    RgbImage image;
    image.width = dimension(0, 2048);
    image.height = dimension(2, 2048);
    // At most 64K pixels (2048 x 32 strips still), so that one run under ASan + UBSan takes a few
    // ms: at 1M pixels libFuzzer managed 5 runs a second (AMD EPYC Zen 4, shared).
    if (std::size_t(image.width) * std::size_t(image.height) > (std::size_t(1) << 16))
        image.height = int((std::size_t(1) << 16) / std::size_t(image.width));
    image::PreprocessorConfig config;
    config.width = 1 + data[4] % 400;
    config.height = 1 + data[5] % 400;
    config.doResize = (data[6] & 1) != 0 || (data[6] & 8) == 0;
    config.doRescale = (data[6] & 2) != 0;
    config.doNormalize = (data[6] & 4) != 0;
    const bool flat = (data[7] & 1) != 0 || size == 8;
    const std::uint8_t* pixels = data + 8;
    const std::size_t count = size - 8;
    image.pixels.resize(std::size_t(image.width) * std::size_t(image.height) * 3);
    for (std::size_t i = 0; i < image.pixels.size(); ++i)
        image.pixels[i] = flat || count == 0 ? std::uint8_t(data[7] + i % 3 * 50) : pixels[i % count];
    try {
        const std::vector<float> out = image::preprocess(image, config);
        const std::size_t plane = std::size_t(config.width) * std::size_t(config.height);
        FUZZ_CHECK(out.size() == 3 * plane, "pixel_values has the wrong size");
        for (float value : out)
            FUZZ_CHECK(std::isfinite(value), "a pixel value is not finite");
        if (flat && !config.doRescale && !config.doNormalize)
            for (int c = 0; c < 3; ++c) {
                const float expected = float(image.pixels[std::size_t(c)]);
                for (std::size_t i = 0; i < plane; ++i)
                    FUZZ_CHECK(std::fabs(out[c * plane + i] - expected) <= 1.0f,
                               "a flat image did not stay flat: " + std::to_string(out[c * plane + i]) + " for " +
                                   std::to_string(expected) + " at " + std::to_string(image.width) + "x" +
                                   std::to_string(image.height) + " -> " + std::to_string(config.width) + "x" +
                                   std::to_string(config.height));
            }
    } catch (const Error&) {
        // Only a model size that differs with resizing switched off is refused.
        FUZZ_CHECK(!config.doResize && (image.width != config.width || image.height != config.height),
                   "a valid image was refused");
    }
    return 0;
}
