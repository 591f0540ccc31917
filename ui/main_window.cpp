#include "sample_scenes.h"
#include "main_window.h"

#include "caption_panel.h"
#include "chat/chat_controller.h"
#include "chat/chat_pane.h"
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
#include <QSettings>
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
      thumbnails_(new QListWidget), captionPanel_(new CaptionPanel), chatPane_(new ChatPane),
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

    chat_ = new ChatController(library_, chatPane_, this);
    buildActions();
    buildLayout();
    buildExplainViews();
    connectWorker();
    connectChat();
    connectExplainWorker();
    showCurrentImage();
    updateActions();
}

MainWindow::~MainWindow()
{
    saveLayout();
    stopWorker();
}

void MainWindow::stopWorker()
{
    // The worker is deleted when its thread finishes (deleteLater on finished): once the thread
    // has stopped (the window was closed before it was destroyed), worker_ points at freed
    // memory and must not be touched.
    if (!workerThread_.isRunning())
        return;
    // Stop whatever runs (it checks between tokens and layers), then let the thread end.
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
    samples_ = new SampleScenes;
    samples_->fillMenu(file->addMenu(tr("Sample &Scenes")));
    connect(samples_, &SampleScenes::chosen, this, [this](const QString& path) { openImages({path}); });
    file->addSeparator();
    modelAction_ = addMenuAction(file, tr("Open &Model…"), QKeySequence(tr("Ctrl+M")), this, &MainWindow::chooseModel);
    file->addSeparator();
    addMenuAction(file, tr("Caption a &Folder…"), QKeySequence(tr("Ctrl+Shift+F")), this, &MainWindow::openBatchWindow)
        ->setObjectName(QStringLiteral("captionFolderAction"));
    file->addSeparator();
    addMenuAction(file, tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* run = menuBar()->addMenu(tr("&Generate"));
    regenerateAction_ = addMenuAction(run, tr("Regenerate &Caption"), QKeySequence(tr("Ctrl+Shift+R")), this,
                                      &MainWindow::regenerateCaption);
    regenerateAnswerAction_ = addMenuAction(run, tr("&Regenerate Answer"), QKeySequence(tr("Ctrl+R")), this,
                                            &MainWindow::regenerate);
    askAction_ = run->addAction(tr("&Ask…"), this, [this] { chatPane_->focusQuestion(); });
    askAction_->setShortcuts({QKeySequence(tr("Ctrl+Return")), QKeySequence(tr("Ctrl+Enter"))});
    stopAction_ = addMenuAction(run, tr("&Stop"), QKeySequence(Qt::Key_Escape), this, &MainWindow::stopGeneration);
    buildConversationActions(run);

    QToolBar* tools = addToolBar(tr("Main"));
    tools->setObjectName(QStringLiteral("mainToolBar"));
    tools->setMovable(false);
    tools->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    openAction_->setIcon(style()->standardIcon(QStyle::SP_DialogOpenButton));
    modelAction_->setIcon(style()->standardIcon(QStyle::SP_DirOpenIcon));
    regenerateAction_->setIcon(style()->standardIcon(QStyle::SP_BrowserReload));
    regenerateAnswerAction_->setIcon(style()->standardIcon(QStyle::SP_BrowserReload));
    stopAction_->setIcon(style()->standardIcon(QStyle::SP_MediaStop));
    tools->addAction(openAction_);
    tools->addAction(modelAction_);
    tools->addSeparator();
    tools->addAction(regenerateAnswerAction_);
    tools->addAction(stopAction_);
    rebuildRecentMenu();
}

void MainWindow::buildLayout()
{
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

    // Describe: the image (with its caption and the decoding settings under it) beside the
    // conversation, which gets the height of the window; both splitters are remembered.
    auto* imageColumn = new QWidget;
    auto* imageLayout = new QVBoxLayout(imageColumn);
    imageLayout->setContentsMargins(0, 0, 0, 0);
    imageLayout->addWidget(imageView_, 1);
    imageLayout->addWidget(thumbnails_);
    imageLayout->addWidget(samples_);
    auto* decodingPage = new QWidget;
    auto* decodingLayout = new QVBoxLayout(decodingPage);
    decodingLayout->addWidget(decoding_);
    decodingLayout->addStretch(1);
    sideTabs_->addTab(captionPanel_, tr("Caption"));
    sideTabs_->addTab(decodingPage, tr("Decoding"));
    imageSplitter_ = new QSplitter(Qt::Vertical);
    imageSplitter_->setObjectName(QStringLiteral("imageSplitter"));
    imageSplitter_->addWidget(imageColumn);
    imageSplitter_->addWidget(sideTabs_);
    imageSplitter_->setStretchFactor(0, 3);
    imageSplitter_->setStretchFactor(1, 1);
    imageSplitter_->setChildrenCollapsible(false);

    describeSplitter_ = new QSplitter(Qt::Horizontal);
    describeSplitter_->setObjectName(QStringLiteral("describeSplitter"));
    describeSplitter_->addWidget(imageSplitter_);
    describeSplitter_->addWidget(chatPane_);
    describeSplitter_->setStretchFactor(0, 1);
    describeSplitter_->setStretchFactor(1, 1);
    describeSplitter_->setChildrenCollapsible(false);
    describeSplitter_->setSizes({560, 640});
    imageSplitter_->setSizes({520, 220});
    QSettings settings;
    describeSplitter_->restoreState(settings.value(QStringLiteral("layout/describeSplitter")).toByteArray());
    imageSplitter_->restoreState(settings.value(QStringLiteral("layout/imageSplitter")).toByteArray());

    tabs_->setDocumentMode(true);
    tabs_->addTab(describeSplitter_, tr("Describe"));
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
}

void MainWindow::connectWorker()
{
    connect(worker_, &ModelWorker::progress, this, [this](int, const QString& stage, double fraction) {
        status_->showProgress(stage, fraction);
    });
    connect(worker_, &ModelWorker::modelLoaded, this, &MainWindow::onModelLoaded);
    connect(worker_, &ModelWorker::queryCatalogueLoaded, this, [this](const QueryCatalogue& catalogue, const QString& problem) {
        explorer_->setCatalogue(catalogue);
        if (!problem.isEmpty())
            messageBar_->show(MessageBar::Kind::Warning, tr("The query catalogue was left out: %1").arg(problem));
    });
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

void MainWindow::generateFor(int imageId, GenerationKind kind, const QString& question, const std::vector<int>& disabled,
                             int turnId, const std::vector<ChatTurn>& history, const std::optional<DecodingOptions>& options)
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
    request.history = history;
    request.options = options.value_or(decoding_->options());
    const int job = startJob();
    generations_[job] = PendingGeneration{imageId, kind, question, turnId};
    ImageDocument* document = library_->find(imageId);
    if (kind == GenerationKind::Caption && document) {
        document->caption.clear();
        document->captionFinished = false;
        if (imageId == library_->currentId())
            captionPanel_->begin();
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

void MainWindow::askQuestion(const QString& question) { chat_->ask(question); }

void MainWindow::regenerate()
{
    if (!chat_->regenerateLast())
        regenerateCaption();
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
    } else if (it->second.kind == GenerationKind::Question) {
        chat_->answerToken(document->id, it->second.turnId, delta);
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
                chat_->answerFinished(document->id, pending.turnId, result);
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
    explainJobFailed(jobId, message, cancelled);
    const auto it = generations_.find(jobId);
    if (it != generations_.end()) {
        const PendingGeneration pending = it->second;
        generations_.erase(it);
        if (pending.kind == GenerationKind::Question)
            chat_->answerFailed(pending.imageId, pending.turnId, message, cancelled);
        else if (pending.imageId == library_->currentId()) {
            if (pending.kind == GenerationKind::Ablation)
                explorer_->ablationFailed(cancelled ? tr("Stopped.") : message);
            else
                captionPanel_->fail(message, cancelled);
        }
    }
    if (jobId == loadJob_) {
        modelLoaded_ = false;
        status_->setNoModel();
        chat_->setModel(nullptr);
    }
    if (!cancelled)
        messageBar_->show(MessageBar::Kind::Error, message);
    endJob(jobId);
}

void MainWindow::showCurrentImage()
{
    ImageDocument* document = library_->current();
    imageView_->setImage(document ? document->image : QImage());
    imageView_->setPlaceholder(document && document->image.isNull()
                                   ? tr("This conversation's image is missing:\n%1").arg(document->path)
                                   : tr("Drop an image here\nor open one with Ctrl+O, or paste with Ctrl+V"));
    samples_->setVisible(!document && !samples_->isEmpty());
    if (!document) {
        captionPanel_->clear(modelLoaded_ ? tr("Drop an image to caption it.") : tr("Open a model, then drop an image."));
        explorer_->clearImage();
    } else {
        if (document->captionFinished)
            captionPanel_->showFinished(document->caption, document->captionResult);
        else if (!document->caption.isEmpty())
            captionPanel_->showFinished(document->caption, {});
        else
            captionPanel_->clear(modelLoaded_ ? QString() : tr("Open a model to caption this image (Ctrl+M)."));
        refreshExplorer();
        refreshExplainViews();
        for (int row = 0; row < library_->documents().size(); ++row)
            if (library_->documents()[row].id == document->id)
                thumbnails_->setCurrentRow(row);
    }
    chat_->showCurrent();
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
    if (document->conversation) {
        int number = 0;
        for (int id : document->conversation->activePath()) {
            const Turn& t = *document->conversation->find(id);
            ++number;
            if (!t.result.sequences.empty())
                texts.append({tr("Answer %1: %2").arg(number).arg(QString::fromStdString(t.question).left(40)), t.result});
        }
    }
    explorer_->setImage(document->id, document->image, document->encoding, texts);
}

void MainWindow::updateActions()
{
    const ImageDocument* current = library_->current();
    const bool haveImage = current && !current->image.isNull();
    regenerateAction_->setEnabled(modelLoaded_ && haveImage && pendingJobs_ == 0);
    stopAction_->setEnabled(pendingJobs_ > 0);
    regenerateAnswerAction_->setEnabled(modelLoaded_ && haveImage && pendingJobs_ == 0);
    captionPanel_->setCanGenerate(modelLoaded_ && haveImage);
    captionPanel_->setBusy(pendingJobs_ > 0);
    chat_->setBusy(pendingJobs_ > 0);
    updateExplainActions();
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    stopWorker();
    chat_->flushSaves();
    saveLayout();
    event->accept();
}

}  // namespace querylens::ui
