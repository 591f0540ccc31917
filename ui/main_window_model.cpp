// The main window's model: loading one on the worker, what the window shows once it is loaded,
// the model dialog, and the demo model offered when no checkpoint is found.

#include "main_window.h"

#include "chat/chat_controller.h"
#include "message_bar.h"
#include "model_dialog.h"
#include "querylens/checkpoints.h"
#include "download/download_manager.h"
#include "querylens/demo_model.h"
#include "querylens/hub_cache.h"
#include "status_panel.h"
#include "worker/model_worker.h"

#include <QSettings>
#include <QTimer>

namespace querylens::ui {

void MainWindow::loadModel(const LoadOptions& options)
{
    messageBar_->hide();
    const int job = startJob();
    loadJob_ = job;
    status_->showProgress(tr("loading"), 0);
    QMetaObject::invokeMethod(worker_, [this, job, options] { worker_->loadModel(job, options); }, Qt::QueuedConnection);
}

void MainWindow::onModelLoaded(int jobId, const ModelInfo& info)
{
    modelLoaded_ = true;
    modelInfo_ = info;
    status_->setModel(info);
    QSettings().setValue(QStringLiteral("model/lastFolder"), QString::fromStdString(info.folder));
    QStringList notes;
    if (info.isDemo)
        notes << tr("This is the demo model: its weights are random, so its captions and answers are meaningless. "
                    "It shows how QueryLens works; open a real BLIP-2 checkpoint with Ctrl+M.");
    else if (info.isTrainedDemo)
        notes << tr("This is the demo model trained on synthetic shapes, not a real BLIP-2: it knows six colours and "
                    "four shapes. Try a sample scene (File → Sample Scenes) or open a real checkpoint with Ctrl+M.");
    for (const auto& warning : info.warnings)
        notes << QString::fromStdString(warning);
    // Downloads left unfinished by an earlier run (of the window or of `querylens download`).
    for (const auto& download : hub::findIncompleteDownloads(hubCacheFolder(), hub::defaultStateFolder()))
        if (!download.commit.empty() && !downloads_->busy())
            notes << tr("The download of %1 is unfinished (%2): resume it in File → Open Model → Download.")
                         .arg(QString::fromStdString(download.repo), QString::fromStdString(download.describe()));
    if (!notes.isEmpty())
        messageBar_->show(info.isDemo || info.isTrainedDemo ? MessageBar::Kind::Info : MessageBar::Kind::Warning, notes.join(QLatin1Char(' ')));
    endJob(jobId);
    library_->resetResults();  // captions of the previous model do not carry over; conversations go on
    chat_->setModel(&info);
    showCurrentImage();
    applyModelCapabilities();
    if (ImageDocument* document = library_->current())
        startImageWork(document->id);
    emit modelReady();
}

void MainWindow::chooseModel()
{
    ModelDialog dialog(this, QString::fromStdString(modelInfo_.folder), downloads_);
    if (dialog.exec() != QDialog::Accepted)
        return;
    if (dialog.wantsDemo()) {
        createDemoModel(QString::fromStdString(defaultDemoModelFolder()));  // where `querylens make-demo-model` writes it
        return;
    }
    const LoadOptions options = dialog.options();
    if (!options.folder.empty())
        loadModel(options);
}

void MainWindow::offerModel()
{
    messageBar_->show(MessageBar::Kind::Info,
                      tr("No BLIP-2 checkpoint was found in the Hugging Face cache (%1). Open a checkpoint folder with "
                         "File → Open Model (Ctrl+M), or install the demo model there: a small BLIP-2 trained on "
                         "synthetic shapes, not a real BLIP-2, with which every part of the program works.")
                          .arg(QString::fromStdString(hubCacheFolder())));
    QTimer::singleShot(0, this, &MainWindow::chooseModel);
}

void MainWindow::createDemoModel(const QString& folder)
{
    const int job = startJob();
    loadJob_ = job;
    status_->showProgress(tr("writing the demo model"), 0);
    const std::string path = folder.toStdString();
    QMetaObject::invokeMethod(worker_, [this, job, path] { worker_->createDemoModel(job, path); }, Qt::QueuedConnection);
}

}  // namespace querylens::ui
