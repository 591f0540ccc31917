#include "main_window.h"

#include "caption_panel.h"
#include "chat_panel.h"
#include "decoding_panel.h"
#include "download/download_manager.h"
#include "explorer/explorer_panel.h"
#include "image_file.h"
#include "image_view.h"
#include "message_bar.h"
#include "status_panel.h"
#include "worker/model_worker.h"

#include <QCloseEvent>
#include <QGroupBox>
#include <QListWidget>
#include <QMenuBar>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>
#include <QVBoxLayout>

#include <climits>

namespace querylens::ui {

namespace {

// A menu entry with a shortcut that calls `slot` of `receiver`.
template <typename Receiver, typename Slot>
QAction* addMenuAction(QMenu* menu, const QString& text, const QKeySequence& shortcut, Receiver* receiver, Slot slot)
{
    QAction* action = menu->addAction(text);
    action->setShortcut(shortcut);
    QObject::connect(action, &QAction::triggered, receiver, slot);
    return action;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent), worker_(new ModelWorker), library_(new ImageLibrary(this)), imageView_(new ImageView),
      thumbnails_(new QListWidget), captionPanel_(new CaptionPanel), chatPanel_(new ChatPanel),
      decoding_(new DecodingPanel), messageBar_(new MessageBar), status_(new StatusPanel(statusBar())),
      tabs_(new QTabWidget), explorer_(new ExplorerPanel), sideTabs_(new QTabWidget)
{
    registerWorkerTypes();
    setWindowTitle(QStringLiteral("QueryLens"));
    setAcceptDrops(true);
    resize(1240, 760);
    downloads_ = new DownloadManager(this);
    connect(downloads_, &DownloadManager::finished, this, [this](const QString& repo, const QString&, const QString&) {
        messageBar_->show(MessageBar::Kind::Info, tr("%1 is downloaded and verified. Open it with File → Open Model "
                                                     "(Ctrl+M).").arg(repo));
    });
    worker_->moveToThread(&workerThread_);
    connect(&workerThread_, &QThread::finished, worker_, &QObject::deleteLater);
    workerThread_.setObjectName(QStringLiteral("model worker"));
    workerThread_.start();

    buildActions();
    buildLayout();
    connectWorker();
    showCurrentImage();
    updateActions();
}

MainWindow::~MainWindow()
{
    worker_->cancelUpTo(INT_MAX);
    workerThread_.quit();
    workerThread_.wait();
}

void MainWindow::buildActions()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    openAction_ = addMenuAction(file, tr("&Open Image…"), QKeySequence::Open, this, &MainWindow::openImageDialog);
    pasteAction_ = addMenuAction(file, tr("&Paste Image"), QKeySequence::Paste, this, &MainWindow::pasteImage);
    recentMenu_ = file->addMenu(tr("Open &Recent"));
    file->addSeparator();
    modelAction_ = addMenuAction(file, tr("Open &Model…"), QKeySequence(tr("Ctrl+M")), this, &MainWindow::chooseModel);
    file->addSeparator();
    addMenuAction(file, tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* run = menuBar()->addMenu(tr("&Generate"));
    regenerateAction_ = addMenuAction(run, tr("&Regenerate Caption"), QKeySequence(tr("Ctrl+R")), this, &MainWindow::regenerateCaption);
    askAction_ = run->addAction(tr("&Ask…"), this, [this] {
        sideTabs_->setCurrentWidget(chatPanel_);
        chatPanel_->focusQuestion();
    });
    askAction_->setShortcuts({QKeySequence(tr("Ctrl+Return")), QKeySequence(tr("Ctrl+Enter"))});
    stopAction_ = addMenuAction(run, tr("&Stop"), QKeySequence(Qt::Key_Escape), this, &MainWindow::stopGeneration);

    QToolBar* tools = addToolBar(tr("Main"));
    tools->setObjectName(QStringLiteral("mainToolBar"));
    tools->setMovable(false);
    tools->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    openAction_->setIcon(style()->standardIcon(QStyle::SP_DialogOpenButton));
    modelAction_->setIcon(style()->standardIcon(QStyle::SP_DirOpenIcon));
    regenerateAction_->setIcon(style()->standardIcon(QStyle::SP_BrowserReload));
    stopAction_->setIcon(style()->standardIcon(QStyle::SP_MediaStop));
    tools->addAction(openAction_);
    tools->addAction(modelAction_);
    tools->addSeparator();
    tools->addAction(regenerateAction_);
    tools->addAction(stopAction_);
    rebuildRecentMenu();
}

void MainWindow::buildLayout()
{
    imageView_->setPlaceholder(tr("Drop an image here\nor open one with Ctrl+O, or paste with Ctrl+V"));
    thumbnails_->setObjectName(QStringLiteral("thumbnails"));
    thumbnails_->setViewMode(QListView::IconMode);
    thumbnails_->setFlow(QListView::LeftToRight);
    thumbnails_->setWrapping(false);
    thumbnails_->setIconSize(QSize(96, 72));
    thumbnails_->setFixedHeight(104);
    thumbnails_->setMovement(QListView::Static);
    thumbnails_->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    thumbnails_->hide();
    connect(thumbnails_, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0 && row < library_->documents().size())
            library_->setCurrent(library_->documents()[row].id);
    });
    connect(library_, &ImageLibrary::currentChanged, this, &MainWindow::showCurrentImage);

    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(imageView_, 1);
    leftLayout->addWidget(thumbnails_);

    sideTabs_->addTab(captionPanel_, tr("Caption"));
    sideTabs_->addTab(chatPanel_, tr("Chat"));
    auto* decodingGroup = new QGroupBox(tr("Decoding"));
    auto* decodingLayout = new QVBoxLayout(decodingGroup);
    decodingLayout->addWidget(decoding_);
    auto* right = new QWidget;
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(sideTabs_, 1);
    rightLayout->addWidget(decodingGroup);

    auto* splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(left);
    splitter->addWidget(right);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    splitter->setChildrenCollapsible(false);

    tabs_->setDocumentMode(true);
    tabs_->addTab(splitter, tr("Describe"));
    tabs_->addTab(explorer_, tr("Explore attention"));
    connect(tabs_, &QTabWidget::currentChanged, this, [this] {
        if (explorerStale_)
            refreshExplorer();
    });
    connect(explorer_, &ExplorerPanel::ablationRequested, this,
            [this](int imageId, const std::vector<int>& disabled) { generateFor(imageId, GenerationKind::Ablation, {}, disabled); });

    auto* central = new QWidget;
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 0);
    layout->addWidget(messageBar_);
    layout->addWidget(tabs_, 1);
    setCentralWidget(central);

    connect(captionPanel_, &CaptionPanel::regenerateRequested, this, &MainWindow::regenerateCaption);
    connect(captionPanel_, &CaptionPanel::stopRequested, this, &MainWindow::stopGeneration);
    connect(chatPanel_, &ChatPanel::questionAsked, this, &MainWindow::askQuestion);
    connect(chatPanel_, &ChatPanel::stopRequested, this, &MainWindow::stopGeneration);
    connect(chatPanel_, &ChatPanel::clearRequested, this, [this] {
        if (ImageDocument* document = library_->current()) {
            document->chat.clear();
            const int id = document->id;
            QMetaObject::invokeMethod(worker_, [this, id] { worker_->clearChat(id); }, Qt::QueuedConnection);
            chatPanel_->showConversation({});
        }
    });
}

void MainWindow::connectWorker()
{
    connect(worker_, &ModelWorker::progress, this, [this](int, const QString& stage, double fraction) {
        status_->showProgress(stage, fraction);
    });
    connect(worker_, &ModelWorker::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(worker_, &ModelWorker::imageEncoded, this, &MainWindow::onImageEncoded);
    connect(worker_, &ModelWorker::tokenGenerated, this, &MainWindow::onToken);
    connect(worker_, &ModelWorker::generationFinished, this, &MainWindow::onGenerationFinished);
    connect(worker_, &ModelWorker::jobFailed, this, &MainWindow::onJobFailed);
}

int MainWindow::startJob()
{
    lastJob_ = nextJob_++;
    ++pendingJobs_;
    updateActions();
    return lastJob_;
}

void MainWindow::endJob(int)
{
    pendingJobs_ = qMax(0, pendingJobs_ - 1);
    if (pendingJobs_ == 0)
        status_->hideProgress();
    updateActions();
    emit jobEnded();
}

void MainWindow::generateFor(int imageId, GenerationKind kind, const QString& question, const std::vector<int>& disabled)
{
    if (!modelLoaded_) {
        messageBar_->show(MessageBar::Kind::Info, tr("Open a model first (Ctrl+M)."));
        return;
    }
    GenerationRequest request;
    request.imageId = imageId;
    request.kind = kind;
    request.question = question;
    request.disabledQueries = disabled;
    request.options = decoding_->options();
    const int job = startJob();
    generations_[job] = PendingGeneration{imageId, kind, question};
    ImageDocument* document = library_->find(imageId);
    if (kind == GenerationKind::Caption && document) {
        document->caption.clear();
        document->captionFinished = false;
        if (imageId == library_->currentId())
            captionPanel_->begin();
    } else if (kind == GenerationKind::Question && imageId == library_->currentId()) {
        chatPanel_->beginAnswer(question);
    }
    QMetaObject::invokeMethod(worker_, [this, job, request] { worker_->generate(job, request); }, Qt::QueuedConnection);
}

void MainWindow::regenerateCaption()
{
    if (ImageDocument* document = library_->current()) {
        sideTabs_->setCurrentWidget(captionPanel_);
        generateFor(document->id, GenerationKind::Caption);
    }
}

void MainWindow::askQuestion(const QString& question)
{
    if (ImageDocument* document = library_->current()) {
        sideTabs_->setCurrentWidget(chatPanel_);  // the answer streams where the question was asked
        generateFor(document->id, GenerationKind::Question, question);
    }
}

void MainWindow::stopGeneration()
{
    if (pendingJobs_ > 0)
        worker_->cancelUpTo(lastJob_);
}

void MainWindow::onImageEncoded(int, int imageId, const ImageEncodingPtr& encoding)
{
    if (ImageDocument* document = library_->find(imageId))
        document->encoding = encoding;
    status_->setEncodeTime(encoding->encodeMs());
    if (imageId == library_->currentId())
        refreshExplorer();
}

void MainWindow::onToken(int jobId, const GeneratedToken&, const QString& delta)
{
    const auto it = generations_.find(jobId);
    if (it == generations_.end())
        return;
    ImageDocument* document = library_->find(it->second.imageId);
    if (!document)
        return;
    const bool current = document->id == library_->currentId();
    if (it->second.kind == GenerationKind::Caption) {
        document->caption += delta;
        if (current)
            captionPanel_->append(delta);
    } else if (it->second.kind == GenerationKind::Question && current) {
        chatPanel_->appendAnswer(delta);
    }
}

void MainWindow::onGenerationFinished(int jobId, const GenerationResult& result)
{
    const auto it = generations_.find(jobId);
    if (it != generations_.end()) {
        const PendingGeneration pending = it->second;
        generations_.erase(it);
        if (ImageDocument* document = library_->find(pending.imageId)) {
            const bool current = document->id == library_->currentId();
            if (pending.kind == GenerationKind::Caption) {
                document->caption = QString::fromStdString(result.sequences.front().text);
                document->captionResult = result;
                document->captionFinished = true;
                if (current)
                    captionPanel_->finish(result);
                emit captionFinished(document->id);
            } else if (pending.kind == GenerationKind::Question) {
                if (current)
                    chatPanel_->finishAnswer(result);
                ChatEntry entry;
                entry.question = pending.question;
                entry.answer = QString::fromStdString(result.sequences.front().text);
                entry.result = result;
                entry.finished = true;
                document->chat.append(entry);
                emit answerFinished(document->id);
            } else if (pending.kind == GenerationKind::Ablation && current) {
                explorer_->showAblation(result);
            }
            if (current)
                refreshExplorer();
            if (pending.kind == GenerationKind::Ablation)
                emit ablationFinished(document->id);
        }
        status_->setGeneration(result);
    }
    endJob(jobId);
}

void MainWindow::onJobFailed(int jobId, const QString& message, bool cancelled)
{
    const auto it = generations_.find(jobId);
    if (it != generations_.end()) {
        const PendingGeneration pending = it->second;
        generations_.erase(it);
        if (pending.imageId == library_->currentId()) {
            if (pending.kind == GenerationKind::Question)
                chatPanel_->failAnswer(message, cancelled);
            else if (pending.kind == GenerationKind::Ablation)
                explorer_->ablationFailed(cancelled ? tr("Stopped.") : message);
            else
                captionPanel_->fail(message, cancelled);
        }
    }
    if (jobId == loadJob_) {
        modelLoaded_ = false;
        status_->setNoModel();
    }
    if (!cancelled)
        messageBar_->show(MessageBar::Kind::Error, message);
    endJob(jobId);
}

void MainWindow::showCurrentImage()
{
    ImageDocument* document = library_->current();
    imageView_->setImage(document ? document->image : QImage());
    if (!document) {
        captionPanel_->clear(modelLoaded_ ? tr("Drop an image to caption it.") : tr("Open a model, then drop an image."));
        chatPanel_->showConversation({});
        explorer_->clearImage();
    } else {
        if (document->captionFinished)
            captionPanel_->showFinished(document->caption, document->captionResult);
        else if (!document->caption.isEmpty())
            captionPanel_->showFinished(document->caption, {});
        else
            captionPanel_->clear(modelLoaded_ ? QString() : tr("Open a model to caption this image (Ctrl+M)."));
        chatPanel_->showConversation(document->chat);
        refreshExplorer();
        for (int row = 0; row < library_->documents().size(); ++row)
            if (library_->documents()[row].id == document->id)
                thumbnails_->setCurrentRow(row);
    }
    updateActions();
}

void MainWindow::refreshExplorer()
{
    // The explorer's charts take tens of milliseconds to rebuild: only while it is on screen.
    explorerStale_ = tabs_->currentWidget() != explorer_;
    if (explorerStale_)
        return;
    const ImageDocument* document = library_->current();
    if (!document || !document->encoding) {
        explorer_->clearImage();
        return;
    }
    QList<ExplainedText> texts;
    if (document->captionFinished)
        texts.append({tr("Caption"), document->captionResult});
    for (int i = 0; i < document->chat.size(); ++i)
        if (document->chat[i].finished)
            texts.append({tr("Answer %1: %2").arg(i + 1).arg(document->chat[i].question.left(40)), document->chat[i].result});
    explorer_->setImage(document->id, document->image, document->encoding, texts);
}

void MainWindow::updateActions()
{
    const bool haveImage = library_->current() != nullptr;
    regenerateAction_->setEnabled(modelLoaded_ && haveImage && pendingJobs_ == 0);
    stopAction_->setEnabled(pendingJobs_ > 0);
    captionPanel_->setCanGenerate(modelLoaded_ && haveImage);
    chatPanel_->setCanAsk(modelLoaded_ && haveImage);
    captionPanel_->setBusy(pendingJobs_ > 0);
    chatPanel_->setBusy(pendingJobs_ > 0);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    // Stop whatever runs (it checks between tokens and layers), then let the thread end.
    worker_->cancelUpTo(INT_MAX);
    workerThread_.quit();
    workerThread_.wait();
    event->accept();
}

}  // namespace querylens::ui
