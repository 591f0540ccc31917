#pragma once
// The status bar's permanent fields: model, device, precision, threads and the CPU kernels' level
// (the kernel of each regime in its tooltip), the latest
// figures (image encode, first token, tokens/s), and the process's resident memory.

#include "querylens/generation.h"
#include "querylens/model.h"

#include <QObject>

class QLabel;
class QProgressBar;
class QStatusBar;
class QTimer;

namespace querylens::ui {

class StatusPanel : public QObject {
    Q_OBJECT
public:
    explicit StatusPanel(QStatusBar* bar);

    void setModel(const ModelInfo& info);
    void setNoModel();
    void setEncodeTime(double ms);
    void setGeneration(const GenerationResult& result);
    void showProgress(const QString& stage, double fraction);
    void hideProgress();

    QString modelText() const;
    QString figuresText() const;
    QString hardwareText() const;    // "CPU · bf16 · 2 threads · avx512bf16"
    QString kernelsToolTip() const;  // the CPU and the kernel of each regime

private:
    void updateMemory();

    QLabel* model_;
    QLabel* hardware_;
    QLabel* figures_;
    QLabel* memory_;
    QProgressBar* progress_;
    QTimer* memoryTimer_;
    double encodeMs_ = -1;
    double firstTokenMs_ = -1;
    double tokensPerSecond_ = -1;
};

// Resident memory of this process, from /proc/self/statm.
std::size_t residentMemoryBytes();
QString formatBytes(std::size_t bytes);

}  // namespace querylens::ui
