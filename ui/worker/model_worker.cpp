#include "worker/model_worker.h"

#include "querylens/demo_model.h"
#include "querylens/error.h"
#include "querylens/hub_cache.h"
#include "querylens/session.h"

namespace querylens::ui {

ModelWorker::ModelWorker(QObject* parent) : QObject(parent) {}

ModelWorker::~ModelWorker() = default;

void ModelWorker::cancelUpTo(int jobId)
{
    int current = cancelledUpTo_.load();
    while (current < jobId && !cancelledUpTo_.compare_exchange_weak(current, jobId)) {
    }
}

void ModelWorker::loadModel(int jobId, const LoadOptions& options)
{
    if (cancelled(jobId)) {
        emit jobFailed(jobId, tr("Loading was cancelled."), true);
        return;
    }
    try {
        // A repository id (--model Salesforce/blip2-opt-2.7b) names its cached snapshot; checked
        // before the old model is freed, so that a typo keeps it.
        LoadOptions resolved = options;
        resolved.folder = hub::resolveModelFolder(options.folder);
        // Free the old model before loading the next: two real models rarely fit together.
        for (auto& [id, slot] : images_) {
            slot.encoding.reset();
            slot.session.reset();
            slot.ablation.reset();
        }
        model_.reset();
        indexes_.clear();
        model_ = Model::load(resolved, [&](double fraction, const std::string& stage) {
            emit progress(jobId, QString::fromStdString(stage), fraction);
            return !cancelled(jobId);
        });
        // The query catalogue beside the checkpoint; a broken one is reported but does not stop the model.
        QueryCatalogue catalogue;
        QString problem;
        try {
            catalogue = readQueryCatalogue(options.folder);
        } catch (const Error& e) {
            problem = QString::fromStdString(e.what());
        }
        emit queryCatalogueLoaded(catalogue, problem);
        emit modelLoaded(jobId, model_->info());
    } catch (const Cancelled&) {
        emit jobFailed(jobId, tr("Loading was cancelled."), true);
    } catch (const std::exception& e) {
        emit jobFailed(jobId, QString::fromStdString(e.what()), false);
    }
}

ModelWorker::ImageSlot& ModelWorker::encodedSlot(int jobId, int imageId)
{
    const auto it = images_.find(imageId);
    if (it == images_.end())
        throw Error("the image was closed");
    ImageSlot& slot = it->second;
    if (!model_)
        throw Error("no model is loaded: open a checkpoint folder first");
    if (!slot.encoding) {
        slot.encoding = model_->encode(slot.pixels, [&](double fraction, const std::string& stage) {
            emit progress(jobId, QString::fromStdString(stage), fraction);
            return !cancelled(jobId);
        });
        if (model_->info().canGenerate) {  // a matching model has no language model to talk to
            slot.session = model_->newSession(slot.encoding);
            slot.ablation = model_->newSession(slot.encoding);
        }
        emit imageEncoded(jobId, imageId, slot.encoding);
    }
    return slot;
}

void ModelWorker::addImage(int imageId, const RgbImage& image)
{
    images_[imageId] = ImageSlot{image, nullptr, nullptr, nullptr};
}

void ModelWorker::createDemoModel(int jobId, const std::string& folder)
{
    try {
        emit progress(jobId, tr("writing the demo model"), 0.0);
        installDemoModel(folder);
    } catch (const std::exception& e) {
        emit jobFailed(jobId, QString::fromStdString(e.what()), false);
        return;
    }
    loadModel(jobId, LoadOptions{folder, Precision::Float32, "cpu", 0});
}

void ModelWorker::removeImage(int imageId) { images_.erase(imageId); }

void ModelWorker::generate(int jobId, const GenerationRequest& request)
{
    try {
        if (cancelled(jobId))
            throw Cancelled();
        ImageSlot& slot = encodedSlot(jobId, request.imageId);
        if (!slot.session)
            throw Error(capabilitySummary(model_->info()));
        auto onToken = [&](const GeneratedToken& token, const std::string& delta) {
            emit tokenGenerated(jobId, token, QString::fromStdString(delta));
            return !cancelled(jobId);
        };
        auto cancel = [&] { return cancelled(jobId); };
        GenerationResult result;
        switch (request.kind) {
        case GenerationKind::Caption:
            result = slot.session->caption(request.options, onToken, cancel);
            break;
        case GenerationKind::Question:
            // The window keeps the conversation (a tree of branches); the session's caches make
            // the branch's shared start cost nothing.
            result = slot.session->answer(request.history, request.question.toStdString(), request.options, onToken, cancel);
            break;
        case GenerationKind::Ablation:
            slot.ablation->setDisabledQueries(request.disabledQueries);
            result = slot.ablation->caption(request.options, onToken, cancel);
            break;
        }
        emit generationFinished(jobId, result);
    } catch (const Cancelled&) {
        emit jobFailed(jobId, tr("Stopped."), true);
    } catch (const std::exception& e) {
        emit jobFailed(jobId, QString::fromStdString(e.what()), false);
    }
}

}  // namespace querylens::ui
