#pragma once
// The 32 x 32 cosine similarity of the queries' maps as a heat grid: which queries look at the
// same places. Clicking a cell selects its row's query.

#include <QWidget>

#include <vector>

namespace querylens::ui {

class SimilarityView : public QWidget {
    Q_OBJECT
public:
    explicit SimilarityView(QWidget* parent = nullptr);

    void setSimilarity(const std::vector<float>& similarity, int queries);
    void setSelected(int query);
    QSize sizeHint() const override { return {300, 300}; }

signals:
    void querySelected(int query);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;

private:
    QRectF gridRect() const;
    QPoint cellAt(const QPointF& point) const;  // (row, column) or (-1, -1)

    std::vector<float> similarity_;
    int queries_ = 0;
    int selected_ = -1;
};

}  // namespace querylens::ui
