// How images come into the main window: the open dialog, drops, pastes and recent files. Files
// are decoded off the GUI thread; problems of a whole batch are reported in one message.

#include "main_window.h"

#include "chat/chat_controller.h"
#include "image_file.h"
#include "io/atomic_file.h"
#include "io/sha256.h"
#include "message_bar.h"
#include "worker/model_worker.h"

#include <QApplication>
#include <QBuffer>
#include <QDir>
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
    // The SHA-256 of each file too: a conversation about the image records it.
    using Opened = QPair<DecodedImage, QString>;
    auto* watcher = new QFutureWatcher<QList<Opened>>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, paths] {
        const QList<Opened> images = watcher->result();
        watcher->deleteLater();
        QStringList problems;
        for (int i = 0; i < images.size(); ++i) {
            if (!images[i].first.ok()) {
                problems << images[i].first.error;
                continue;
            }
            const QString file = QFileInfo(paths[i]).absoluteFilePath();
            rememberRecent(file);
            addDecodedImage(paths[i], images[i].first, file, images[i].second);
        }
        // One message for all of them: a dropped batch must not become a storm of dialogs.
        if (!problems.isEmpty())
            messageBar_->show(MessageBar::Kind::Error, problems.join(QLatin1Char('\n')));
        emit imagesOpened();
    });
    watcher->setFuture(QtConcurrent::run([paths] {
        QList<Opened> images;
        for (const QString& path : paths) {
            Opened opened{decodeImageFile(path), {}};
            if (opened.first.ok()) {
                try {
                    opened.second = QString::fromStdString(io::sha256OfFile(path.toStdString()));
                } catch (const std::exception&) {
                    // Decoded but unreadable a moment later: it still opens; a session records no hash.
                }
            }
            images.append(opened);
        }
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
    // A pasted or dropped picture has no file: it is kept as PNG in the sessions folder (named
    // by its SHA-256), so that a conversation about it can be reopened. Encoding and writing
    // happen on a pool thread.
    auto* watcher = new QFutureWatcher<QStringList>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, label, decoded] {
        const QStringList saved = watcher->result();  // {file, sha256} or {"", error}
        watcher->deleteLater();
        if (saved.value(0).isEmpty())
            messageBar_->show(MessageBar::Kind::Warning,
                              tr("The pasted image could not be kept for its conversation: %1").arg(saved.value(1)));
        addDecodedImage(label, decoded, saved.value(0), saved.value(0).isEmpty() ? QString() : saved.value(1));
        emit imagesOpened();
    });
    const QString folder = QString::fromStdString(chat_->store().imageFolder());
    const QImage picture = decoded.image;
    watcher->setFuture(QtConcurrent::run([folder, picture]() -> QStringList {
        QByteArray png;
        QBuffer buffer(&png);
        buffer.open(QIODevice::WriteOnly);
        picture.save(&buffer, "PNG");
        try {
            const std::string bytes(png.constData(), std::size_t(png.size()));
            const QString sha = QString::fromStdString(io::sha256OfBytes(bytes));
            const QString file = QDir(folder).filePath(sha + QStringLiteral(".png"));
            QDir().mkpath(folder);
            if (!QFileInfo::exists(file))
                io::writeFileAtomically(file.toStdString(), bytes);
            return {file, sha};
        } catch (const std::exception& e) {
            return {QString(), QString::fromStdString(e.what())};
        }
    }));
}

int MainWindow::addDecodedImage(const QString& label, const DecodedImage& decoded, const QString& file,
                                const QString& sha256)
{
    const QImage& image = decoded.image;
    const int id = library_->add(label, image);
    ImageDocument* document = library_->find(id);
    document->file = file;
    document->sha256 = sha256;
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
    startImageWork(id);  // a caption, or for a matching model its encoding
    return id;
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
