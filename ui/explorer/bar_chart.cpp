#include "explorer/bar_chart.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QValueAxis>
#include <QVBoxLayout>

#include <algorithm>

namespace querylens::ui {

BarChart::BarChart(const QString& valueName, QWidget* parent)
    : QWidget(parent), valueName_(valueName), view_(new QChartView)
{
    view_->setRenderHint(QPainter::Antialiasing);
    view_->chart()->legend()->hide();
    view_->chart()->setMargins(QMargins(2, 2, 2, 2));
    view_->chart()->setBackgroundRoundness(0);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(view_);
    setMinimumHeight(160);
    connect(view_->chart(), &QChart::plotAreaChanged, this, [this] { relabel(); });
}

QChart* BarChart::chart() const { return view_->chart(); }

void BarChart::setBars(const QStringList& labels, const std::vector<double>& values, const QString& title, double maxValue,
                       double minValue)
{
    labels_ = labels;
    values_ = values;
    QChart* chart = view_->chart();
    chart->removeAllSeries();
    for (QAbstractAxis* axis : chart->axes()) {
        chart->removeAxis(axis);
        delete axis;  // the chart gives up ownership of what it removes
    }
    chart->setTitle(title);
    // Follow the window's palette (light or dark).
    chart->setBackgroundBrush(palette().color(QPalette::Base));
    chart->setTitleBrush(palette().color(QPalette::Text));

    auto* set = new QBarSet(valueName_);
    for (double v : values)
        *set << v;
    set->setColor(palette().color(QPalette::Highlight));
    auto* series = new QBarSeries;
    series->append(set);
    series->setBarWidth(0.85);
    chart->addSeries(series);

    // Many long labels (tokens) stand upright under their bars. Many short ones (query numbers)
    // cannot all be written at a narrow width (QBarCategoryAxis then cuts each to an ellipsis):
    // they go on a value axis instead, every `step`-th one under its bar, the step chosen from
    // the width the chart has (relabelled on resize).
    const bool longLabels = std::any_of(labels.begin(), labels.end(), [](const QString& l) { return l.size() > 2; });
    QStringList distinct = labels;
    const bool unique = distinct.removeDuplicates() == 0;  // QCategoryAxis takes each label once
    QAbstractAxis* horizontal = nullptr;
    if (labels.size() > 16 && !longLabels && unique) {
        sparseAxis_ = new QCategoryAxis;
        sparseAxis_->setRange(-0.5, labels.size() - 0.5);
        sparseAxis_->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
        sparseAxis_->setGridLineVisible(false);
        horizontal = sparseAxis_;
    } else {
        sparseAxis_ = nullptr;
        auto* categories = new QBarCategoryAxis;
        categories->append(labels);
        categories->setLabelsAngle(labels.size() > 12 && longLabels ? -90 : 0);
        horizontal = categories;
    }
    horizontal->setLabelsBrush(palette().color(QPalette::Text));
    chart->addAxis(horizontal, Qt::AlignBottom);
    series->attachAxis(horizontal);
    relabel();
    auto* axis = new QValueAxis;
    axis->setRange(minValue, maxValue > minValue ? maxValue : minValue + 1);
    axis->setLabelFormat(QStringLiteral("%.2f"));
    axis->setLabelsBrush(palette().color(QPalette::Text));
    chart->addAxis(axis, Qt::AlignLeft);
    series->attachAxis(axis);

    connect(series, &QBarSeries::clicked, this, [this](int index, QBarSet*) { emit barClicked(index); });
    connect(series, &QBarSeries::hovered, this, [this](bool status, int index, QBarSet*) { emit barHovered(index, status); });
}

int BarChart::labelStep() const
{
    if (!sparseAxis_ || labels_.isEmpty())
        return 1;
    // The plot's width once laid out; before that, the widget's less the value axis.
    const double plot = view_->chart()->plotArea().width() > 0 ? view_->chart()->plotArea().width() : width() - 60.0;
    const QFontMetrics metrics(sparseAxis_->labelsFont());
    int widest = 0;
    for (const QString& label : labels_)
        widest = std::max(widest, metrics.horizontalAdvance(label));
    // QtCharts gives each label of a category axis the axis' width over (labels + 1), less a
    // padding each side (ChartPresenter's 5 px, doubled here for the gap between neighbours),
    // and writes an ellipsis when the text is wider.
    constexpr double padding = 10;
    int step = 1;
    while (step < labels_.size() && plot / ((labels_.size() + step - 1) / step + 1) - 2 * padding < widest)
        step *= 2;
    return step;
}

QStringList BarChart::writtenLabels() const
{
    return sparseAxis_ ? sparseAxis_->categoriesLabels() : labels_;
}

void BarChart::relabel()
{
    if (!sparseAxis_)
        return;
    const int step = labelStep();
    if (step == labelStep_ && sparseAxis_->count() > 0)
        return;
    labelStep_ = step;
    for (const QString& label : sparseAxis_->categoriesLabels())
        sparseAxis_->remove(label);
    for (int i = 0; i < labels_.size(); i += step)
        sparseAxis_->append(labels_[i], i);  // written at the bar's centre (AxisLabelsPositionOnValue)
}

void BarChart::setHighlighted(int index)
{
    const auto series = view_->chart()->series();
    if (series.isEmpty())
        return;
    auto* bars = static_cast<QBarSeries*>(series.front());
    if (bars->barSets().isEmpty())
        return;
    QBarSet* set = bars->barSets().front();
    set->deselectAllBars();
    set->setSelectedColor(palette().color(QPalette::Link).darker(130));
    if (index >= 0 && index < set->count())
        set->selectBar(index);
}

}  // namespace querylens::ui
