#pragma once
// Folders of images for search: the files Qt can read, and the decoder core's search calls.

#include "querylens/image_search.h"

#include <QString>
#include <QStringList>

namespace querylens::ui {

// Image files in `folder` (and its subfolders when `recursive`) whose suffix one of Qt's image
// readers knows, sorted by path. Hidden files and folders are left out.
QStringList imageFilesIn(const QString& folder, bool recursive);

// Decodes with decodeImageFile; a file that cannot be read throws querylens::Error naming it.
ImageDecoder imageFileDecoder();

}  // namespace querylens::ui
