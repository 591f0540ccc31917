#pragma once
// Text localisation beside the caption and the chat: type a phrase, see where the image-text
// matching model finds it (the phrase's map, or one word's), its match scores, and the
// deletion / insertion curves of the map shown. The work runs on the model worker: the panel
// asks by signal and is given the results.

#include "querylens/faithfulness.h"
#include "querylens/matching.h"

#include <QImage>
#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;

namespace querylens::ui {

class FaithfulnessChart;
class MapView;

class LocalizePanel : public QWidget {
    Q_OBJECT
public:
    explicit LocalizePanel(QWidget* parent = nullptr);

    // Whether the loaded model can localise text; `reason` says why not.
    void setCanLocalize(bool can, const QString& reason);
    void setImage(int imageId, const QImage& image);
    void clearImage();
    void showResult(int imageId, const PhraseLocalization& result);
    void showFaithfulness(int imageId, const FaithfulnessReport& report);
    void fail(const QString& message, bool cancelled);
    void setBusy(bool busy);

    // Driving it (the GUI tests do; so do the controls).
    void localize(const QString& text);
    void selectWord(int index);  // -1: the whole phrase
    void checkFaithfulness();

    QLineEdit* phraseEdit() const { return phrase_; }
    QPushButton* localizeButton() const { return localize_; }
    QPushButton* faithfulnessButton() const { return faithfulness_; }
    MapView* mapView() const { return map_; }
    FaithfulnessChart* chart() const { return chart_; }
    QString scoresText() const;
    int wordCount() const { return int(result_.words.size()); }
    bool hasResult() const { return haveResult_; }

signals:
    void localizeRequested(int imageId, const QString& text);
    void faithfulnessRequested(int imageId, const QString& text, const std::vector<float>& map);

private:
    void showMap();
    const std::vector<float>& currentMap() const;

    int imageId_ = 0;
    QImage image_;
    PhraseLocalization result_;
    bool haveResult_ = false;
    int word_ = -1;
    bool canLocalize_ = false;
    bool busy_ = false;

    QLineEdit* phrase_;
    QPushButton* localize_;
    QLabel* scores_;
    QLabel* words_;
    MapView* map_;
    QPushButton* faithfulness_;
    FaithfulnessChart* chart_;
};

}  // namespace querylens::ui
