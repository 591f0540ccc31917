// How images come into the main window: the open dialog, drops, pastes and recent files. Files
// are decoded off the GUI thread; problems of a whole batch are reported in one message.

#include "main_window.h"

#include "image_file.h"
#include "message_bar.h"
#include "worker/model_worker.h"

#include <QApplication>
#include <QClipboard>
#include <QDragEnterEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QImageReader>
#include <QListWidget>
#include <QMenu>
#include <QMimeData>
#include <QSettings>
#include <QtConcurrent/QtConcurrentRun>

namespace querylens::ui {

namespace {
constexpr int kMaxRecentFiles = 10;
}

void MainWindow::openImageDialog()
{
    QStringList filters;
    for (const QByteArray& format : QImageReader::supportedImageFormats())
        filters << QStringLiteral("*.") + QString::fromLatin1(format);
    const QStringList paths = QFileDialog::getOpenFileNames(
        this, tr("Open images"), QSettings().value(QStringLiteral("lastImageFolder")).toString(),
        tr("Images (%1);;All files (*)").arg(filters.join(QLatin1Char(' '))));
    if (!paths.isEmpty())
        QSettings().setValue(QStringLiteral("lastImageFolder"), QFileInfo(paths.first()).absolutePath());
    openImages(paths);
}

void MainWindow::openImages(const QStringList& paths)
{
    // Decoding a large photo takes a good fraction of a second: off the GUI thread, then the
    // images join the library in the order given.
    auto* watcher = new QFutureWatcher<QList<DecodedImage>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, paths] {
        const QList<DecodedImage> images = watcher->result();
        watcher->deleteLater();
        QStringList problems;
        for (int i = 0; i < images.size(); ++i) {
            if (!images[i].ok()) {
                problems << images[i].error;
                continue;
            }
            rememberRecent(QFileInfo(paths[i]).absoluteFilePath());
            addDecodedImage(paths[i], images[i]);
        }
        // One message for all of them: a dropped batch must not become a storm of dialogs.
        if (!problems.isEmpty())
            messageBar_->show(MessageBar::Kind::Error, problems.join(QLatin1Char('\n')));
        emit imagesOpened();
    });
    watcher->setFuture(QtConcurrent::run([paths] {
        QList<DecodedImage> images;
        for (const QString& path : paths)
            images.append(decodeImageFile(path));
        return images;
    }));
}

void MainWindow::addImage(const QString& label, const QImage& image)
{
    const DecodedImage decoded = fromQImage(image, label);
    if (!decoded.ok()) {
        messageBar_->show(MessageBar::Kind::Error, decoded.error);
        return;
    }
    addDecodedImage(label, decoded);
}

void MainWindow::addDecodedImage(const QString& label, const DecodedImage& decoded)
{
    const QImage& image = decoded.image;
    const int id = library_->add(label, image);
    const ImageDocument* document = library_->find(id);
    auto* item = new QListWidgetItem(document->thumbnail, QFileInfo(label).fileName().isEmpty() ? label
                                                                                               : QFileInfo(label).fileName());
    item->setToolTip(label);
    thumbnails_->addItem(item);
    thumbnails_->setVisible(library_->documents().size() > 1);
    const RgbImage rgb = decoded.rgb;
    // The worker encodes it with the first generation (and again after a model change).
    QMetaObject::invokeMethod(worker_, [this, id, rgb] { worker_->addImage(id, rgb); }, Qt::QueuedConnection);
    thumbnails_->setCurrentRow(thumbnails_->count() - 1);
    library_->setCurrent(id);
    if (modelLoaded_)
        generateFor(id, GenerationKind::Caption);
}

void MainWindow::pasteImage()
{
    const QMimeData* mime = QApplication::clipboard()->mimeData();
    if (mime && mime->hasImage()) {
        static int pasted = 0;
        addImage(tr("Pasted image %1").arg(++pasted), qvariant_cast<QImage>(mime->imageData()));
    } else if (mime && mime->hasUrls()) {
        QStringList paths;
        for (const QUrl& url : mime->urls())
            if (url.isLocalFile())
                paths << url.toLocalFile();
        openImages(paths);
    } else {
        messageBar_->show(MessageBar::Kind::Warning, tr("The clipboard holds no image."));
    }
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls() || event->mimeData()->hasImage())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const QMimeData* mime = event->mimeData();
    if (mime->hasUrls()) {
        QStringList paths;
        for (const QUrl& url : mime->urls())
            paths << (url.isLocalFile() ? url.toLocalFile() : url.toString());
        openImages(paths);
    } else if (mime->hasImage()) {
        addImage(tr("Dropped image"), qvariant_cast<QImage>(mime->imageData()));
    }
    event->acceptProposedAction();
}

void MainWindow::rememberRecent(const QString& path)
{
    QSettings settings;
    QStringList recent = settings.value(QStringLiteral("recentFiles")).toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > kMaxRecentFiles)
        recent.removeLast();
    settings.setValue(QStringLiteral("recentFiles"), recent);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    recentMenu_->clear();
    const QStringList recent = QSettings().value(QStringLiteral("recentFiles")).toStringList();
    for (const QString& path : recent)
        recentMenu_->addAction(QFileInfo(path).fileName(), this, [this, path] { openImages({path}); })->setToolTip(path);
    recentMenu_->setEnabled(!recent.isEmpty());
}

}  // namespace querylens::ui
