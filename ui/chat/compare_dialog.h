#pragma once
// Two answers' evidence side by side: pick two answers of a conversation (two versions of a
// turn, say), a word in each, and see each word's map over the image and its weight on each of
// the 32 queries, with their difference (A − B) between them, so that people can see where the
// model looked differently. The maps and bars are the explorer's (MapView, BarChart); the word
// maps are core's weightedPatchMap of the explorer's word weights.

#include "image_library.h"
#include "querylens/attention_views.h"

#include <QDialog>

class QComboBox;
class QLabel;

namespace querylens::ui {

class BarChart;
class MapView;
struct GeneratedWord;

class CompareDialog : public QDialog {
    Q_OBJECT
public:
    explicit CompareDialog(QWidget* parent = nullptr);
    ~CompareDialog() override;

    void setSources(const QImage& image, ImageEncodingPtr encoding, const Conversation& conversation);
    // The two answers (turn ids; 0 picks the first answered turn).
    void setAnswers(int turnA, int turnB);
    void selectWord(int side, int index);  // side 0: A, 1: B

    int answer(int side) const;
    int selectedWord(int side) const;
    QStringList words(int side) const;
    // Per input query of side A / B (all queries, 0 for ablated ones), and A − B.
    const std::vector<float>& queryWeights(int side) const;
    const std::vector<float>& wordMap(int side) const;   // [grid * grid]
    std::vector<float> differenceMap() const;            // A − B, [grid * grid]
    QString summaryText() const;
    MapView* mapView(int column) const;                  // 0: A, 1: A − B, 2: B
    BarChart* barChart(int column) const;
    QComboBox* answerChooser(int side) const;

private:
    struct Side;
    void fillChoosers();
    void recompute();
    void showSide(int side);
    void showDifference();

    QImage image_;
    ImageEncodingPtr encoding_;
    Conversation conversation_;
    QueryMaps maps_;
    std::unique_ptr<Side> sides_[2];
    QComboBox* mapChoice_;
    MapView* differenceView_;
    BarChart* differenceBars_;
    QLabel* summary_;
};

}  // namespace querylens::ui
