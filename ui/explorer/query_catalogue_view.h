#pragma once
// The query catalogue beside the grid: for each query of the loaded model, what it learned over
// evaluation scenes (core's querylens/query_catalogue.h, read by the worker with the model):
// its mean map as a small heatmap, how focused it is, and the words whose maps weight it most.
// Clicking a row selects that query in the explorer.

#include "querylens/query_catalogue.h"

#include <QWidget>

class QLabel;
class QTableWidget;

namespace querylens::ui {

class QueryCatalogueView : public QWidget {
    Q_OBJECT
public:
    explicit QueryCatalogueView(QWidget* parent = nullptr);

    void setCatalogue(const QueryCatalogue& catalogue);
    void highlightQuery(int query);
    QTableWidget* table() const { return table_; }
    const QueryCatalogue& catalogue() const { return catalogue_; }

signals:
    void querySelected(int query);

private:
    QueryCatalogue catalogue_;
    QLabel* summary_;
    QTableWidget* table_;
};

}  // namespace querylens::ui
