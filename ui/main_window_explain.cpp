// The main window's explanation, localisation and search views: where they sit, the jobs they
// send the model worker, the results and failures that come back, and what each kind of model
// can do (a captioning model explains its words; a matching model localises and searches).

#include "main_window.h"

#include "caption_panel.h"
#include "decoding_panel.h"
#include "explain/localize_panel.h"
#include "explain/word_gradients_view.h"
#include "explorer/explorer_panel.h"
#include "message_bar.h"
#include "search/search_panel.h"
#include "worker/model_worker.h"

#include <QTabWidget>

namespace querylens::ui {

namespace {

enum ExplainJob { EncodeJob, WordsJob, WordFaithfulnessJob, LocalizeJob, PhraseFaithfulnessJob, SearchJob };

}  // namespace

template <typename Call>
int MainWindow::sendExplainJob(int kind, const Call& call)
{
    const int job = startJob();
    explainJobs_[job] = kind;
    QMetaObject::invokeMethod(worker_, [this, job, call] { call(*worker_, job); }, Qt::QueuedConnection);
    return job;
}

void MainWindow::buildExplainViews()
{
    localize_ = new LocalizePanel;
    search_ = new SearchPanel;
    wordGradients_ = new WordGradientsView;
    sideTabs_->addTab(localize_, tr("Localize"));
    tabs_->addTab(search_, tr("Search"));
    explorer_->chartTabs()->addTab(wordGradients_, tr("Gradient maps"));

    connect(explorer_, &ExplorerPanel::wordSelected, this,
            [this](int imageId, const GenerationResult& result, const std::vector<int>& tokens, const QString& word) {
                if (const ImageDocument* document = library_->find(imageId))
                    wordGradients_->setWord(imageId, document->image, result, tokens, word);
            });
    connect(wordGradients_, &WordGradientsView::explainRequested, this,
            [this](int imageId, const GenerationResult& result, const std::vector<int>& tokens) {
                const WordGradientRequest request{imageId, result, {tokens}};
                sendExplainJob(WordsJob, [request](ModelWorker& w, int job) { w.explainWords(job, request); });
            });
    connect(wordGradients_, &WordGradientsView::faithfulnessRequested, this,
            [this](int imageId, const GenerationResult& result, const std::vector<int>& tokens, const std::vector<float>& map) {
                FaithfulnessRequest request;
                request.imageId = imageId;
                request.result = result;
                request.tokens = tokens;
                request.map = map;
                sendExplainJob(WordFaithfulnessJob, [request](ModelWorker& w, int job) { w.checkFaithfulness(job, request); });
            });
    connect(localize_, &LocalizePanel::localizeRequested, this, [this](int imageId, const QString& text) {
        sendExplainJob(LocalizeJob, [imageId, text](ModelWorker& w, int job) { w.localize(job, imageId, text); });
    });
    connect(localize_, &LocalizePanel::faithfulnessRequested, this,
            [this](int imageId, const QString& text, const std::vector<float>& map) {
                FaithfulnessRequest request;
                request.imageId = imageId;
                request.phrase = true;
                request.text = text;
                request.map = map;
                sendExplainJob(PhraseFaithfulnessJob, [request](ModelWorker& w, int job) { w.checkFaithfulness(job, request); });
            });
    connect(search_, &SearchPanel::searchRequested, this, [this](const SearchRequest& request) {
        sendExplainJob(SearchJob, [request](ModelWorker& w, int job) { w.searchFolder(job, request); });
    });
    connect(search_, &SearchPanel::stopRequested, this, &MainWindow::stopGeneration);
    connect(search_, &SearchPanel::openRequested, this, [this](const QString& path) {
        tabs_->setCurrentIndex(0);
        sideTabs_->setCurrentWidget(localize_);
        openImages({path});
    });
}

void MainWindow::connectExplainWorker()
{
    connect(worker_, &ModelWorker::jobDone, this, [this](int jobId) {
        explainJobs_.erase(jobId);
        endJob(jobId);
    });
    connect(worker_, &ModelWorker::wordsExplained, this, [this](int jobId, int imageId, const WordExplanations& words) {
        explainJobs_.erase(jobId);
        if (!words.empty())
            wordGradients_->showExplanation(imageId, words.front());
        endJob(jobId);
        emit wordsExplained();
    });
    connect(worker_, &ModelWorker::faithfulnessChecked, this, [this](int jobId, int imageId, const FaithfulnessReport& report) {
        const auto it = explainJobs_.find(jobId);
        const bool phrase = it != explainJobs_.end() && it->second == PhraseFaithfulnessJob;
        if (it != explainJobs_.end())
            explainJobs_.erase(it);
        if (phrase)
            localize_->showFaithfulness(imageId, report);
        else
            wordGradients_->showFaithfulness(imageId, report);
        endJob(jobId);
        emit faithfulnessShown();
    });
    connect(worker_, &ModelWorker::localized, this, [this](int jobId, int imageId, const PhraseLocalization& result) {
        explainJobs_.erase(jobId);
        localize_->showResult(imageId, result);
        endJob(jobId);
        emit textLocalized();
    });
    connect(worker_, &ModelWorker::searchFinished, this, [this](int jobId, const SearchOutcome& outcome) {
        explainJobs_.erase(jobId);
        search_->showOutcome(outcome);
        endJob(jobId);
        emit searchShown();
    });
}

bool MainWindow::explainJobFailed(int jobId, const QString& message, bool cancelled)
{
    const auto it = explainJobs_.find(jobId);
    if (it == explainJobs_.end())
        return false;
    const int kind = it->second;
    explainJobs_.erase(it);
    switch (kind) {
    case WordsJob:
    case WordFaithfulnessJob: wordGradients_->fail(message, cancelled); break;
    case LocalizeJob:
    case PhraseFaithfulnessJob: localize_->fail(message, cancelled); break;
    case SearchJob: search_->fail(message, cancelled); break;
    default: break;
    }
    return true;
}

void MainWindow::startImageWork(int imageId)
{
    if (!modelLoaded_)
        return;
    if (modelInfo_.canGenerate)
        generateFor(imageId, GenerationKind::Caption);
    else  // nothing to caption: encode it, for the explorer's maps and for localisation
        sendExplainJob(EncodeJob, [imageId](ModelWorker& w, int job) { w.encodeImage(job, imageId); });
}

void MainWindow::applyModelCapabilities()
{
    const QString summary = QString::fromStdString(capabilitySummary(modelInfo_));
    localize_->setCanLocalize(modelInfo_.canMatch, summary);
    search_->setCanSearch(modelInfo_.canMatch, summary);
    wordGradients_->setCanExplain(modelInfo_.canGenerate, summary);
    // Decoding settings mean nothing to a model that does not generate. The tab is hidden, not
    // its page: a page shown by hand is drawn over the current one (the Caption tab showed the
    // decoding form on top of the caption).
    if (const int decodingTab = sideTabs_->indexOf(decoding_->parentWidget()); decodingTab >= 0)
        sideTabs_->setTabVisible(decodingTab, modelInfo_.canGenerate);
    if (!modelInfo_.canGenerate) {
        // Say it where the user looks, and show what the model is for.
        messageBar_->show(MessageBar::Kind::Info, summary);
        captionPanel_->clear(summary);  // the chat says it too (ChatController::updateCanAsk)
        sideTabs_->setCurrentWidget(localize_);
    }
    refreshExplainViews();
}

void MainWindow::refreshExplainViews()
{
    if (!localize_)
        return;
    const ImageDocument* document = library_->current();
    if (document)
        localize_->setImage(document->id, document->image);
    else
        localize_->clearImage();
    // A word of another image (or of a caption that was regenerated) no longer applies.
    if (wordGradients_->imageId() != 0 && (!document || document->id != wordGradients_->imageId()))
        wordGradients_->clear(tr("Click a word of the caption (above) to see which image regions it depends on."));
    if (!modelInfo_.canGenerate && modelLoaded_)
        captionPanel_->clear(QString::fromStdString(capabilitySummary(modelInfo_)));
}

void MainWindow::updateExplainActions()
{
    if (!localize_)
        return;
    const bool busy = pendingJobs_ > 0;
    localize_->setBusy(busy);
    search_->setBusy(busy);
    wordGradients_->setBusy(busy);
    if (modelLoaded_ && !modelInfo_.canGenerate) {
        regenerateAction_->setEnabled(false);
        captionPanel_->setCanGenerate(false);
    }
}

}  // namespace querylens::ui
