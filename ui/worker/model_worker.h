#pragma once
// The one object that owns the loaded model. It lives in its own QThread; the window talks to
// it only through queued signals and slots, one job at a time, so the GUI thread never waits
// on torch. Every job can be cancelled: cancel() is the one method meant to be called from
// another thread, and it only sets a flag the running job checks between layers and tokens.

#include "batch/batch_types.h"
#include "worker/explain_types.h"
#include "worker/worker_types.h"

#include <QObject>

#include <atomic>
#include <map>
#include <memory>

namespace querylens {
class Session;
}

namespace querylens::ui {

class ModelWorker : public QObject {
    Q_OBJECT
public:
    explicit ModelWorker(QObject* parent = nullptr);
    ~ModelWorker() override;

    // Thread-safe: asks every job with an id up to `jobId` to stop (the running one at its next
    // check; queued ones at once when they start).
    void cancelUpTo(int jobId);
    // Thread-safe: whether job `jobId` was asked to stop (closing the window asks every job).
    bool cancelled(int jobId) const { return jobId <= cancelledUpTo_.load(); }
    // Thread-safe, for the batch job ("Caption a folder..."), which the window's Stop leaves
    // alone: pause stops it once the images in flight are written; stop, at once.
    void pauseBatch() { batchControl_ = BatchControl::Pause; }
    void stopBatch() { batchControl_ = BatchControl::Stop; }

public slots:
    void loadModel(int jobId, const querylens::LoadOptions& options);
    // Keeps the pixels; the image is encoded by its first generation.
    void addImage(int imageId, const querylens::RgbImage& image);
    void removeImage(int imageId);
    void generate(int jobId, const querylens::ui::GenerationRequest& request);
    // Writes the random-weight demo model to `folder` and loads it.
    void createDemoModel(int jobId, const std::string& folder);
    // Captions (or asks about) every image of a folder into a results file, resuming it
    // (model_worker_batch.cpp).
    void runBatch(int jobId, const querylens::ui::BatchRequest& request);
    // Explanations, matching and search (model_worker_explain.cpp).
    void encodeImage(int jobId, int imageId);
    void explainWords(int jobId, const querylens::ui::WordGradientRequest& request);
    void checkFaithfulness(int jobId, const querylens::ui::FaithfulnessRequest& request);
    void localize(int jobId, int imageId, const QString& text);
    void searchFolder(int jobId, const querylens::ui::SearchRequest& request);

signals:
    void progress(int jobId, const QString& stage, double fraction);
    void modelLoaded(int jobId, const querylens::ModelInfo& info);
    // Emitted just before modelLoaded: the model's query_catalogue.json (empty when it has none).
    void queryCatalogueLoaded(const querylens::QueryCatalogue& catalogue, const QString& problem);
    void imageEncoded(int jobId, int imageId, const querylens::ui::ImageEncodingPtr& encoding);
    void tokenGenerated(int jobId, const querylens::GeneratedToken& token, const QString& textDelta);
    void generationFinished(int jobId, const querylens::GenerationResult& result);
    // Something went wrong or was cancelled; `message` names the file and the problem.
    void jobFailed(int jobId, const QString& message, bool cancelled);
    // A batch: its inputs (those of the folder, and of them the ones already in the results
    // file), each image as it is done, the progress after each batch, and how it ended.
    void batchStarted(int jobId, int inputs, int alreadyDone);
    void batchRowDone(int jobId, const querylens::ui::BatchRow& row);
    void batchProgress(int jobId, const querylens::BatchProgress& progress);
    void batchEnded(int jobId, querylens::ui::BatchEnd end);
    void jobDone(int jobId);  // a job with no result of its own (encodeImage)
    void wordsExplained(int jobId, int imageId, const querylens::ui::WordExplanations& words);
    void faithfulnessChecked(int jobId, int imageId, const querylens::FaithfulnessReport& report);
    void localized(int jobId, int imageId, const querylens::PhraseLocalization& result);
    void searchFinished(int jobId, const querylens::ui::SearchOutcome& outcome);

private:
    struct ImageSlot {
        RgbImage pixels;                      // kept until encoded (and for re-encoding after a model change)
        ImageEncodingPtr encoding;
        std::unique_ptr<Session> session;     // captions and chat
        std::unique_ptr<Session> ablation;    // regenerations with queries switched off
    };
    ImageSlot& encodedSlot(int jobId, int imageId);
    ProgressCallback progressFor(int jobId);

    std::shared_ptr<const Model> model_;
    std::map<int, ImageSlot> images_;
    std::map<std::string, ImageIndex> indexes_;  // search indexes of this model, by folder
    std::atomic<int> cancelledUpTo_{0};
    enum class BatchControl { Run, Pause, Stop };
    std::atomic<BatchControl> batchControl_{BatchControl::Run};
};

}  // namespace querylens::ui
