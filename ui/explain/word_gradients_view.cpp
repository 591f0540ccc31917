#include "explain/word_gradients_view.h"

#include "explain/faithfulness_chart.h"
#include "explorer/bar_chart.h"
#include "explorer/map_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QVBoxLayout>

#include <algorithm>

namespace querylens::ui {

namespace {

QString methodTitle(MapMethod method)
{
    switch (method) {
    case MapMethod::Attention: return WordGradientsView::tr("Attention");
    case MapMethod::GradCam: return WordGradientsView::tr("GradCAM");
    case MapMethod::Relevancy: return WordGradientsView::tr("Relevancy");
    case MapMethod::InputTimesGradient: return WordGradientsView::tr("Input × gradient");
    }
    return {};
}

QString methodHelp(MapMethod method)
{
    switch (method) {
    case MapMethod::Attention:
        return WordGradientsView::tr("The language model's attention from the word's positions to the queries (mean over "
                                     "layers and heads) weighting the queries' cross-attention maps: what the model read, "
                                     "not what it used.");
    case MapMethod::GradCam:
        return WordGradientsView::tr("Per cross-attention layer, mean over heads of relu(d logit / d attention × attention), "
                                     "the mean over layers, summed over the queries.");
    case MapMethod::Relevancy:
        return WordGradientsView::tr("Chefer et al.'s relevancy, propagated through the Q-Former (queries → image) and the "
                                     "language model (word → query positions) with gradient-weighted attention.");
    case MapMethod::InputTimesGradient:
        return WordGradientsView::tr("Soft prompt × its gradient, summed per query (the positive part weights the queries' "
                                     "cross-attention maps): how much the word depends on each query.");
    }
    return {};
}

}  // namespace

WordGradientsView::WordGradientsView(QWidget* parent)
    : QWidget(parent), method_(new QComboBox), status_(new QLabel), map_(new MapView), queries_(new BarChart(tr("weight"))),
      faithfulness_(new QPushButton(tr("Check faithfulness"))), chart_(new FaithfulnessChart)
{
    for (MapMethod m : allMapMethods())
        method_->addItem(methodTitle(m), int(m));
    method_->setCurrentIndex(int(MapMethod::Relevancy));
    status_->setWordWrap(true);
    faithfulness_->setToolTip(tr("Remove the map's patches from the image a group at a time (and reveal them into a "
                                 "blurred image), tracking the word's log-probability, against random orders"));
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Method")));
    controls->addWidget(method_);
    controls->addStretch(1);
    controls->addWidget(faithfulness_);
    auto* left = new QWidget;
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addLayout(controls);
    leftLayout->addWidget(status_);
    leftLayout->addWidget(map_, 1);
    auto* right = new QSplitter(Qt::Vertical);
    right->addWidget(queries_);
    right->addWidget(chart_);
    right->setStretchFactor(0, 2);
    right->setStretchFactor(1, 3);
    auto* split = new QSplitter(Qt::Horizontal);
    split->addWidget(left);
    split->addWidget(right);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    split->setSizes({400, 600});  // the charts need the room more than the map
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);

    connect(method_, &QComboBox::currentIndexChanged, this, [this] {
        chart_->clear(haveExplanation_ ? tr("Check faithfulness to compare this map with random orders.") : QString());
        render();
    });
    connect(faithfulness_, &QPushButton::clicked, this, &WordGradientsView::checkFaithfulness);
    clear(tr("Click a word of the caption (above) to see which image regions it depends on."));
}

void WordGradientsView::setCanExplain(bool can, const QString& reason)
{
    canExplain_ = can;
    if (!can)
        clear(reason);
}

void WordGradientsView::clear(const QString& message)
{
    imageId_ = 0;
    tokens_.clear();
    haveExplanation_ = false;
    requested_ = false;
    status_->setText(message);
    map_->clearMap(message);
    queries_->setBars({}, {}, QString(), 1.0);
    chart_->clear({});
    faithfulness_->setEnabled(false);
}

void WordGradientsView::setWord(int imageId, const QImage& image, const GenerationResult& result,
                                const std::vector<int>& tokens, const QString& word)
{
    if (!canExplain_)
        return;
    if (imageId == imageId_ && tokens == tokens_ && word == word_ && result.sequences.size() == result_.sequences.size() &&
        !result.sequences.empty() && result.sequences.front().ids == result_.sequences.front().ids)
        return;  // the same word again
    imageId_ = imageId;
    image_ = image;
    result_ = result;
    tokens_ = tokens;
    word_ = word;
    haveExplanation_ = false;
    requested_ = false;
    chart_->clear({});
    faithfulness_->setEnabled(false);
    status_->setText(tr("“%1”: computing its gradient maps (the model runs once more on its own text, under autograd)…").arg(word));
    map_->clearMap(QString());
    requestIfNeeded();
}

void WordGradientsView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    requestIfNeeded();
}

void WordGradientsView::requestIfNeeded()
{
    // The pass costs a forward and a backward of the whole model: only for a word someone looks at.
    if (!isVisible() || requested_ || tokens_.empty() || imageId_ == 0 || !canExplain_)
        return;
    requested_ = true;
    emit explainRequested(imageId_, result_, tokens_);
}

void WordGradientsView::showExplanation(int imageId, const WordExplanation& explanation)
{
    if (imageId != imageId_ || explanation.tokens != tokens_)
        return;
    explanation_ = explanation;
    haveExplanation_ = true;
    chart_->clear(tr("Check faithfulness to compare this map with random orders."));
    render();
    setBusy(busy_);
}

void WordGradientsView::setMethod(MapMethod method) { method_->setCurrentIndex(method_->findData(int(method))); }

MapMethod WordGradientsView::method() const { return MapMethod(method_->currentData().toInt()); }

void WordGradientsView::render()
{
    if (!haveExplanation_)
        return;
    const MapMethod m = method();
    status_->setText(tr("“%1”: log p %2 (the sum over its %3 token(s)). %4")
                         .arg(word_)
                         .arg(explanation_.logProbability, 0, 'f', 3)
                         .arg(explanation_.tokens.size())
                         .arg(methodHelp(m)));
    map_->setMap(image_, explanation_.patchMap(m), explanation_.gridSize,
                 tr("“%1” · %2").arg(word_, methodTitle(m)), 0.7);
    std::vector<float> weights = explanation_.queryWeights(m);
    QStringList labels;
    std::vector<double> values;
    double high = 0;
    for (std::size_t q = 0; q < weights.size(); ++q) {
        labels << QString::number(q);
        values.push_back(std::max(0.0f, weights[q]));  // input x gradient: its positive part, as the map uses it
        high = std::max(high, values.back());
    }
    queries_->setBars(labels, values, tr("How much each query counts for “%1” (%2)").arg(word_, methodTitle(m)), high * 1.1);
}

void WordGradientsView::checkFaithfulness()
{
    if (!haveExplanation_ || busy_)
        return;
    chart_->clear(tr("Running the curves: the image with patches removed and revealed, a group at a time…"));
    emit faithfulnessRequested(imageId_, result_, tokens_, explanation_.patchMap(method()));
}

void WordGradientsView::showFaithfulness(int imageId, const FaithfulnessReport& report)
{
    if (imageId != imageId_ || !haveExplanation_)
        return;
    chart_->showReport(report, methodTitle(method()));
}

void WordGradientsView::fail(const QString& message, bool cancelled)
{
    requested_ = false;  // shown again, it asks again
    status_->setText(cancelled ? tr("Stopped.") : message.toHtmlEscaped());
}

void WordGradientsView::setBusy(bool busy)
{
    busy_ = busy;
    faithfulness_->setEnabled(haveExplanation_ && !busy);
}

QString WordGradientsView::statusText() const { return status_->text(); }

}  // namespace querylens::ui
