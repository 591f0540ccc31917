#include "image/image_preprocessor.h"

#include "io/json_file.h"
#include "querylens/error.h"
#include "image/image_resize.h"

#include <filesystem>

namespace querylens::image {

namespace fs = std::filesystem;

PreprocessorConfig PreprocessorConfig::fromFolder(const std::string& folder, int imageSize)
{
    PreprocessorConfig c;
    c.height = c.width = imageSize;
    const fs::path path = fs::path(folder) / "preprocessor_config.json";
    if (!fs::exists(path))
        return c;
    const nlohmann::json root = io::readJsonFile(path.string());
    const io::ConfigReader json(root, path.string());
    // "size" is {"height", "width"} in BlipImageProcessor, {"shortest_edge"} or a number in older files.
    const auto size = root.find("size");
    if (size != root.end() && size->is_number()) {
        c.height = c.width = json.getInt("size", imageSize);
    } else if (size != root.end() && size->is_object()) {
        const io::ConfigReader sizes = json.child("size");
        const int edge = sizes.getInt("shortest_edge", imageSize);
        c.height = sizes.getInt("height", edge);
        c.width = sizes.getInt("width", edge);
    } else if (size != root.end() && !size->is_null()) {
        throw Error("expected an integer or an object with height and width, found " + size->dump(), path.string(),
                    "size");
    }
    if (c.height <= 0 || c.width <= 0)
        throw Error("the image size must be positive", path.string(), "size");
    auto triple = [&](const char* key, std::array<float, 3>& out) {
        const std::vector<double> fallback(out.begin(), out.end());
        std::vector<double> values = json.getDoubles(key, fallback);
        if (values.size() == 1)
            values.assign(3, values.front());
        if (values.size() != 3)
            throw Error("needs 3 values (one per colour channel), found " + std::to_string(values.size()), path.string(),
                        key);
        for (int i = 0; i < 3; ++i)
            out[i] = float(values[i]);
    };
    triple("image_mean", c.mean);
    triple("image_std", c.std);
    for (float s : c.std)
        if (s == 0.0f)
            throw Error("a standard deviation of 0 divides by zero", path.string(), "image_std");
    c.rescaleFactor = json.getDouble("rescale_factor", c.rescaleFactor);
    c.doResize = json.getBool("do_resize", c.doResize);
    c.doRescale = json.getBool("do_rescale", c.doRescale);
    c.doNormalize = json.getBool("do_normalize", c.doNormalize);
    // RgbImage is RGB by construction (the caller decodes and converts), so the flag has nothing
    // to switch; it is still read so that a malformed value is reported like the others.
    json.getBool("do_convert_rgb", true);
    return c;
}

std::string PreprocessorConfig::toJson() const
{
    return nlohmann::json{{"image_processor_type", "BlipImageProcessor"},
                          {"do_resize", doResize},
                          {"size", {{"height", height}, {"width", width}}},
                          {"resample", 3},
                          {"do_rescale", doRescale},
                          {"rescale_factor", rescaleFactor},
                          {"do_normalize", doNormalize},
                          {"image_mean", {double(mean[0]), double(mean[1]), double(mean[2])}},
                          {"image_std", {double(std[0]), double(std[1]), double(std[2])}},
                          {"do_convert_rgb", true}}
               .dump(2) +
           "\n";
}

std::vector<float> preprocess(const RgbImage& image, const PreprocessorConfig& config)
{
    if (image.empty() || image.pixels.size() != std::size_t(image.width) * image.height * 3)
        throw Error("the image is empty or its pixel buffer does not match its size");
    const bool resize = config.doResize && (image.width != config.width || image.height != config.height);
    if (!config.doResize && (image.width != config.width || image.height != config.height))
        throw Error("the image is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                    " but the processor does not resize and the model takes " + std::to_string(config.width) + "x" +
                    std::to_string(config.height));
    const RgbImage resized = resize ? resizeBicubic(image, config.width, config.height) : RgbImage{};
    const RgbImage& source = resize ? resized : image;

    const std::size_t plane = std::size_t(config.width) * config.height;
    std::vector<float> out(3 * plane);
    for (std::size_t i = 0; i < plane; ++i)
        for (int c = 0; c < 3; ++c) {
            const std::uint8_t byte = source.pixels[i * 3 + c];
            float x = config.doRescale ? float(double(byte) * config.rescaleFactor) : float(byte);
            if (config.doNormalize)
                x = (x - config.mean[c]) / config.std[c];
            out[c * plane + i] = x;
        }
    return out;
}

}  // namespace querylens::image
