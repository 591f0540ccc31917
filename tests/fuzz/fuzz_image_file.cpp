// Image files of any bytes through the program's decoder (Qt's image readers, EXIF orientation,
// the size limits checked before decoding, alpha flattened onto white): a file is refused
// with a message naming it, or gives RGB pixels of the size it reports.

#include "fuzz_support.h"
#include "image_file.h"

QUERYLENS_FUZZ_TARGET(image_file)
{
    static const fuzzsupport::Scratch scratch("image_file");
    const std::string path =
        scratch.write("image", std::string(reinterpret_cast<const char*>(data), size));
    const auto decoded = querylens::ui::decodeImageFile(QString::fromStdString(path));
    if (!decoded.ok()) {
        FUZZ_CHECK(decoded.error.startsWith(QString::fromStdString(path)), decoded.error.toStdString());
        return 0;
    }
    FUZZ_CHECK(decoded.rgb.width == decoded.image.width() && decoded.rgb.height == decoded.image.height(), "size");
    FUZZ_CHECK(decoded.rgb.pixels.size() == std::size_t(decoded.rgb.width) * std::size_t(decoded.rgb.height) * 3,
               "pixel buffer");
    return 0;
}
