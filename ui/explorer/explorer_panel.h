#pragma once
// The attention explorer: for the current image, where each of the Q-Former's queries looked
// (grid of 32 heatmaps under a layer / head / aggregation choice), one query or one word large,
// the queries' focus and similarity, the generated tokens' probabilities, where a generated
// word came from, and query ablation. Computation is core's (querylens/attention_views.h).

#include "image_library.h"
#include "querylens/attention_views.h"
#include "querylens/query_catalogue.h"

#include <QWidget>

#include <set>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;
class QSlider;
class QTabWidget;

namespace querylens::ui {

class BarChart;
class MapView;
class QueryCatalogueView;
class QueryGrid;
class SimilarityView;

// A generated text the explorer can take words from: the caption or a chat answer.
struct ExplainedText {
    QString label;
    GenerationResult result;
};

// A generated word: its tokens' positions in the sequence and its text.
struct GeneratedWord {
    QString text;
    std::vector<int> tokens;
};
std::vector<GeneratedWord> wordsOf(const GeneratedSequence& sequence);
// The queries that were in the language model's input (all `queryCount` when none was ablated).
std::vector<int> inputQueries(const GenerationResult& result, int queryCount);
// A word's weight on each input query: the language model's attention from the positions that
// predicted its tokens to the query positions, averaged over the word's tokens (one value per
// input query; tokens without attention are left out).
std::vector<float> wordQueryWeights(const GeneratedSequence& sequence, const GeneratedWord& word, std::size_t inputQueries);
// Word-level difference: `changed` marks, for each word of `after`, whether it is new.
std::vector<bool> changedWords(const QStringList& before, const QStringList& after);

class ExplorerPanel : public QWidget {
    Q_OBJECT
public:
    explicit ExplorerPanel(QWidget* parent = nullptr);

    // Shows an image's maps; `texts` are its generated texts, newest caption first.
    void setImage(int imageId, const QImage& image, ImageEncodingPtr encoding, const QList<ExplainedText>& texts);
    void clearImage();
    void showAblation(const GenerationResult& result);
    void ablationFailed(const QString& message);

    // Driving it (the GUI tests do; so do the controls).
    void setSelection(const MapSelection& selection);
    MapSelection selection() const;
    void selectQuery(int query);
    void selectWord(int index);
    void toggleQuery(int query);
    void setTextSource(int index);
    // What each query learned (the demo model ships one); shown in the "Query catalogue" tab.
    void setCatalogue(const QueryCatalogue& catalogue);
    QueryCatalogueView* catalogueView() const { return catalogue_; }

    int selectedQuery() const { return selectedQuery_; }
    const QueryMaps& maps() const { return maps_; }
    const std::vector<GeneratedWord>& words() const { return words_; }
    std::vector<float> wordWeights() const { return wordWeights_; }
    QueryGrid* grid() const { return grid_; }
    MapView* mapView() const { return mapView_; }
    BarChart* focusChart() const { return focusChart_; }
    BarChart* wordChart() const { return wordChart_; }
    BarChart* tokenChart() const { return tokenChart_; }
    QTabWidget* chartTabs() const { return chartTabs_; }
    QString ablationText() const;

    // Exports (Error-free: they return an error message, empty on success).
    QString exportPng(const QString& path);
    QString exportSafetensors(const QString& path) const;
    QString exportCsv(const QString& path) const;

signals:
    void ablationRequested(int imageId, const std::vector<int>& disabledQueries);
    // A word of a generated text was clicked (its tokens index result.sequences.front()).
    void wordSelected(int imageId, const querylens::GenerationResult& result, const std::vector<int>& tokens,
                      const QString& word);

private:
    void buildControls();
    void recompute();
    void showQuery();
    void showWords();
    void showTokens();
    void updateFocusChart();
    void updateAblationControls();
    void chooseExport(const QString& kind);
    std::vector<int> focusOrder() const;

    int imageId_ = 0;
    QImage image_;
    ImageEncodingPtr encoding_;
    QList<ExplainedText> texts_;
    int textIndex_ = 0;
    QueryMaps maps_;
    std::vector<QueryStatistics> statistics_;
    int selectedQuery_ = 0;
    int selectedWord_ = -1;
    std::vector<GeneratedWord> words_;
    std::vector<float> wordWeights_;
    std::set<int> disabled_;
    GenerationResult ablation_;
    bool haveAblation_ = false;

    QComboBox* layer_;
    QComboBox* head_;
    QComboBox* scale_;
    QSlider* opacity_;
    QueryGrid* grid_;
    MapView* mapView_;
    QLabel* queryStats_;
    QTabWidget* chartTabs_;
    BarChart* focusChart_;
    QCheckBox* sortFocus_;
    SimilarityView* similarity_;
    QComboBox* textSource_;
    QLabel* wordsLabel_;
    BarChart* wordChart_;
    BarChart* tokenChart_;
    QLabel* tokenDetail_;
    QLabel* disabledLabel_;
    QPushButton* ablate_;
    QPushButton* clearAblation_;
    QLabel* ablationResult_;
    QueryCatalogueView* catalogue_;
};

}  // namespace querylens::ui
