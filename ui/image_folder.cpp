#include "image_folder.h"

#include "image_file.h"
#include "querylens/error.h"

#include <QDirIterator>
#include <QFileInfo>
#include <QImageReader>
#include <QSet>

namespace querylens::ui {

QStringList imageFilesIn(const QString& folder, bool recursive)
{
    QSet<QString> suffixes;
    for (const QByteArray& format : QImageReader::supportedImageFormats())
        suffixes.insert(QString::fromLatin1(format).toLower());
    QStringList files;
    QDirIterator it(folder, QDir::Files | QDir::Readable, recursive ? QDirIterator::Subdirectories : QDirIterator::NoIteratorFlags);
    while (it.hasNext()) {
        const QString path = it.next();
        const QFileInfo info = it.fileInfo();
        if (info.isHidden() || !suffixes.contains(info.suffix().toLower()))
            continue;
        files << path;
    }
    files.sort();
    return files;
}

ImageDecoder imageFileDecoder()
{
    return [](const std::string& path) {
        const DecodedImage decoded = decodeImageFile(QString::fromStdString(path));
        if (!decoded.ok())
            throw Error(decoded.error.toStdString());
        return decoded.rgb;
    };
}

}  // namespace querylens::ui
