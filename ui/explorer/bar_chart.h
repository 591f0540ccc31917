#pragma once
// A QtCharts bar chart with the few things the explorer needs: labels, values, a title,
// clicks and hover by bar index, and a highlighted bar.

#include <QStringList>
#include <QWidget>

#include <vector>

class QBarSeries;
class QCategoryAxis;
class QBarSet;
class QChart;
class QChartView;

namespace querylens::ui {

class BarChart : public QWidget {
    Q_OBJECT
public:
    explicit BarChart(const QString& valueName, QWidget* parent = nullptr);

    // The value axis runs from `minValue` (0, or below for signed values) to `maxValue`.
    void setBars(const QStringList& labels, const std::vector<double>& values, const QString& title, double maxValue,
                 double minValue = 0);
    void setHighlighted(int index);
    int barCount() const { return int(values_.size()); }
    const std::vector<double>& values() const { return values_; }
    QStringList labels() const { return labels_; }
    QChart* chart() const;
    // The labels written under the bars (many short ones: every labelStep()-th, as many as the
    // width holds apart).
    QStringList writtenLabels() const;
    int labelStep() const;

signals:
    void barClicked(int index);
    void barHovered(int index, bool entered);

private:
    void relabel();

    QString valueName_;
    QChartView* view_;
    QStringList labels_;
    std::vector<double> values_;
    QCategoryAxis* sparseAxis_ = nullptr;  // owned by the chart; null when every label is written
    int labelStep_ = 0;
};

}  // namespace querylens::ui
