#pragma once
// BLIP-2's image processor (Hugging Face BlipImageProcessor): resize to the model's size with
// Pillow's bicubic, rescale by 1/255, normalise with the CLIP mean and std, channels first.

#include "querylens/image.h"

#include <array>
#include <string>
#include <vector>

namespace querylens::image {

struct PreprocessorConfig {
    int height = 224;
    int width = 224;
    std::array<float, 3> mean{0.48145466f, 0.4578275f, 0.40821073f};  // OpenAI CLIP
    std::array<float, 3> std{0.26862954f, 0.26130258f, 0.27577711f};
    double rescaleFactor = 1.0 / 255.0;
    bool doResize = true;
    bool doRescale = true;
    bool doNormalize = true;

    // preprocessor_config.json of `folder` when present, else the defaults at `imageSize`
    // (vision_config.image_size). Throws Error naming the file and key when it is malformed.
    static PreprocessorConfig fromFolder(const std::string& folder, int imageSize);
    // preprocessor_config.json as Hugging Face writes it for BLIP-2 (bicubic, these values).
    std::string toJson() const;
};

// pixel_values [3][height][width] as float32, exactly as the reference computes them: uint8
// after resizing, times the rescale factor in double, cast to float, then (x - mean) / std in
// float. Throws Error for an empty image.
std::vector<float> preprocess(const RgbImage& image, const PreprocessorConfig& config);

}  // namespace querylens::image
