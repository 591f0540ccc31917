// The main window's conversations: the Conversation and Help menus, the wiring between the
// chat pane's controller and the worker, saved sessions' images, and the remembered layout.

#include "main_window.h"

#include "chat/chat_controller.h"
#include "chat/chat_pane.h"
#include "chat/session_browser.h"
#include "chat/shortcuts_dialog.h"
#include "decoding_panel.h"
#include "image_file.h"
#include "image_view.h"
#include "io/sha256.h"
#include "message_bar.h"
#include "worker/model_worker.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QSplitter>
#include <QtConcurrent/QtConcurrentRun>

namespace querylens::ui {

namespace {

struct FoundImage {
    DecodedImage decoded;
    QString sha256;
};

FoundImage readImage(const QString& path)
{
    FoundImage found{decodeImageFile(path), {}};
    if (found.decoded.ok()) {
        try {
            found.sha256 = QString::fromStdString(io::sha256OfFile(path.toStdString()));
        } catch (const std::exception& e) {
            found.decoded.error = QString::fromStdString(e.what());
        }
    }
    return found;
}

}  // namespace

void MainWindow::buildConversationActions(QMenu* generate)
{
    QMenu* menu = menuBar()->addMenu(tr("&Conversation"));
    QAction* fresh = menu->addAction(tr("&New Conversation"), chat_, &ChatController::newConversation);
    fresh->setShortcut(QKeySequence(tr("Ctrl+N")));
    QAction* search = menu->addAction(tr("&Find in Conversations…"), this, &MainWindow::showConversations);
    search->setShortcut(QKeySequence::Find);
    QAction* edit = menu->addAction(tr("&Edit Last Question"), chat_, &ChatController::editLast);
    edit->setShortcut(QKeySequence(tr("Ctrl+E")));
    edit->setToolTip(tr("Also Up in an empty question box"));
    QAction* compare = menu->addAction(tr("&Compare Answers…"), this, [this] {
        if (const ImageDocument* d = library_->current(); d && d->conversation)
            chat_->compare(d->conversation->activeLeaf());
    });
    compare->setShortcut(QKeySequence(tr("Ctrl+Shift+C")));
    menu->addSeparator();
    menu->addAction(tr("Export as &Markdown…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export the conversation"), {}, tr("Markdown (*.md)"));
        if (!path.isEmpty())
            chat_->exportCurrent(path, true);
    });
    menu->addAction(tr("Export as &JSON…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export the conversation"), {}, tr("JSON (*.json)"));
        if (!path.isEmpty())
            chat_->exportCurrent(path, false);
    });
    menu->addAction(tr("&Import…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Import a conversation"), {}, tr("JSON (*.json)"));
        if (!path.isEmpty())
            chat_->importFile(path);
    });
    Q_UNUSED(generate);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* keys = help->addAction(tr("&Keyboard Shortcuts"), this, &MainWindow::showShortcuts);
    keys->setShortcut(QKeySequence(tr("Ctrl+/")));
}

void MainWindow::connectChat()
{
    chat_->setDecodingOptions([this] { return decoding_->options(); });
    connect(chat_, &ChatController::generationRequested, this,
            [this](int imageId, int turnId, const QString& question, const std::vector<ChatTurn>& history,
                   const DecodingOptions& options) {
                generateFor(imageId, GenerationKind::Question, question, {}, turnId, history, options);
            });
    connect(chat_, &ChatController::sessionImageRequested, this,
            [this](const QString& path, std::shared_ptr<Conversation> c, std::shared_ptr<SessionLock> lock) {
                int replace = 0;
                if (const ImageDocument* d = library_->current(); d && d->conversation == c)
                    replace = d->id;  // the image was located again
                openSessionImage(path, std::move(c), std::move(lock), replace);
            });
    connect(chat_, &ChatController::modelLoadRequested, this, [this](const QString& folder) {
        LoadOptions options;
        options.folder = folder.toStdString();
        loadModel(options);
    });
    connect(chat_, &ChatController::errorMessage, this, [this](const QString& text) { messageBar_->show(MessageBar::Kind::Error, text); });
    connect(chat_, &ChatController::infoMessage, this, [this](const QString& text) { messageBar_->show(MessageBar::Kind::Info, text); });
    connect(chat_, &ChatController::answerCompleted, this, [this](int imageId) {
        if (imageId == library_->currentId())
            refreshExplorer();
        emit answerFinished(imageId);
    });
    connect(chatPane_, &ChatPane::stopRequested, this, &MainWindow::stopGeneration);
    // An image dropped or pasted on the conversation starts one about it.
    connect(chatPane_, &ChatPane::imageFilesDropped, this, [this](const QStringList& paths) {
        openImages(paths);
        chatPane_->focusQuestion();
    });
    connect(chatPane_, &ChatPane::imageDropped, this, [this](const QImage& image) {
        addImage(tr("Dropped image"), image);
        chatPane_->focusQuestion();
    });
}

void MainWindow::openSessionImage(const QString& path, std::shared_ptr<Conversation> conversation,
                                  std::shared_ptr<SessionLock> lock, int replaceDocument)
{
    auto* watcher = new QFutureWatcher<FoundImage>(this);
    connect(watcher, &QFutureWatcherBase::finished, this, [=] {
        const FoundImage found = watcher->result();
        watcher->deleteLater();
        ImageReference& reference = conversation->image;
        bool same = found.decoded.ok() && found.sha256.toStdString() == reference.sha256;
        if (found.decoded.ok() && !same && replaceDocument != 0) {
            // The user chose this file: it may be the picture edited (re-saved, cropped).
            same = QMessageBox::question(this, tr("Another picture"),
                                         tr("%1 is not the picture this conversation was about (its bytes differ). Use it "
                                            "anyway? The earlier answers were about the other one.")
                                             .arg(path)) == QMessageBox::Yes;
        }
        if (!same && replaceDocument != 0) {
            if (!found.decoded.ok())
                messageBar_->show(MessageBar::Kind::Error, found.decoded.error);
            return;
        }
        if (same && (reference.path != path.toStdString() || reference.sha256 != found.sha256.toStdString())) {
            reference = {path.toStdString(), found.sha256.toStdString(), found.decoded.image.width(),
                         found.decoded.image.height()};
            chat_->saveConversation(*conversation);
        }
        if (ImageDocument* document = library_->find(replaceDocument)) {
            giveImage(*document, found.decoded, path, found.sha256);
            showCurrentImage();
            return;
        }
        // A missing or changed image still shows its conversation; the pane asks for the image.
        const int id = same ? addDecodedImage(path, found.decoded, path, found.sha256)
                            : library_->add(QString::fromStdString(reference.path), QImage());
        if (!same) {
            auto* item = new QListWidgetItem(QFileInfo(QString::fromStdString(reference.path)).fileName());
            item->setToolTip(tr("Missing: %1").arg(QString::fromStdString(reference.path)));
            thumbnails_->addItem(item);
            thumbnails_->setVisible(library_->documents().size() > 1);
        }
        ImageDocument* document = library_->find(id);
        document->conversation = conversation;
        document->sessionLock = lock;
        thumbnails_->setCurrentRow(thumbnails_->count() - 1);
        library_->setCurrent(id);
        showCurrentImage();
    });
    watcher->setFuture(QtConcurrent::run([path] { return readImage(path); }));
}

void MainWindow::giveImage(ImageDocument& document, const DecodedImage& decoded, const QString& file, const QString& sha256)
{
    document.image = decoded.image;
    document.file = file;
    document.sha256 = sha256;
    document.path = file;
    document.thumbnail = ImageLibrary::thumbnailOf(decoded.image);
    for (int row = 0; row < library_->documents().size(); ++row)
        if (library_->documents()[row].id == document.id && thumbnails_->item(row)) {
            thumbnails_->item(row)->setIcon(document.thumbnail);
            thumbnails_->item(row)->setToolTip(file);
        }
    const int id = document.id;
    const RgbImage rgb = decoded.rgb;
    QMetaObject::invokeMethod(worker_, [this, id, rgb] { worker_->addImage(id, rgb); }, Qt::QueuedConnection);
    startImageWork(id);  // a caption, or for a matching model its encoding
}

void MainWindow::showShortcuts()
{
    QList<QAction*> actions;
    for (QAction* menu : menuBar()->actions())
        if (menu->menu())
            for (QAction* action : menu->menu()->actions())
                if (!action->isSeparator())
                    actions << action;
    ShortcutsDialog dialog(actions, this);
    dialog.exec();
}

void MainWindow::showConversations()
{
    auto* browser = new SessionBrowser(chat_->store(), this);
    browser->setAttribute(Qt::WA_DeleteOnClose);
    connect(browser, &SessionBrowser::openRequested, this, [this, browser](const QString& name) {
        if (chat_->openSession(name))
            browser->close();
    });
    connect(browser, &SessionBrowser::deleteRequested, this, [this, browser](const QString& name) {
        chat_->deleteSession(name);
        browser->reload();
    });
    connect(browser, &SessionBrowser::importRequested, this, [this, browser] {
        const QString path = QFileDialog::getOpenFileName(browser, tr("Import a conversation"), {}, tr("JSON (*.json)"));
        if (!path.isEmpty()) {
            chat_->importFile(path);
            browser->close();
        }
    });
    browser->show();
    browser->searchField()->setFocus();
}

void MainWindow::saveLayout() const
{
    QSettings settings;
    settings.setValue(QStringLiteral("layout/describeSplitter"), describeSplitter_->saveState());
    settings.setValue(QStringLiteral("layout/imageSplitter"), imageSplitter_->saveState());
}

}  // namespace querylens::ui
