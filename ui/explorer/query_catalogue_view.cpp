#include "explorer/query_catalogue_view.h"

#include "explorer/heatmap.h"

#include <QHeaderView>
#include <QLabel>
#include <QPainter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace querylens::ui {

namespace {

constexpr int kIconSize = 40;

// The query's mean map on a dark square, one colour scale per query (its own range).
QIcon meanMapIcon(const std::vector<float>& map, int grid)
{
    QImage image(kIconSize, kIconSize, QImage::Format_ARGB32_Premultiplied);
    image.fill(QColor(20, 20, 30));
    if (!map.empty() && grid > 0) {
        const auto [low, high] = std::minmax_element(map.begin(), map.end());
        QPainter painter(&image);
        painter.drawImage(0, 0, heatmapOverlay(map, grid, *low, *high, image.size(), 1.0));
    }
    return QIcon(QPixmap::fromImage(image));
}

}  // namespace

QueryCatalogueView::QueryCatalogueView(QWidget* parent)
    : QWidget(parent), summary_(new QLabel(this)), table_(new QTableWidget(this))
{
    summary_->setWordWrap(true);
    table_->setColumnCount(3);
    table_->setHorizontalHeaderLabels({tr("Query"), tr("Focus"), tr("Words that lean on it")});
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->verticalHeader()->hide();
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::SingleSelection);
    table_->setIconSize(QSize(kIconSize, kIconSize));
    table_->setSortingEnabled(true);
    table_->setToolTip(tr("Focus: the normalised entropy of the query's map, averaged over the scenes "
                          "(0 = one patch, 1 = uniform). Words: the share of a word's query weights that falls on "
                          "this query, as a multiple of an even share."));
    connect(table_, &QTableWidget::cellClicked, this, [this](int row, int) {
        if (QTableWidgetItem* item = table_->item(row, 0))
            emit querySelected(item->data(Qt::UserRole).toInt());
    });
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(summary_);
    layout->addWidget(table_, 1);
    setCatalogue({});
}

void QueryCatalogueView::setCatalogue(const QueryCatalogue& catalogue)
{
    catalogue_ = catalogue;
    table_->setSortingEnabled(false);
    table_->setRowCount(0);
    if (catalogue.empty()) {
        summary_->setText(tr("This model has no query catalogue. `querylens eval-demo --model DIR --catalogue` "
                             "measures one on generated scenes (for the demo model, which knows their words)."));
        table_->hide();
        return;
    }
    summary_->setText(tr("What each query learned, over %1. Click a query to see it in the grid.")
                          .arg(QString::fromStdString(catalogue.source)));
    table_->show();
    table_->setRowCount(int(catalogue.queries.size()));
    for (int row = 0; row < int(catalogue.queries.size()); ++row) {
        const QueryCatalogueEntry& q = catalogue.queries[std::size_t(row)];
        auto* query = new QTableWidgetItem(meanMapIcon(q.meanMap, catalogue.gridSize), QString::number(q.query));
        query->setData(Qt::UserRole, q.query);
        query->setData(Qt::DisplayRole, q.query);
        auto* focus = new QTableWidgetItem;
        focus->setData(Qt::DisplayRole, std::round(q.meanNormalizedEntropy * 100) / 100);
        focus->setToolTip(tr("mean normalised entropy %1, CLS share %2")
                              .arg(q.meanNormalizedEntropy, 0, 'f', 3)
                              .arg(q.meanClsShare, 0, 'f', 3));
        QStringList words;
        for (const CatalogueWord& w : q.topWords)
            words << QStringLiteral("%1 ×%2").arg(QString::fromStdString(w.word)).arg(w.lift, 0, 'f', 1);
        auto* wordItem = new QTableWidgetItem(words.join(QStringLiteral(", ")));
        table_->setItem(row, 0, query);
        table_->setItem(row, 1, focus);
        table_->setItem(row, 2, wordItem);
        table_->setRowHeight(row, kIconSize + 4);
    }
    table_->setSortingEnabled(true);
    table_->resizeColumnToContents(0);
    table_->resizeColumnToContents(1);
}

void QueryCatalogueView::highlightQuery(int query)
{
    for (int row = 0; row < table_->rowCount(); ++row)
        if (QTableWidgetItem* item = table_->item(row, 0); item && item->data(Qt::UserRole).toInt() == query) {
            table_->selectRow(row);
            table_->scrollToItem(item);
            return;
        }
}

}  // namespace querylens::ui
