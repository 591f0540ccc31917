#pragma once
// Deletion and insertion curves of a map beside it (QtCharts): the score as patches are
// removed or revealed in the map's order (solid) and in random orders (dashed), with the
// areas under the curves, so that a person sees whether the map beats chance on this image.

#include "querylens/faithfulness.h"

#include <QWidget>

class QChartView;
class QLabel;

namespace querylens::ui {

class FaithfulnessChart : public QWidget {
    Q_OBJECT
public:
    explicit FaithfulnessChart(QWidget* parent = nullptr);

    void showReport(const FaithfulnessReport& report, const QString& mapName);
    void clear(const QString& message);
    bool hasReport() const { return hasReport_; }
    // The verdict line under the chart ("deletion: map 0.41, random 0.63 — the map is better").
    QString summary() const;
    int seriesCount() const;

private:
    QChartView* view_;
    QLabel* summary_;
    bool hasReport_ = false;
};

}  // namespace querylens::ui
