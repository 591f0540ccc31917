#pragma once
// Gradient maps of a generated word, in the attention explorer: for the word selected there,
// the map by attention, GradCAM, relevancy or input x gradient (core/word_maps.h), how much
// each query counts under that method, and the deletion / insertion curves of the map shown.
// The pass runs on the model worker when the page is on screen: the view asks by signal.

#include "querylens/faithfulness.h"
#include "querylens/generation.h"
#include "querylens/word_maps.h"

#include <QImage>
#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;

namespace querylens::ui {

class BarChart;
class FaithfulnessChart;
class MapView;

class WordGradientsView : public QWidget {
    Q_OBJECT
public:
    explicit WordGradientsView(QWidget* parent = nullptr);

    // The word the explorer selected; asks for its maps when the view is visible (else when shown).
    void setWord(int imageId, const QImage& image, const GenerationResult& result, const std::vector<int>& tokens,
                 const QString& word);
    void clear(const QString& message);
    void setCanExplain(bool can, const QString& reason);
    void showExplanation(int imageId, const WordExplanation& explanation);
    void showFaithfulness(int imageId, const FaithfulnessReport& report);
    void fail(const QString& message, bool cancelled);
    void setBusy(bool busy);

    void setMethod(MapMethod method);
    MapMethod method() const;
    void checkFaithfulness();

    int imageId() const { return imageId_; }
    bool hasExplanation() const { return haveExplanation_; }
    const WordExplanation& explanation() const { return explanation_; }
    MapView* mapView() const { return map_; }
    BarChart* queryChart() const { return queries_; }
    FaithfulnessChart* chart() const { return chart_; }
    QPushButton* faithfulnessButton() const { return faithfulness_; }
    QString statusText() const;

signals:
    void explainRequested(int imageId, const GenerationResult& result, const std::vector<int>& tokens);
    void faithfulnessRequested(int imageId, const GenerationResult& result, const std::vector<int>& tokens,
                               const std::vector<float>& map);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void requestIfNeeded();
    void render();

    int imageId_ = 0;
    QImage image_;
    GenerationResult result_;
    std::vector<int> tokens_;
    QString word_;
    bool requested_ = false;
    WordExplanation explanation_;
    bool haveExplanation_ = false;
    bool canExplain_ = false;
    bool busy_ = false;

    QComboBox* method_;
    QLabel* status_;
    MapView* map_;
    BarChart* queries_;
    QPushButton* faithfulness_;
    FaithfulnessChart* chart_;
};

}  // namespace querylens::ui
