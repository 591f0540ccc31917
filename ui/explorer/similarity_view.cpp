#include "explorer/similarity_view.h"

#include "explorer/heatmap.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

namespace querylens::ui {

SimilarityView::SimilarityView(QWidget* parent) : QWidget(parent) { setMinimumSize(200, 200); }

void SimilarityView::setSimilarity(const std::vector<float>& similarity, int queries)
{
    similarity_ = similarity;
    queries_ = queries;
    update();
}

void SimilarityView::setSelected(int query)
{
    selected_ = query;
    update();
}

QRectF SimilarityView::gridRect() const
{
    const double side = std::max(0, std::min(width(), height()) - 30);
    return {24, 4, side, side};
}

QPoint SimilarityView::cellAt(const QPointF& point) const
{
    const QRectF grid = gridRect();
    if (!grid.contains(point) || queries_ == 0)
        return {-1, -1};
    const double cell = grid.width() / queries_;
    return {int((point.y() - grid.top()) / cell), int((point.x() - grid.left()) / cell)};
}

void SimilarityView::paintEvent(QPaintEvent*)
{
    QPainter painter(this);
    if (queries_ == 0)
        return;
    const QRectF grid = gridRect();
    const double cell = grid.width() / queries_;
    for (int i = 0; i < queries_; ++i)
        for (int j = 0; j < queries_; ++j)
            painter.fillRect(QRectF(grid.left() + j * cell, grid.top() + i * cell, cell + 0.5, cell + 0.5),
                             infernoColor(similarity_[std::size_t(i * queries_ + j)]));
    painter.setPen(palette().color(QPalette::WindowText));
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.75);
    painter.setFont(small);
    for (int i = 0; i < queries_; i += 4) {
        painter.drawText(QRectF(0, grid.top() + i * cell, 22, cell), Qt::AlignRight | Qt::AlignVCenter, QString::number(i));
        painter.drawText(QRectF(grid.left() + i * cell - 6, grid.bottom() + 2, cell + 12, 14), Qt::AlignCenter,
                         QString::number(i));
    }
    if (selected_ >= 0 && selected_ < queries_) {
        painter.setPen(QPen(palette().color(QPalette::Highlight), 2));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(QRectF(grid.left(), grid.top() + selected_ * cell, grid.width(), cell));
    }
}

void SimilarityView::mousePressEvent(QMouseEvent* event)
{
    const QPoint cell = cellAt(event->position());
    if (cell.x() >= 0)
        emit querySelected(cell.x());
}

bool SimilarityView::event(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const QPoint cell = cellAt(help->pos());
        if (cell.x() >= 0)
            QToolTip::showText(help->globalPos(), tr("queries %1 and %2: similarity %3")
                                                      .arg(cell.x())
                                                      .arg(cell.y())
                                                      .arg(double(similarity_[std::size_t(cell.x() * queries_ + cell.y())]), 0, 'f', 3));
        else
            QToolTip::hideText();
        return true;
    }
    return QWidget::event(event);
}

}  // namespace querylens::ui
