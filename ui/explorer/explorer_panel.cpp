#include "explorer/query_catalogue_view.h"
#include "explorer/explorer_panel.h"

#include "explorer/bar_chart.h"
#include "explorer/map_view.h"
#include "explorer/query_grid.h"
#include "explorer/similarity_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QTabWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <numeric>

namespace querylens::ui {

namespace {

// The layer combo: "mean", one entry per cross-attention layer, then "flow".
constexpr int kLayerMean = 0;
// The head combo: "mean", "max", then one entry per head.
constexpr int kHeadMean = 0, kHeadMax = 1;

QLabel* wrappingLabel(const QString& text = {})
{
    auto* label = new QLabel(text);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::LinksAccessibleByMouse);
    return label;
}

}  // namespace

ExplorerPanel::ExplorerPanel(QWidget* parent)
    : QWidget(parent), layer_(new QComboBox), head_(new QComboBox), scale_(new QComboBox),
      opacity_(new QSlider(Qt::Horizontal)), grid_(new QueryGrid), mapView_(new MapView), queryStats_(wrappingLabel()),
      chartTabs_(new QTabWidget), focusChart_(new BarChart(tr("focus"))), sortFocus_(new QCheckBox(tr("Sort by focus"))),
      similarity_(new SimilarityView), textSource_(new QComboBox), wordsLabel_(wrappingLabel()),
      wordChart_(new BarChart(tr("attention"))), tokenChart_(new BarChart(tr("probability"))), tokenDetail_(wrappingLabel()),
      disabledLabel_(wrappingLabel()), ablate_(new QPushButton(tr("Regenerate without them"))),
      clearAblation_(new QPushButton(tr("Switch all on"))), ablationResult_(wrappingLabel()),
      catalogue_(new QueryCatalogueView)
{
    buildControls();
    clearImage();
}

void ExplorerPanel::buildControls()
{
    scale_->addItems({tr("One colour scale"), tr("Scale per query")});
    scale_->setToolTip(tr("Colours run from the lowest to the highest value of all maps, or of each map"));
    for (QComboBox* combo : {layer_, head_, scale_})
        combo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    opacity_->setRange(10, 100);
    opacity_->setValue(70);
    opacity_->setMaximumWidth(140);
    auto* exportPng = new QPushButton(tr("PNG…"));
    auto* exportMaps = new QPushButton(tr("Safetensors…"));
    auto* exportCsv = new QPushButton(tr("CSV…"));
    exportPng->setToolTip(tr("Save this view as a PNG image"));
    exportMaps->setToolTip(tr("Save all attention maps (the layout of `querylens explain`)"));
    exportCsv->setToolTip(tr("Save the per-query statistics and the current maps as CSV"));

    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Layer")));
    controls->addWidget(layer_);
    controls->addWidget(new QLabel(tr("Heads")));
    controls->addWidget(head_);
    controls->addWidget(scale_);
    controls->addWidget(new QLabel(tr("Opacity")));
    controls->addWidget(opacity_);
    controls->addStretch(1);
    controls->addWidget(new QLabel(tr("Export")));
    controls->addWidget(exportPng);
    controls->addWidget(exportMaps);
    controls->addWidget(exportCsv);

    auto* right = new QWidget;
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(mapView_, 1);
    rightLayout->addWidget(queryStats_);
    auto* top = new QSplitter(Qt::Horizontal);
    top->addWidget(grid_);
    top->addWidget(right);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);

    // Charts.
    auto* focusPage = new QWidget;
    auto* focusLayout = new QVBoxLayout(focusPage);
    focusLayout->addWidget(focusChart_, 1);
    focusLayout->addWidget(sortFocus_);
    auto* tokensPage = new QWidget;
    auto* tokensLayout = new QVBoxLayout(tokensPage);
    tokensLayout->addWidget(tokenChart_, 1);
    tokensLayout->addWidget(tokenDetail_);
    auto* wordPage = new QWidget;
    auto* wordLayout = new QVBoxLayout(wordPage);
    wordLayout->addWidget(wordChart_, 1);
    wordLayout->addWidget(wrappingLabel(
        tr("How a word's map is made: for each of the word's tokens, the language model's attention from the position "
           "that predicted it to the query positions of the soft prompt, averaged over all layers and heads (OPT: "
           "self-attention; Flan-T5: decoder cross-attention), then averaged over the word's tokens: the bars. The "
           "map is the queries' maps (current layer and head choice) weighted by the bars, divided by their sum.")));
    auto* ablationPage = new QWidget;
    auto* ablationLayout = new QVBoxLayout(ablationPage);
    ablationLayout->addWidget(wrappingLabel(tr("Ctrl+click or right-click queries in the grid to switch them off: their "
                                               "vectors are removed from the language model's input.")));
    auto* ablationButtons = new QHBoxLayout;
    ablationButtons->addWidget(disabledLabel_, 1);
    ablationButtons->addWidget(clearAblation_);
    ablationButtons->addWidget(ablate_);
    ablationLayout->addLayout(ablationButtons);
    ablationLayout->addWidget(ablationResult_, 1);
    chartTabs_->addTab(focusPage, tr("Focus"));
    chartTabs_->addTab(similarity_, tr("Similarity"));
    chartTabs_->addTab(tokensPage, tr("Token probabilities"));
    chartTabs_->addTab(wordPage, tr("Word → queries"));
    chartTabs_->addTab(ablationPage, tr("Ablation"));
    chartTabs_->addTab(catalogue_, tr("Query catalogue"));
    connect(catalogue_, &QueryCatalogueView::querySelected, this, &ExplorerPanel::selectQuery);

    auto* textRow = new QHBoxLayout;
    textRow->addWidget(textSource_);
    textRow->addWidget(wordsLabel_, 1);
    auto* bottom = new QWidget;
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addLayout(textRow);
    bottomLayout->addWidget(chartTabs_, 1);

    auto* vertical = new QSplitter(Qt::Vertical);
    vertical->addWidget(top);
    vertical->addWidget(bottom);
    vertical->setStretchFactor(0, 3);
    vertical->setStretchFactor(1, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(controls);
    layout->addWidget(vertical, 1);

    connect(layer_, &QComboBox::currentIndexChanged, this, [this] { recompute(); });
    connect(head_, &QComboBox::currentIndexChanged, this, [this] { recompute(); });
    connect(scale_, &QComboBox::currentIndexChanged, this, [this] { recompute(); });
    connect(opacity_, &QSlider::valueChanged, this, [this] { recompute(); });
    connect(grid_, &QueryGrid::querySelected, this, &ExplorerPanel::selectQuery);
    connect(grid_, &QueryGrid::queryToggled, this, &ExplorerPanel::toggleQuery);
    connect(similarity_, &SimilarityView::querySelected, this, &ExplorerPanel::selectQuery);
    connect(focusChart_, &BarChart::barClicked, this, [this](int bar) {
        const auto order = focusOrder();
        if (bar >= 0 && bar < int(order.size()))
            selectQuery(order[std::size_t(bar)]);
    });
    connect(sortFocus_, &QCheckBox::toggled, this, [this] { updateFocusChart(); });
    connect(wordChart_, &BarChart::barClicked, this, [this](int bar) {
        if (selectedWord_ < 0 || texts_.isEmpty())
            return;
        const auto& indices = texts_[textIndex_].result.queryIndices;
        selectQuery(indices.empty() ? bar : indices.at(std::size_t(bar)));
    });
    connect(tokenChart_, &BarChart::barHovered, this, [this](int index, bool entered) {
        if (!entered || texts_.isEmpty())
            return;
        const auto& tokens = texts_[textIndex_].result.sequences.front().tokens;
        if (index < 0 || index >= int(tokens.size()))
            return;
        QStringList alternatives;
        for (const auto& a : tokens[std::size_t(index)].alternatives)
            alternatives << QStringLiteral("“%1” %2%").arg(QString::fromStdString(a.text).toHtmlEscaped())
                                .arg(100.0 * a.probability, 0, 'f', 1);
        tokenDetail_->setText(tr("Token %1 “%2”: %3%. Most probable: %4")
                                  .arg(index)
                                  .arg(QString::fromStdString(tokens[std::size_t(index)].text).toHtmlEscaped())
                                  .arg(100.0 * tokens[std::size_t(index)].probability, 0, 'f', 1)
                                  .arg(alternatives.join(QStringLiteral(", "))));
    });
    connect(textSource_, &QComboBox::currentIndexChanged, this, &ExplorerPanel::setTextSource);
    connect(wordsLabel_, &QLabel::linkActivated, this, [this](const QString& link) { selectWord(link.mid(1).toInt()); });
    connect(ablate_, &QPushButton::clicked, this, [this] {
        ablationResult_->setText(tr("Regenerating… (%1)").arg(disabledLabel_->text()));
        emit ablationRequested(imageId_, std::vector<int>(disabled_.begin(), disabled_.end()));
    });
    connect(clearAblation_, &QPushButton::clicked, this, [this] {
        disabled_.clear();
        grid_->setDisabled(disabled_);
        updateAblationControls();
    });
    connect(exportPng, &QPushButton::clicked, this, [this] { chooseExport(QStringLiteral("png")); });
    connect(exportMaps, &QPushButton::clicked, this, [this] { chooseExport(QStringLiteral("safetensors")); });
    connect(exportCsv, &QPushButton::clicked, this, [this] { chooseExport(QStringLiteral("csv")); });
}

void ExplorerPanel::clearImage()
{
    encoding_.reset();
    texts_.clear();
    maps_ = {};
    statistics_.clear();
    words_.clear();
    grid_->setMaps({}, {}, 0, {}, true, 0.7);
    mapView_->clearMap(tr("Drop an image: once it is captioned, the Q-Former's 32 queries show here with where each "
                          "one looked."));
    queryStats_->clear();
    wordsLabel_->clear();
    textSource_->clear();
    setEnabled(false);
}

void ExplorerPanel::setImage(int imageId, const QImage& image, ImageEncodingPtr encoding, const QList<ExplainedText>& texts)
{
    if (!encoding) {
        clearImage();
        return;
    }
    const bool newImage = imageId != imageId_ || encoding != encoding_;
    imageId_ = imageId;
    image_ = image;
    encoding_ = std::move(encoding);
    texts_ = texts;
    setEnabled(true);
    if (newImage) {
        disabled_.clear();
        haveAblation_ = false;
        ablationResult_->clear();
        const CrossAttentionMaps& cross = encoding_->crossAttention();
        const QSignalBlocker blockLayer(layer_), blockHead(head_);
        layer_->clear();
        layer_->addItem(tr("Mean of layers"));
        for (int l = 0; l < cross.layers; ++l)
            layer_->addItem(tr("Layer %1").arg(cross.qformerLayers.at(std::size_t(l))));
        layer_->addItem(tr("Query flow"));
        layer_->setItemData(layer_->count() - 1,
                            tr("Follows the queries' self-attention between layers as well as what they read: what each "
                               "query finally carries (attention rollout with residuals)."),
                            Qt::ToolTipRole);
        head_->clear();
        head_->addItems({tr("Mean of heads"), tr("Max of heads")});
        for (int h = 0; h < cross.heads; ++h)
            head_->addItem(tr("Head %1").arg(h));
    }
    {
        const QSignalBlocker block(textSource_);
        textSource_->clear();
        for (const auto& text : texts_)
            textSource_->addItem(text.label);
        textIndex_ = texts_.isEmpty() ? 0 : std::clamp(textIndex_, 0, int(texts_.size()) - 1);
        textSource_->setCurrentIndex(textIndex_);
    }
    grid_->setDisabled(disabled_);
    selectedWord_ = -1;
    recompute();
    showTokens();
    showWords();
    updateAblationControls();
}

MapSelection ExplorerPanel::selection() const
{
    MapSelection s;
    const int layers = layer_->count() - 2;
    const int li = layer_->currentIndex();
    s.layers = li == kLayerMean ? LayerAggregation::Mean : li == layers + 1 ? LayerAggregation::Flow : LayerAggregation::Single;
    s.layer = std::max(0, li - 1);
    const int hi = head_->currentIndex();
    s.heads = hi == kHeadMean ? HeadAggregation::Mean : hi == kHeadMax ? HeadAggregation::Max : HeadAggregation::Single;
    s.head = std::max(0, hi - 2);
    return s;
}

void ExplorerPanel::setSelection(const MapSelection& s)
{
    const QSignalBlocker blockLayer(layer_), blockHead(head_);
    layer_->setCurrentIndex(s.layers == LayerAggregation::Mean   ? kLayerMean
                            : s.layers == LayerAggregation::Flow ? layer_->count() - 1
                                                                 : s.layer + 1);
    head_->setCurrentIndex(s.heads == HeadAggregation::Mean ? kHeadMean : s.heads == HeadAggregation::Max ? kHeadMax : s.head + 2);
    recompute();
}

void ExplorerPanel::recompute()
{
    if (!encoding_)
        return;
    maps_ = selectMaps(encoding_->crossAttention(), encoding_->selfAttention(), selection());
    statistics_ = queryStatistics(maps_);
    std::vector<std::vector<float>> patches;
    std::vector<double> entropies;
    for (int q = 0; q < maps_.queries; ++q) {
        patches.push_back(maps_.patches(q));
        entropies.push_back(statistics_[std::size_t(q)].normalizedEntropy);
    }
    grid_->setMaps(image_, patches, maps_.gridSize, entropies, scale_->currentIndex() == 0, opacity_->value() / 100.0);
    similarity_->setSimilarity(mapSimilarity(maps_), maps_.queries);
    updateFocusChart();
    selectedQuery_ = std::clamp(selectedQuery_, 0, maps_.queries - 1);
    if (selectedWord_ >= 0)
        selectWord(selectedWord_);
    else
        showQuery();
}

void ExplorerPanel::setCatalogue(const QueryCatalogue& catalogue) { catalogue_->setCatalogue(catalogue); }

void ExplorerPanel::selectQuery(int query)
{
    if (!encoding_ || query < 0 || query >= maps_.queries)
        return;
    selectedQuery_ = query;
    selectedWord_ = -1;
    showQuery();
    showWords();
}

void ExplorerPanel::showQuery()
{
    grid_->setSelected(selectedQuery_);
    similarity_->setSelected(selectedQuery_);
    const auto order = focusOrder();
    focusChart_->setHighlighted(int(std::find(order.begin(), order.end(), selectedQuery_) - order.begin()));
    const QueryStatistics& s = statistics_.at(std::size_t(selectedQuery_));
    mapView_->setMap(image_, maps_.patches(selectedQuery_), maps_.gridSize,
                     tr("Query %1 · %2 · %3").arg(selectedQuery_).arg(layer_->currentText(), head_->currentText()),
                     opacity_->value() / 100.0);
    queryStats_->setText(tr("Focus (entropy of its patch distribution): %1 nats, %2 of uniform · CLS token share %3% · "
                            "peak at row %4, column %5")
                             .arg(s.entropy, 0, 'f', 3)
                             .arg(s.normalizedEntropy, 0, 'f', 3)
                             .arg(100 * s.clsShare, 0, 'f', 1)
                             .arg(s.peakPatch / maps_.gridSize)
                             .arg(s.peakPatch % maps_.gridSize));
}

std::vector<int> ExplorerPanel::focusOrder() const
{
    std::vector<int> order(statistics_.size());
    std::iota(order.begin(), order.end(), 0);
    if (sortFocus_->isChecked())
        std::stable_sort(order.begin(), order.end(), [this](int a, int b) {
            return statistics_[std::size_t(a)].normalizedEntropy < statistics_[std::size_t(b)].normalizedEntropy;
        });
    return order;
}

void ExplorerPanel::updateFocusChart()
{
    QStringList labels;
    std::vector<double> values;
    for (int q : focusOrder()) {
        labels << QString::number(q);
        values.push_back(statistics_[std::size_t(q)].normalizedEntropy);
    }
    focusChart_->setBars(labels, values, tr("Spread of each query's attention (normalised entropy: 0 one patch, 1 uniform)"), 1.0);
    const auto order = focusOrder();
    focusChart_->setHighlighted(int(std::find(order.begin(), order.end(), selectedQuery_) - order.begin()));
}

void ExplorerPanel::setTextSource(int index)
{
    if (index < 0 || index >= texts_.size())
        return;
    textIndex_ = index;
    selectedWord_ = -1;
    showTokens();
    showWords();
    showQuery();
}

void ExplorerPanel::showTokens()
{
    if (texts_.isEmpty()) {
        tokenChart_->setBars({}, {}, tr("No generated text yet"), 1.0);
        return;
    }
    const auto& tokens = texts_[textIndex_].result.sequences.front().tokens;
    QStringList labels;
    std::vector<double> values;
    for (const auto& token : tokens) {
        labels << QString::fromStdString(token.text).trimmed().left(12);
        values.push_back(token.probability);
    }
    tokenChart_->setBars(labels, values, tr("Probability of each generated token (hover for the alternatives)"), 1.0);
    tokenDetail_->setText(tr("Hover over a bar to see the model's most probable tokens at that step."));
}

void ExplorerPanel::showWords()
{
    words_.clear();
    if (texts_.isEmpty()) {
        wordsLabel_->setText(tr("No generated text yet."));
        return;
    }
    words_ = wordsOf(texts_[textIndex_].result.sequences.front());
    QStringList html;
    for (std::size_t i = 0; i < words_.size(); ++i) {
        const QString text = words_[i].text.toHtmlEscaped();
        html << (int(i) == selectedWord_ ? QStringLiteral("<b><u>%1</u></b>").arg(text)
                                         : QStringLiteral("<a href=\"w%1\">%2</a>").arg(i).arg(text));
    }
    wordsLabel_->setText(tr("Click a word: ") + html.join(QLatin1Char(' ')));
}

void ExplorerPanel::selectWord(int index)
{
    if (texts_.isEmpty() || index < 0 || index >= int(words_.size()))
        return;
    selectedWord_ = index;
    const GenerationResult& result = texts_[textIndex_].result;
    const std::vector<int> indices = inputQueries(result, maps_.queries);
    wordWeights_ = wordQueryWeights(result.sequences.front(), words_[std::size_t(index)], indices.size());

    QStringList labels;
    std::vector<double> values;
    double high = 0;
    for (std::size_t i = 0; i < indices.size(); ++i) {
        labels << QString::number(indices[i]);
        values.push_back(wordWeights_[i]);
        high = std::max(high, double(wordWeights_[i]));
    }
    wordChart_->setBars(labels, values, tr("“%1”: the language model's attention to each query").arg(words_[std::size_t(index)].text),
                        high * 1.1);
    const std::vector<float> map = weightedPatchMap(maps_, wordWeights_, indices);
    mapView_->setMap(image_, map, maps_.gridSize, tr("Where “%1” came from").arg(words_[std::size_t(index)].text),
                     opacity_->value() / 100.0);
    if (chartTabs_->currentIndex() < 5)  // a page added after the explorer's own five (gradient maps) stays
        chartTabs_->setCurrentIndex(3);
    showWords();
    emit wordSelected(imageId_, result, words_[std::size_t(index)].tokens, words_[std::size_t(index)].text);
}

void ExplorerPanel::toggleQuery(int query)
{
    if (disabled_.count(query))
        disabled_.erase(query);
    else
        disabled_.insert(query);
    grid_->setDisabled(disabled_);
    updateAblationControls();
    chartTabs_->setCurrentIndex(4);
}

void ExplorerPanel::updateAblationControls()
{
    QStringList names;
    for (int q : disabled_)
        names << QString::number(q);
    disabledLabel_->setText(disabled_.empty() ? tr("All queries on.") : tr("Off: %1").arg(names.join(QStringLiteral(", "))));
    ablate_->setEnabled(encoding_ != nullptr);
    clearAblation_->setEnabled(!disabled_.empty());
}

void ExplorerPanel::showAblation(const GenerationResult& result)
{
    ablation_ = result;
    haveAblation_ = true;
    const QString original = texts_.isEmpty() ? QString() : QString::fromStdString(texts_.front().result.sequences.front().text);
    const QString ablated = QString::fromStdString(result.sequences.front().text);
    const QStringList before = original.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    const QStringList after = ablated.split(QLatin1Char(' '), Qt::SkipEmptyParts);
    const std::vector<bool> changed = changedWords(before, after);
    QStringList marked;
    for (int i = 0; i < after.size(); ++i)
        marked << (changed[std::size_t(i)] ? QStringLiteral("<span style=\"background:#ffd54f;color:#000\">%1</span>")
                                                 .arg(after[i].toHtmlEscaped())
                                           : after[i].toHtmlEscaped());
    const int queries = int(result.queryIndices.size());
    QStringList off;
    for (int q = 0; q < maps_.queries; ++q)
        if (!result.queryIndices.empty() &&
            std::find(result.queryIndices.begin(), result.queryIndices.end(), q) == result.queryIndices.end())
            off << QString::number(q);
    const QString without = off.isEmpty() ? tr("With all queries again") : tr("Without queries %1").arg(off.join(QStringLiteral(", ")));
    ablationResult_->setText(tr("<b>Original</b> (all queries): %1<br><b>%2</b> (%3 queries in): %4<br>"
                                "<small>Changed words are marked.</small>")
                                 .arg(original.toHtmlEscaped(), without.toHtmlEscaped())
                                 .arg(queries)
                                 .arg(marked.join(QLatin1Char(' '))));
}

void ExplorerPanel::ablationFailed(const QString& message)
{
    ablationResult_->setText(message.toHtmlEscaped());
}

QString ExplorerPanel::ablationText() const { return ablationResult_->text(); }

void ExplorerPanel::chooseExport(const QString& kind)
{
    const QString filter = kind == QLatin1String("png")           ? tr("PNG image (*.png)")
                           : kind == QLatin1String("safetensors") ? tr("Safetensors (*.safetensors)")
                                                                  : tr("CSV (*.csv)");
    const QString path = QFileDialog::getSaveFileName(this, tr("Export"), QStringLiteral("attention.") + kind, filter);
    if (path.isEmpty())
        return;
    const QString error = kind == QLatin1String("png")           ? exportPng(path)
                          : kind == QLatin1String("safetensors") ? exportSafetensors(path)
                                                                 : exportCsv(path);
    if (!error.isEmpty())
        QMessageBox::warning(this, tr("Export"), error);
}

}  // namespace querylens::ui
