// The worker's explanation, matching and search jobs (the rest of ModelWorker is in
// model_worker.cpp): each runs on the worker thread, reports progress, stops when cancelled.

#include "worker/model_worker.h"

#include "image_folder.h"
#include "querylens/error.h"
#include "querylens/word_explanations.h"

namespace querylens::ui {

namespace {

template <typename Work>
void runJob(ModelWorker& worker, int jobId, const Work& work)
{
    try {
        work();
    } catch (const Cancelled&) {
        emit worker.jobFailed(jobId, ModelWorker::tr("Stopped."), true);
    } catch (const std::exception& e) {
        emit worker.jobFailed(jobId, QString::fromStdString(e.what()), false);
    }
}

}  // namespace

ProgressCallback ModelWorker::progressFor(int jobId)
{
    return [this, jobId](double fraction, const std::string& stage) {
        emit progress(jobId, QString::fromStdString(stage), fraction);
        return !cancelled(jobId);
    };
}

void ModelWorker::encodeImage(int jobId, int imageId)
{
    runJob(*this, jobId, [&] {
        if (cancelled(jobId))
            throw Cancelled();
        encodedSlot(jobId, imageId);
        emit jobDone(jobId);
    });
}

void ModelWorker::explainWords(int jobId, const WordGradientRequest& request)
{
    runJob(*this, jobId, [&] {
        if (cancelled(jobId))
            throw Cancelled();
        ImageSlot& slot = encodedSlot(jobId, request.imageId);
        WordExplanations words = querylens::explainWords(*model_, *slot.encoding, request.result, request.words, progressFor(jobId));
        emit wordsExplained(jobId, request.imageId, words);
    });
}

void ModelWorker::checkFaithfulness(int jobId, const FaithfulnessRequest& request)
{
    runJob(*this, jobId, [&] {
        if (cancelled(jobId))
            throw Cancelled();
        ImageSlot& slot = encodedSlot(jobId, request.imageId);
        const FaithfulnessReport report =
            request.phrase ? phraseFaithfulness(*model_, *slot.encoding, request.text.toStdString(), request.map,
                                                request.options, progressFor(jobId))
                           : wordFaithfulness(*model_, *slot.encoding, request.result, request.tokens, request.map,
                                              request.options, progressFor(jobId));
        emit faithfulnessChecked(jobId, request.imageId, report);
    });
}

void ModelWorker::localize(int jobId, int imageId, const QString& text)
{
    runJob(*this, jobId, [&] {
        if (cancelled(jobId))
            throw Cancelled();
        ImageSlot& slot = encodedSlot(jobId, imageId);
        const PhraseLocalization result = localizeText(*model_, *slot.encoding, text.toStdString(), progressFor(jobId));
        emit localized(jobId, imageId, result);
    });
}

void ModelWorker::searchFolder(int jobId, const SearchRequest& request)
{
    runJob(*this, jobId, [&] {
        if (cancelled(jobId))
            throw Cancelled();
        if (!model_)
            throw Error("no model is loaded: open an image-text matching checkpoint first");
        std::vector<std::string> paths;
        for (const QString& file : imageFilesIn(request.folder, request.recursive))
            paths.push_back(file.toStdString());
        // One index per folder for this model: a second search of it indexes only what changed.
        ImageIndex& index = indexes_[request.folder.toStdString() + (request.recursive ? "/**" : "")];
        const EmbeddingCache cache(EmbeddingCache::defaultFolder(), modelFingerprint(*model_));
        SearchOutcome outcome;
        outcome.index = index.update(*model_, paths, imageFileDecoder(), cache, progressFor(jobId));
        outcome.result = searchImages(*model_, index, request.text.toStdString(), request.options, imageFileDecoder(),
                                      progressFor(jobId));
        emit searchFinished(jobId, outcome);
    });
}

}  // namespace querylens::ui
