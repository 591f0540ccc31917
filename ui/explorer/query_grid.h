#pragma once
// The 32 queries at a glance: one thumbnail of the image per query with its heatmap, its
// number and its focus (normalised entropy) underneath. Click selects a query; Ctrl+click or a
// right click switches it off for ablation (drawn crossed out).

#include <QImage>
#include <QWidget>

#include <set>
#include <vector>

namespace querylens::ui {

class QueryGrid : public QWidget {
    Q_OBJECT
public:
    explicit QueryGrid(QWidget* parent = nullptr);

    // maps[q] is the patch grid of query q ([grid * grid]); entropies are normalised to [0, 1].
    void setMaps(const QImage& image, const std::vector<std::vector<float>>& maps, int grid,
                 const std::vector<double>& entropies, bool sharedScale, double opacity);
    void setSelected(int query);
    void setDisabled(const std::set<int>& queries);
    int selected() const { return selected_; }
    const std::set<int>& disabled() const { return disabled_; }
    int queryCount() const { return int(maps_.size()); }
    // The tile of a query, in widget coordinates (for tests and tool tips).
    QRect tileRect(int query) const;
    // The overlay drawn for a query (for tests: it changes when the selection does).
    const QImage& overlay(int query) const { return overlays_.at(std::size_t(query)); }

    QSize sizeHint() const override { return {560, 320}; }

signals:
    void querySelected(int query);
    void queryToggled(int query);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    int columns() const { return 8; }
    QSize tileSize() const;
    void rebuildOverlays();
    int queryAt(const QPoint& point) const;

    QImage image_;
    QImage thumbnail_;
    std::vector<std::vector<float>> maps_;
    std::vector<double> entropies_;
    std::vector<QImage> overlays_;
    int grid_ = 0;
    bool sharedScale_ = true;
    double opacity_ = 0.7;
    int selected_ = -1;
    std::set<int> disabled_;
};

}  // namespace querylens::ui
