#pragma once
// The caption of the current image as it streams in, with Regenerate, Stop and Copy.

#include "querylens/generation.h"

#include <QWidget>

class QLabel;
class QTimer;
class QPushButton;

namespace querylens::ui {

class CaptionPanel : public QWidget {
    Q_OBJECT
public:
    explicit CaptionPanel(QWidget* parent = nullptr);

    void clear(const QString& hint = {});
    void begin();                                // a new caption starts streaming
    void append(const QString& textDelta);
    void finish(const GenerationResult& result); // the final text (and alternatives)
    void fail(const QString& message, bool cancelled);
    void showFinished(const QString& caption, const GenerationResult& result);  // when switching images
    void setBusy(bool busy);
    void setCanGenerate(bool can);

    QString text() const;

signals:
    void regenerateRequested();
    void stopRequested();

private:
    QLabel* caption_;
    QLabel* details_;
    QLabel* alternatives_;
    QPushButton* regenerate_;
    QPushButton* stop_;
    QPushButton* copy_;
    QString streamed_;
    QTimer* flush_;  // streamed text is shown at most every 30 ms, not once per token
};

QString describeRun(const GenerationResult& result);

}  // namespace querylens::ui
