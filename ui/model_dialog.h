#pragma once
// Choosing a checkpoint: those in the Hugging Face cache by name and size, or any folder; the
// precision and threads; and the memory it will take against what is free. A model that will
// not fit is refused with the reason. With no checkpoint anywhere, it offers the demo model.

#include "querylens/checkpoints.h"
#include "querylens/model.h"

#include <QDialog>

class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace querylens::ui {

class ModelDialog : public QDialog {
    Q_OBJECT
public:
    explicit ModelDialog(QWidget* parent = nullptr, const QString& currentFolder = {});

    LoadOptions options() const;
    bool wantsDemo() const { return wantsDemo_; }
    // For tests: the same checks on a given list.
    void setCheckpoints(const std::vector<CheckpointSummary>& checkpoints);
    QString fitText() const;
    bool canLoad() const;

private:
    void addFolder();
    void updateEstimate();
    void addRow(const CheckpointSummary& summary);

    QTableWidget* table_;
    QComboBox* precision_;
    QSpinBox* threads_;
    QLabel* fit_;
    QLabel* emptyNote_;
    QPushButton* demo_;
    QPushButton* load_;
    std::vector<CheckpointSummary> checkpoints_;
    bool wantsDemo_ = false;
};

}  // namespace querylens::ui
