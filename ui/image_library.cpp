#include "image_library.h"

#include <QPixmap>

namespace querylens::ui {

int ImageLibrary::add(const QString& path, const QImage& image)
{
    ImageDocument document;
    document.id = nextId_++;
    document.path = path;
    document.image = image;
    document.thumbnail = thumbnailOf(image);
    documents_.append(std::move(document));
    emit added(documents_.back().id);
    return documents_.back().id;
}

QIcon ImageLibrary::thumbnailOf(const QImage& image)
{
    if (image.isNull())
        return {};
    return QIcon(QPixmap::fromImage(image.scaled(160, 120, Qt::KeepAspectRatio, Qt::SmoothTransformation)));
}

void ImageLibrary::remove(int id)
{
    for (int i = 0; i < documents_.size(); ++i) {
        if (documents_[i].id == id) {
            documents_.removeAt(i);
            emit removed(id);
            if (current_ == id)
                setCurrent(documents_.isEmpty() ? 0 : documents_[qMin(i, documents_.size() - 1)].id);
            return;
        }
    }
}

ImageDocument* ImageLibrary::find(int id)
{
    for (auto& document : documents_)
        if (document.id == id)
            return &document;
    return nullptr;
}

void ImageLibrary::resetResults()
{
    for (auto& document : documents_) {
        document.encoding.reset();
        document.caption.clear();
        document.captionResult = {};
        document.captionFinished = false;
    }
}

ImageDocument* ImageLibrary::current() { return find(current_); }

void ImageLibrary::setCurrent(int id)
{
    if (current_ == id)
        return;
    current_ = id;
    emit currentChanged(id);
}

}  // namespace querylens::ui
