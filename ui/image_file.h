#pragma once
// Decoding image files into the RGB8 buffers core takes, with Qt's image reader: every format
// Qt has a plugin for, EXIF orientation applied, the first frame of animations.

#include "querylens/batch_runner.h"
#include "querylens/image.h"

#include <QImage>
#include <QString>

namespace querylens::ui {

struct DecodedImage {
    QImage image;        // oriented, for display
    RgbImage rgb;        // the same pixels for the model
    QString error;       // empty on success: otherwise names the file and what is wrong
    bool ok() const { return error.isEmpty(); }
};

DecodedImage decodeImageFile(const QString& path);
// An image file's bytes (read from a tar shard, say); `name` is what errors name, and its
// extension hints the format. Thread-safe, as decodeImageFile.
DecodedImage decodeImageData(const QByteArray& data, const QString& name);
// For images from the clipboard or a drop of raw data.
DecodedImage fromQImage(const QImage& image, const QString& origin);
RgbImage toRgbImage(const QImage& image);

// The batches' image loader (querylens::ImageLoader): a file's or a tar member's bytes decoded
// as decodeImageData does, the error naming the file (or SHARD/MEMBER).
LoadedImage loadDatasetImage(const DatasetItem& item, const std::string& bytes);
// The image types a folder's files are taken for: every format Qt can read here, lower case.
std::vector<std::string> readableImageExtensions();

}  // namespace querylens::ui
