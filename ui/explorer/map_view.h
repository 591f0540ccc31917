#pragma once
// One map large over the image: a query's attention, or the map of a word. Hovering shows the
// patch under the cursor and its value.

#include <QImage>
#include <QWidget>

#include <vector>

namespace querylens::ui {

class MapView : public QWidget {
    Q_OBJECT
public:
    explicit MapView(QWidget* parent = nullptr);

    void setMap(const QImage& image, const std::vector<float>& patches, int grid, const QString& title, double opacity);
    // A signed map (e.g. the difference of two word maps), blue below zero and red above, on a
    // scale symmetric about zero.
    void setSignedMap(const QImage& image, const std::vector<float>& patches, int grid, const QString& title,
                      double opacity);
    void clearMap(const QString& message);
    const std::vector<float>& patches() const { return patches_; }
    QString title() const { return title_; }
    // What hovering `point` shows, e.g. "row 3, column 12: 0.0153" (empty outside the image).
    QString readoutAt(const QPointF& point) const;
    QRectF imageRect() const;

    QSize sizeHint() const override { return {420, 340}; }

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void display(const QImage& image, const std::vector<float>& patches, int grid, const QString& title, double opacity,
              bool isSigned);
    void rebuild();

    QImage image_;
    QImage scaled_;
    QImage overlay_;
    std::vector<float> patches_;
    int grid_ = 0;
    double opacity_ = 0.7;
    bool signed_ = false;
    QString title_;
    QString readout_;
    QString message_;
};

}  // namespace querylens::ui
