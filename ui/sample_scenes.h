#pragma once
// The sample scenes that ship with the demo model, offered in the empty window ("Try a sample
// scene") and under File → Sample Scenes, so that a new user's first click shows a caption and
// the explorer's maps on a picture the demo model knows how to read.

#include <QStringList>
#include <QWidget>

class QMenu;

namespace querylens::ui {

// The bundled sample pictures (resources/demo-scenes/*.png), sorted; empty when not installed.
QStringList sampleScenePaths();

class SampleScenes : public QWidget {
    Q_OBJECT
public:
    explicit SampleScenes(QWidget* parent = nullptr);
    bool isEmpty() const { return paths_.isEmpty(); }
    // Adds one action per scene to `menu`.
    void fillMenu(QMenu* menu);

signals:
    void chosen(const QString& path);

private:
    QStringList paths_;
};

}  // namespace querylens::ui
