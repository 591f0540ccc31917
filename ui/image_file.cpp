#include "image_file.h"

#include <QBuffer>
#include <QFileInfo>
#include <QImageReader>

#include <cstdint>

namespace querylens::ui {

namespace {
// A 100-megapixel photo decodes to 400 MB; refuse beyond that instead of exhausting memory.
constexpr int kAllocationLimitMb = 1024;

// What a decoder allocates for an image of this size: four bytes a pixel (Qt decodes to 32-bit
// formats, as its allocation limit assumes).
std::uint64_t decodedBytes(QSize size) { return std::uint64_t(size.width()) * std::uint64_t(size.height()) * 4; }
}

RgbImage toRgbImage(const QImage& image)
{
    // Transparent pixels composite onto white, as Hugging Face's convert_to_rgb does since 4.41
    // (older versions dropped the alpha channel, which shows hidden colours of clear pixels).
    QImage rgb = image;
    if (rgb.hasAlphaChannel()) {
        QImage flattened(rgb.size(), QImage::Format_RGB888);
        flattened.fill(Qt::white);
        rgb = rgb.convertToFormat(QImage::Format_ARGB32_Premultiplied);
        for (int y = 0; y < rgb.height(); ++y) {
            const auto* src = reinterpret_cast<const QRgb*>(rgb.constScanLine(y));
            uchar* dst = flattened.scanLine(y);
            for (int x = 0; x < rgb.width(); ++x) {
                const int a = qAlpha(src[x]);
                dst[3 * x + 0] = uchar(qRed(src[x]) + (255 - a));
                dst[3 * x + 1] = uchar(qGreen(src[x]) + (255 - a));
                dst[3 * x + 2] = uchar(qBlue(src[x]) + (255 - a));
            }
        }
        rgb = flattened;
    } else {
        rgb = rgb.convertToFormat(QImage::Format_RGB888);
    }
    RgbImage out;
    out.width = rgb.width();
    out.height = rgb.height();
    out.pixels.resize(std::size_t(out.width) * std::size_t(out.height) * 3);
    for (int y = 0; y < out.height; ++y)
        std::copy_n(rgb.constScanLine(y), std::size_t(out.width) * 3, out.pixels.data() + std::size_t(y) * out.width * 3);
    return out;
}

DecodedImage fromQImage(const QImage& image, const QString& origin)
{
    DecodedImage decoded;
    if (image.isNull() || image.width() <= 0 || image.height() <= 0) {
        decoded.error = origin + QStringLiteral(": holds no image");
        return decoded;
    }
    decoded.image = image;
    decoded.rgb = toRgbImage(image);
    return decoded;
}

namespace {

// Reads the first frame with EXIF orientation applied; the error names `name`.
DecodedImage readImage(QImageReader& reader, const QString& name)
{
    // Set once: batches decode on several threads at a time.
    static const bool limited = (QImageReader::setAllocationLimit(kAllocationLimitMb), true);
    (void)limited;
    reader.setAutoTransform(true);  // EXIF orientation, as phones record it
    // The size the header claims, checked before decoding against the allocation limit (Qt's
    // readers would refuse it too, but only as "Unable to read image data").
    const QSize claimed = reader.size();
    if (claimed.isValid() && decodedBytes(claimed) > std::uint64_t(kAllocationLimitMb) * 1024 * 1024) {
        DecodedImage decoded;
        decoded.error = name + QStringLiteral(": too large to decode: %1 x %2 (%3 MB of pixels; the limit is %4 MB)")
                                   .arg(claimed.width())
                                   .arg(claimed.height())
                                   .arg(decodedBytes(claimed) / (1024 * 1024))
                                   .arg(kAllocationLimitMb);
        return decoded;
    }
    QImage image;
    if (!reader.read(&image)) {
        const QString format = QString::fromLatin1(reader.format());
        DecodedImage decoded;
        decoded.error = name + QStringLiteral(": cannot be read as an image (") + reader.errorString() +
                        (format.isEmpty() ? QString() : QStringLiteral(", format ") + format) + QStringLiteral(")");
        return decoded;
    }
    return fromQImage(image, name);
}

}  // namespace

DecodedImage decodeImageFile(const QString& path)
{
    DecodedImage decoded;
    const QFileInfo info(path);
    if (info.isDir()) {
        decoded.error = path + QStringLiteral(": is a folder, not an image");
        return decoded;
    }
    if (!info.exists()) {
        decoded.error = path + QStringLiteral(": no such file");
        return decoded;
    }
    QImageReader reader(path);
    return readImage(reader, path);
}

DecodedImage decodeImageData(const QByteArray& data, const QString& name)
{
    QBuffer buffer;
    buffer.setData(data);
    buffer.open(QIODevice::ReadOnly);
    // The name's extension names the format for the few types without a signature (TGA);
    // Qt tries the content's own signature when that fails.
    QImageReader reader(&buffer, QFileInfo(name).suffix().toLower().toLatin1());
    return readImage(reader, name);
}

LoadedImage loadDatasetImage(const DatasetItem& item, const std::string& bytes)
{
    const QString name = QString::fromStdString(item.inShard() ? item.path + "/" + item.member : item.path);
    DecodedImage decoded = decodeImageData(QByteArray::fromRawData(bytes.data(), int(bytes.size())), name);
    LoadedImage loaded;
    if (decoded.ok())
        loaded.image = std::move(decoded.rgb);
    else
        loaded.error = decoded.error.toStdString();
    return loaded;
}

std::vector<std::string> readableImageExtensions()
{
    std::vector<std::string> extensions;
    for (const QByteArray& format : QImageReader::supportedImageFormats())
        extensions.push_back(format.toLower().toStdString());
    return extensions;
}

}  // namespace querylens::ui
