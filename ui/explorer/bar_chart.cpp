#include "explorer/bar_chart.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
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
}

QChart* BarChart::chart() const { return view_->chart(); }

void BarChart::setBars(const QStringList& labels, const std::vector<double>& values, const QString& title, double maxValue,
                       double minValue)
{
    labels_ = labels;
    values_ = values;
    QChart* chart = view_->chart();
    chart->removeAllSeries();
    for (QAbstractAxis* axis : chart->axes())
        chart->removeAxis(axis);
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

    auto* categories = new QBarCategoryAxis;
    // Many long labels (tokens) stand upright. Many short ones (query numbers) lie down, one in
    // four written: upright in a short chart, or all of them side by side, Qt cuts them to an
    // ellipsis. The unwritten ones are runs of zero-width spaces, since categories must differ.
    const bool longLabels = std::any_of(labels.begin(), labels.end(), [](const QString& l) { return l.size() > 2; });
    if (labels.size() > 16 && !longLabels) {
        QStringList sparse;
        for (int i = 0; i < labels.size(); ++i)
            sparse << (i % 4 == 0 ? labels[i] : QString(i + 1, QChar(0x200B)));
        categories->append(sparse);
    } else {
        categories->append(labels);
    }
    categories->setLabelsAngle(labels.size() > 12 && longLabels ? -90 : 0);
    categories->setLabelsBrush(palette().color(QPalette::Text));
    chart->addAxis(categories, Qt::AlignBottom);
    series->attachAxis(categories);
    auto* axis = new QValueAxis;
    axis->setRange(minValue, maxValue > minValue ? maxValue : minValue + 1);
    axis->setLabelFormat(QStringLiteral("%.2f"));
    axis->setLabelsBrush(palette().color(QPalette::Text));
    chart->addAxis(axis, Qt::AlignLeft);
    series->attachAxis(axis);

    connect(series, &QBarSeries::clicked, this, [this](int index, QBarSet*) { emit barClicked(index); });
    connect(series, &QBarSeries::hovered, this, [this](bool status, int index, QBarSet*) { emit barHovered(index, status); });
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
