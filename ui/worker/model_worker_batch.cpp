// The model worker's batch job: "Caption a folder..." through core's batch runner, the same one
// `querylens batch` uses, with the window's table fed one image at a time.

#include "image_file.h"
#include "querylens/error.h"
#include "worker/model_worker.h"

#include <QDir>
#include <climits>

namespace querylens::ui {

namespace {

constexpr int kThumbnailWidth = 96, kThumbnailHeight = 72;

QImage thumbnailOf(const RgbImage& image)
{
    const QImage view(image.pixels.data(), image.width, image.height, image.width * 3, QImage::Format_RGB888);
    return view.scaled(kThumbnailWidth, kThumbnailHeight, Qt::KeepAspectRatio, Qt::SmoothTransformation);
}

}  // namespace

void ModelWorker::runBatch(int jobId, const BatchRequest& request)
{
    batchControl_ = BatchControl::Run;
    try {
        if (!model_)
            throw Error("no model is loaded: open a checkpoint folder first");
        if (!QDir(request.folder).exists())
            throw Error("no such folder", request.folder.toStdString());
        BatchSettings settings;
        settings.task = request.question.trimmed().isEmpty() ? BatchTask::Caption : BatchTask::Ask;
        settings.question = request.question.trimmed().toStdString();
        settings.decoding = request.options;
        settings.batchSize = std::max(1, request.batchSize);

        const InputListing listing = listInputs({request.folder.toStdString()}, readableImageExtensions());
        QDir().mkpath(QFileInfo(request.output).absolutePath());
        ResultsLog log(request.output.toStdString());
        const BatchPlan plan = planBatch(listing.items, log.existing(), std::nullopt, false);
        checkResumable(log.existing(), log.path(), *model_, settings);
        emit batchStarted(jobId, int(listing.items.size()), int(plan.alreadyDone));

        BatchCallbacks callbacks;
        callbacks.load = loadDatasetImage;
        // Stop ends the batch; so does closing the window (cancelUpTo(INT_MAX)). The window's
        // Stop for a caption (cancelUpTo its job) does not.
        callbacks.cancel = [this] {
            return batchControl_ == BatchControl::Stop || cancelledUpTo_.load() == INT_MAX;
        };
        callbacks.pause = [this] { return batchControl_ == BatchControl::Pause; };
        callbacks.onProgress = [&](const BatchProgress& progress) { emit batchProgress(jobId, progress); };
        callbacks.onRecord = [&](const BatchRecord& record) {
            BatchRow row;
            row.key = QString::fromStdString(record.item.key);
            row.file = record.item.inShard() ? QString() : QString::fromStdString(record.item.path);
            row.text = QString::fromStdString(record.text);
            row.error = QString::fromStdString(record.error);
            row.milliseconds = record.milliseconds;
            if (record.image)
                row.thumbnail = thumbnailOf(*record.image);
            emit batchRowDone(jobId, row);
        };
        const BatchSummary summary = querylens::runBatch(*model_, plan.todo, settings, log, callbacks);
        emit batchEnded(jobId, summary.outcome == BatchOutcome::Finished ? BatchEnd::Finished
                               : summary.outcome == BatchOutcome::Paused ? BatchEnd::Paused
                                                                         : BatchEnd::Cancelled);
    } catch (const Cancelled&) {
        emit batchEnded(jobId, BatchEnd::Cancelled);
    } catch (const std::exception& e) {
        emit jobFailed(jobId, QString::fromStdString(e.what()), false);
    }
}

}  // namespace querylens::ui
