// The main window's part in "Caption a folder...": it makes the batch window, gives its requests
// the decoding options of the decoding panel, and relays between it and the model worker.

#include "main_window.h"

#include "batch/batch_window.h"
#include "decoding_panel.h"
#include "worker/model_worker.h"

namespace querylens::ui {

void MainWindow::openBatchWindow()
{
    if (!batchWindow_) {
        batchWindow_ = new BatchWindow(this);
        connect(batchWindow_, &BatchWindow::startRequested, this, [this](BatchRequest request) {
            request.options = decoding_->options();
            const int job = startJob();
            batchJob_ = job;
            QMetaObject::invokeMethod(worker_, [this, job, request] { worker_->runBatch(job, request); }, Qt::QueuedConnection);
        });
        // Thread-safe flags the running batch checks; the worker's queue is busy with it.
        connect(batchWindow_, &BatchWindow::pauseRequested, this, [this] { worker_->pauseBatch(); });
        connect(batchWindow_, &BatchWindow::stopRequested, this, [this] { worker_->stopBatch(); });
        connect(worker_, &ModelWorker::batchStarted, this, [this](int job, int inputs, int done) {
            if (job == batchJob_)
                batchWindow_->onStarted(inputs, done);
        });
        connect(worker_, &ModelWorker::batchRowDone, this, [this](int job, const BatchRow& row) {
            if (job == batchJob_)
                batchWindow_->onRow(row);
        });
        connect(worker_, &ModelWorker::batchProgress, this, [this](int job, const BatchProgress& progress) {
            if (job == batchJob_)
                batchWindow_->onProgress(progress);
        });
        connect(worker_, &ModelWorker::batchEnded, this, [this](int job, BatchEnd end) {
            if (job != batchJob_)
                return;
            batchJob_ = 0;
            batchWindow_->onEnded(end);
            endJob(job);
        });
        // (onJobFailed ends the job and shows the message; the batch window shows it too.)
        connect(worker_, &ModelWorker::jobFailed, this, [this](int job, const QString& message, bool) {
            if (job != batchJob_)
                return;
            batchJob_ = 0;
            batchWindow_->onFailed(message);
        });
        connect(this, &MainWindow::modelReady, batchWindow_, [this] { batchWindow_->setModelAvailable(true); });
    }
    batchWindow_->setModelAvailable(modelLoaded_);
    batchWindow_->show();
    batchWindow_->raise();
    batchWindow_->activateWindow();
}

}  // namespace querylens::ui
