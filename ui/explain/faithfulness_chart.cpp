#include "explain/faithfulness_chart.h"

#include <QChart>
#include <QChartView>
#include <QLabel>
#include <QLegend>
#include <QLegendMarker>
#include <QLineSeries>
#include <QValueAxis>
#include <QVBoxLayout>

#include <algorithm>

namespace querylens::ui {

FaithfulnessChart::FaithfulnessChart(QWidget* parent) : QWidget(parent), view_(new QChartView), summary_(new QLabel)
{
    view_->setRenderHint(QPainter::Antialiasing);
    view_->chart()->setMargins(QMargins(2, 2, 2, 2));
    view_->chart()->setBackgroundRoundness(0);
    view_->chart()->legend()->setAlignment(Qt::AlignBottom);
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(view_, 1);
    layout->addWidget(summary_);
    setMinimumSize(340, 260);
    clear({});
}

void FaithfulnessChart::clear(const QString& message)
{
    hasReport_ = false;
    QChart* chart = view_->chart();
    chart->removeAllSeries();
    for (QAbstractAxis* axis : chart->axes()) {
        chart->removeAxis(axis);
        delete axis;  // the chart gives up ownership of what it removes (LeakSanitizer: two axes a report)
    }
    chart->setTitle(QString());
    chart->setBackgroundBrush(palette().color(QPalette::Base));
    summary_->setText(message);
}

int FaithfulnessChart::seriesCount() const { return int(view_->chart()->series().size()); }

QString FaithfulnessChart::summary() const { return summary_->text(); }

void FaithfulnessChart::showReport(const FaithfulnessReport& report, const QString& mapName)
{
    clear({});
    hasReport_ = true;
    QChart* chart = view_->chart();
    // The score names the curves' y axis in the title: beside a short plot (the Localize panel
    // is narrow) a rotated axis title would be cut.
    chart->setTitle(tr("%1 · %2 map").arg(QString::fromStdString(report.score), mapName));
    chart->setTitleBrush(palette().color(QPalette::Text));
    chart->legend()->setLabelColor(palette().color(QPalette::Text));
    auto* x = new QValueAxis;
    x->setRange(0, 1);
    x->setTitleText(tr("share of patches changed"));
    x->setLabelFormat(QStringLiteral("%.1f"));
    auto* y = new QValueAxis;
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    double low = 0, high = 0;
    bool first = true;
    auto add = [&](const FaithfulnessCurve& curve, const QString& name, const QColor& color, bool dashed) {
        if (curve.scores.empty())
            return;
        auto* series = new QLineSeries;
        series->setName(name);
        for (std::size_t i = 0; i < curve.scores.size(); ++i) {
            series->append(curve.fractions[i], curve.scores[i]);
            low = first ? curve.scores[i] : std::min(low, curve.scores[i]);
            high = first ? curve.scores[i] : std::max(high, curve.scores[i]);
            first = false;
        }
        QPen pen(color, 2);
        if (dashed)
            pen.setStyle(Qt::DashLine);
        series->setPen(pen);
        chart->addSeries(series);
        series->attachAxis(x);
        series->attachAxis(y);
        // Two legend entries fit a narrow panel, four do not: the random orders are the
        // dashed lines of the same colour, as the summary says.
        for (QLegendMarker* marker : chart->legend()->markers(series))
            marker->setVisible(!dashed);
    };
    const QColor deletion(0xd6, 0x27, 0x28), insertion(0x1f, 0x77, 0xb4);
    add(report.deletion, tr("deletion"), deletion, false);
    add(report.randomDeletion, tr("deletion, random order"), deletion, true);
    add(report.insertion, tr("insertion"), insertion, false);
    add(report.randomInsertion, tr("insertion, random order"), insertion, true);
    const double margin = std::max(1e-6, (high - low) * 0.05);
    y->setRange(low - margin, high + margin);
    for (QValueAxis* axis : {x, y}) {
        axis->setLabelsBrush(palette().color(QPalette::Text));
        axis->setTitleBrush(palette().color(QPalette::Text));
    }

    // Deletion: a smaller area is better; insertion: a larger one.
    const bool deletionBetter = report.deletion.area < report.randomDeletion.area;
    const bool insertionBetter = report.insertion.area > report.randomInsertion.area;
    QString verdict;
    if (report.randomDeletion.scores.empty())
        verdict = tr("No random orders to compare with");
    else if (deletionBetter && insertionBetter)
        verdict = tr("The map beats random orders both ways: its patches are the ones the score depends on");
    else if (deletionBetter || insertionBetter)
        verdict = tr("The map beats random orders one way only: trust it with care on this image");
    else
        verdict = tr("The map does no better than random orders: do not trust it on this image");
    summary_->setText(tr("Dashed: the same in random orders. Area under the curve — deletion: %1 (random %2, lower is better); insertion: %3 (random %4, "
                         "higher is better). Unchanged image %5, baseline %6 (%7). %8.")
                          .arg(report.deletion.area, 0, 'g', 4)
                          .arg(report.randomDeletion.area, 0, 'g', 4)
                          .arg(report.insertion.area, 0, 'g', 4)
                          .arg(report.randomInsertion.area, 0, 'g', 4)
                          .arg(report.original, 0, 'g', 4)
                          .arg(report.baseline, 0, 'g', 4)
                          .arg(report.baselineKind == PerturbationBaseline::Blur ? tr("patches replaced by a blurred copy")
                                                                                 : tr("patches replaced by the mean colour"))
                          .arg(verdict));
}

}  // namespace querylens::ui
