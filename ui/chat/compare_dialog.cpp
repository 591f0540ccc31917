#include "chat/compare_dialog.h"

#include "explorer/bar_chart.h"
#include "explorer/explorer_panel.h"
#include "explorer/map_view.h"

#include <QComboBox>
#include <QGridLayout>
#include <QLabel>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace querylens::ui {

namespace {

constexpr double kOpacity = 0.7;

double cosine(const std::vector<float>& a, const std::vector<float>& b)
{
    double dot = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        dot += double(a[i]) * b[i];
        na += double(a[i]) * a[i];
        nb += double(b[i]) * b[i];
    }
    return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0.0;
}

// "Q2 · 1/3 · what colour is the bowl? → blue"
QString answerLabel(const Conversation& c, const Turn& t)
{
    int depth = 1;
    for (const Turn* p = c.find(t.parent); p; p = c.find(p->parent))
        ++depth;
    const auto [index, count] = c.siblingPosition(t.id);
    QString label = QObject::tr("Q%1").arg(depth);
    if (count > 1)
        label += QStringLiteral(" · %1/%2").arg(index).arg(count);
    return label + QStringLiteral(" · %1 → %2").arg(QString::fromStdString(t.question).left(40),
                                                   QString::fromStdString(t.answer).left(50));
}

}  // namespace

struct CompareDialog::Side {
    QComboBox* chooser = nullptr;
    QLabel* wordsLabel = nullptr;
    MapView* map = nullptr;
    BarChart* bars = nullptr;
    int turn = 0;
    int word = -1;
    std::vector<GeneratedWord> words;
    std::vector<float> weights;  // per query (all of them; 0 where a query was ablated)
    std::vector<float> patches;  // [grid * grid]
};

CompareDialog::CompareDialog(QWidget* parent)
    : QDialog(parent), mapChoice_(new QComboBox), differenceView_(new MapView), differenceBars_(new BarChart(tr("A − B"))),
      summary_(new QLabel)
{
    setObjectName(QStringLiteral("compareDialog"));
    setWindowTitle(tr("Compare two answers"));
    resize(1260, 820);
    mapChoice_->addItems({tr("Mean of layers and heads"), tr("Query flow (follows self-attention between layers)")});
    connect(mapChoice_, &QComboBox::currentIndexChanged, this, &CompareDialog::recompute);
    summary_->setObjectName(QStringLiteral("compareSummary"));
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* grid = new QGridLayout(this);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Query maps:")));
    top->addWidget(mapChoice_);
    top->addStretch(1);
    grid->addLayout(top, 0, 0, 1, 3);
    for (int s = 0; s < 2; ++s) {
        sides_[s] = std::make_unique<Side>();
        Side& side = *sides_[s];
        side.chooser = new QComboBox;
        side.chooser->setObjectName(s == 0 ? QStringLiteral("answerA") : QStringLiteral("answerB"));
        side.wordsLabel = new QLabel;
        side.wordsLabel->setWordWrap(true);
        side.wordsLabel->setTextFormat(Qt::RichText);
        side.map = new MapView;
        side.bars = new BarChart(s == 0 ? tr("A") : tr("B"));
        connect(side.chooser, &QComboBox::activated, this, [this, s](int index) {
            sides_[s]->turn = sides_[s]->chooser->itemData(index).toInt();
            sides_[s]->word = -1;
            recompute();
        });
        connect(side.wordsLabel, &QLabel::linkActivated, this,
                [this, s](const QString& link) { selectWord(s, link.mid(1).toInt()); });
        const int column = s == 0 ? 0 : 2;
        grid->addWidget(new QLabel(s == 0 ? tr("<b>A</b>") : tr("<b>B</b>")), 1, column);
        grid->addWidget(side.chooser, 2, column);
        grid->addWidget(side.wordsLabel, 3, column);
        grid->addWidget(side.map, 4, column);
        grid->addWidget(side.bars, 5, column);
    }
    grid->addWidget(new QLabel(tr("<b>A − B</b>: red where A's word drew more on the image, blue where B's did")), 1, 1);
    grid->addWidget(summary_, 2, 1, 2, 1);
    grid->addWidget(differenceView_, 4, 1);
    grid->addWidget(differenceBars_, 5, 1);
    for (int c = 0; c < 3; ++c)
        grid->setColumnStretch(c, 1);
    grid->setRowStretch(4, 3);
    grid->setRowStretch(5, 2);
}

CompareDialog::~CompareDialog() = default;

void CompareDialog::setSources(const QImage& image, ImageEncodingPtr encoding, const Conversation& conversation)
{
    image_ = image;
    encoding_ = std::move(encoding);
    conversation_ = conversation;
    fillChoosers();
    recompute();
}

void CompareDialog::fillChoosers()
{
    for (auto& side : sides_) {
        side->chooser->clear();
        for (const Turn& t : conversation_.turns())
            if (!t.result.sequences.empty())
                side->chooser->addItem(answerLabel(conversation_, t), t.id);
        const int at = side->chooser->findData(side->turn);
        side->chooser->setCurrentIndex(std::max(0, at));
        if (at < 0)
            side->turn = side->chooser->count() > 0 ? side->chooser->itemData(0).toInt() : 0;
    }
}

void CompareDialog::setAnswers(int turnA, int turnB)
{
    const int ids[2] = {turnA, turnB};
    for (int s = 0; s < 2; ++s) {
        const int at = sides_[s]->chooser->findData(ids[s]);
        if (at >= 0) {
            sides_[s]->chooser->setCurrentIndex(at);
            sides_[s]->turn = ids[s];
        }
        sides_[s]->word = -1;
    }
    recompute();
}

void CompareDialog::recompute()
{
    if (encoding_) {
        MapSelection selection;
        selection.layers = mapChoice_->currentIndex() == 1 ? LayerAggregation::Flow : LayerAggregation::Mean;
        maps_ = selectMaps(encoding_->crossAttention(), encoding_->selfAttention(), selection);
    }
    for (auto& side : sides_) {
        const Turn* t = conversation_.find(side->turn);
        side->words = t && !t->result.sequences.empty() ? wordsOf(t->result.sequences.front()) : std::vector<GeneratedWord>{};
    }
    // Start with the first word each answer has and the other lacks: where they part.
    for (int s = 0; s < 2; ++s) {
        Side& side = *sides_[s];
        if (side.word >= 0 && side.word < int(side.words.size()))
            continue;
        QStringList others;
        for (const auto& w : sides_[1 - s]->words)
            others << w.text.toLower();
        side.word = side.words.empty() ? -1 : 0;
        for (int i = 0; i < int(side.words.size()); ++i)
            if (!others.contains(side.words[std::size_t(i)].text.toLower())) {
                side.word = i;
                break;
            }
    }
    showSide(0);
    showSide(1);
    showDifference();
}

void CompareDialog::selectWord(int side, int index)
{
    if (side < 0 || side > 1 || index < 0 || index >= int(sides_[side]->words.size()))
        return;
    sides_[side]->word = index;
    showSide(side);
    showDifference();
}

void CompareDialog::showSide(int s)
{
    Side& side = *sides_[s];
    side.weights.clear();
    side.patches.clear();
    QStringList html;
    for (std::size_t i = 0; i < side.words.size(); ++i) {
        const QString text = side.words[i].text.toHtmlEscaped();
        html << (int(i) == side.word ? QStringLiteral("<b><u>%1</u></b>").arg(text)
                                     : QStringLiteral("<a href=\"w%1\">%2</a>").arg(i).arg(text));
    }
    side.wordsLabel->setText(side.words.empty() ? tr("No answer with tokens to compare.") : tr("Word: ") + html.join(QLatin1Char(' ')));
    const Turn* t = conversation_.find(side.turn);
    if (!encoding_ || !t || side.word < 0) {
        side.map->clearMap(encoding_ ? tr("Choose an answer.")
                                     : tr("The image's attention maps come with its first caption or answer: open the "
                                          "model this conversation was with, and they appear here."));
        side.bars->setBars({}, {}, QString(), 1.0);
        return;
    }
    const std::vector<int> indices = inputQueries(t->result, maps_.queries);
    const GeneratedWord& word = side.words[std::size_t(side.word)];
    const std::vector<float> inputWeights = wordQueryWeights(t->result.sequences.front(), word, indices.size());
    side.weights.assign(std::size_t(maps_.queries), 0.0f);
    for (std::size_t i = 0; i < indices.size(); ++i)
        if (indices[i] >= 0 && indices[i] < maps_.queries)
            side.weights[std::size_t(indices[i])] = inputWeights[i];
    side.patches = weightedPatchMap(maps_, inputWeights, indices);
    const QString title = tr("%1: “%2”").arg(s == 0 ? QStringLiteral("A") : QStringLiteral("B"), word.text);
    side.map->setMap(image_, side.patches, maps_.gridSize, title, kOpacity);
}

void CompareDialog::showDifference()
{
    // The two sides' bars share one scale, so that their heights compare.
    double high = 0;
    for (const auto& side : sides_)
        for (float w : side->weights)
            high = std::max(high, double(w));
    QStringList labels;
    for (int q = 0; q < maps_.queries; ++q)
        labels << QString::number(q);
    for (int s = 0; s < 2; ++s)
        if (!sides_[s]->weights.empty())
            sides_[s]->bars->setBars(labels, std::vector<double>(sides_[s]->weights.begin(), sides_[s]->weights.end()),
                                     tr("“%1”: weight of each query").arg(sides_[s]->words[std::size_t(sides_[s]->word)].text),
                                     high * 1.1);
    const std::vector<float> difference = differenceMap();
    if (difference.empty()) {
        differenceView_->clearMap(tr("Choose a word in each answer."));
        differenceBars_->setBars({}, {}, QString(), 1.0);
        summary_->clear();
        return;
    }
    std::vector<double> delta(std::size_t(maps_.queries));
    double limit = 1e-9;
    for (std::size_t q = 0; q < delta.size(); ++q) {
        delta[q] = double(sides_[0]->weights[q]) - sides_[1]->weights[q];
        limit = std::max(limit, std::abs(delta[q]));
    }
    differenceView_->setSignedMap(image_, difference, maps_.gridSize, tr("A − B"), kOpacity);
    differenceBars_->setBars(labels, delta, tr("A − B per query"), limit * 1.1, -limit * 1.1);

    std::vector<int> order(delta.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return delta[std::size_t(a)] > delta[std::size_t(b)]; });
    auto listed = [&](bool positive) {
        QStringList items;
        for (int k = 0; k < 3; ++k) {
            const int q = positive ? order[std::size_t(k)] : order[order.size() - 1 - std::size_t(k)];
            const double d = delta[std::size_t(q)];
            if ((positive && d > 0) || (!positive && d < 0))
                items << QStringLiteral("%1 (%2%3)").arg(q).arg(d > 0 ? QStringLiteral("+") : QString()).arg(d, 0, 'f', 3);
        }
        return items.isEmpty() ? tr("none") : items.join(QStringLiteral(", "));
    };
    summary_->setText(tr("Similarity of the two words' query weights (cosine): %1; of their maps: %2.\n"
                         "Queries A's word leans on more: %3. B's: %4.")
                          .arg(cosine(sides_[0]->weights, sides_[1]->weights), 0, 'f', 3)
                          .arg(cosine(sides_[0]->patches, sides_[1]->patches), 0, 'f', 3)
                          .arg(listed(true), listed(false)));
}

int CompareDialog::answer(int side) const { return sides_[side]->turn; }
int CompareDialog::selectedWord(int side) const { return sides_[side]->word; }

QStringList CompareDialog::words(int side) const
{
    QStringList list;
    for (const auto& w : sides_[side]->words)
        list << w.text;
    return list;
}

const std::vector<float>& CompareDialog::queryWeights(int side) const { return sides_[side]->weights; }
const std::vector<float>& CompareDialog::wordMap(int side) const { return sides_[side]->patches; }

std::vector<float> CompareDialog::differenceMap() const
{
    const auto& a = sides_[0]->patches;
    const auto& b = sides_[1]->patches;
    if (a.empty() || a.size() != b.size())
        return {};
    std::vector<float> d(a.size());
    for (std::size_t i = 0; i < a.size(); ++i)
        d[i] = a[i] - b[i];
    return d;
}

QString CompareDialog::summaryText() const { return summary_->text(); }
MapView* CompareDialog::mapView(int column) const { return column == 1 ? differenceView_ : sides_[column / 2]->map; }
BarChart* CompareDialog::barChart(int column) const { return column == 1 ? differenceBars_ : sides_[column / 2]->bars; }
QComboBox* CompareDialog::answerChooser(int side) const { return sides_[side]->chooser; }

}  // namespace querylens::ui
